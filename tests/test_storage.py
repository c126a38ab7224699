"""storage/: migrations, PRAGMAs, duplicates, removal, atomic inserts and FTS5 escaping."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from news.embed import Encoders
from news.ingest import from_text
from news.knowledge import Knowledge
from storage import articles as article_store
from storage import search
from storage.db import MIGRATIONS, Database
from storage.models import NewArticle, NewFact

from .conftest import (
    BRIDGE,
    LIBRARY_AR,
    ORCHARD,
    build_store,
    copy_db,
    count_articles_read_alone,
    table_counts,
)


@pytest.fixture(scope="module")
def two_articles(
    tmp_path_factory: pytest.TempPathFactory, encoders: Encoders
) -> tuple[Path, list[int]]:
    """A store with two short articles, built once (copy it before writing)."""
    path = tmp_path_factory.mktemp("storage") / "two.db"
    ids = asyncio.run(build_store(path, [BRIDGE, ORCHARD], encoders))
    return path, ids


@pytest.fixture
def store(two_articles: tuple[Path, list[int]], tmp_path: Path) -> tuple[Path, list[int]]:
    path, ids = two_articles
    return copy_db(path, tmp_path / "store.db"), ids


def _article_rows(path: Path, article_id: int) -> dict[str, int]:
    connection = sqlite3.connect(path)
    try:
        fact_ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM facts WHERE article_id = ?", (article_id,)
            )
        ]
        marks = ",".join("?" * len(fact_ids)) or "NULL"
        return {
            "articles": connection.execute(
                "SELECT COUNT(*) FROM articles WHERE id = ?", (article_id,)
            ).fetchone()[0],
            "sentences": connection.execute(
                "SELECT COUNT(*) FROM sentences WHERE article_id = ?", (article_id,)
            ).fetchone()[0],
            "facts": len(fact_ids),
            "facts_fts": connection.execute(
                f"SELECT COUNT(*) FROM facts_fts WHERE rowid IN ({marks})", fact_ids
            ).fetchone()[0],
            "fact_vectors": connection.execute(
                f"SELECT COUNT(*) FROM fact_vectors WHERE fact_id IN ({marks})", fact_ids
            ).fetchone()[0],
        }
    finally:
        connection.close()


def _fact_ids(path: Path, article_id: int) -> list[int]:
    connection = sqlite3.connect(path)
    try:
        return [
            row[0]
            for row in connection.execute(
                "SELECT id FROM facts WHERE article_id = ?", (article_id,)
            )
        ]
    finally:
        connection.close()


# --- schema and connection ----------------------------------------------------------------------


async def test_migrations_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with Database(path) as db:
        assert await db.schema_version() == len(MIGRATIONS)
    async with Database(path) as db:  # reopening applies nothing twice
        assert await db.schema_version() == len(MIGRATIONS)
        cursor = await db.connection.execute("SELECT COUNT(*) FROM schema_migrations")
        row = await cursor.fetchone()
        assert row is not None and row[0] == len(MIGRATIONS)
        cursor = await db.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in await cursor.fetchall()}
    assert {"articles", "sentences", "facts", "facts_fts", "fact_vectors", "terms"} <= tables
    async with Database(path) as db:  # a store without facts has nothing to encode again
        assert await article_store.articles_read_alone(db) == []


def _fact_vectors(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT fact_id, use_vector, e5_vector FROM fact_vectors")
        return {
            fact_id: (np.frombuffer(use, np.float16), np.frombuffer(e5, np.float16))
            for fact_id, use, e5 in rows
        }
    finally:
        connection.close()


def _make_older_store(path: Path, encoders: Encoders) -> list[int]:
    """Turn ``path`` into the store an older version wrote; returns its fact ids.

    Each fact's vectors are of its text alone, and migrations 4 and 5 are not applied yet.
    """
    connection = sqlite3.connect(path)
    facts = connection.execute("SELECT id, text FROM facts ORDER BY id").fetchall()
    alone = encoders.passages([text for _id, text in facts])
    connection.executemany(
        "UPDATE fact_vectors SET use_vector = ?, e5_vector = ? WHERE fact_id = ?",
        [
            (
                alone.use[row].astype(np.float16).tobytes(),
                alone.e5[row].astype(np.float16).tobytes(),
                fact_id,
            )
            for row, (fact_id, _text) in enumerate(facts)
        ],
    )
    connection.execute("ALTER TABLE articles DROP COLUMN fact_reading")
    connection.execute("DELETE FROM schema_migrations WHERE version >= 4")
    connection.commit()
    connection.close()
    return [fact_id for fact_id, _text in facts]


async def test_store_encoded_before_titles_is_upgraded_once_while_answering(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    path, ids = store
    titled = _fact_vectors(path)
    fact_ids = _make_older_store(path, encoders)
    assert not np.allclose(_fact_vectors(path)[fact_ids[0]][1], titled[fact_ids[0]][1], atol=1e-3)
    question = "When did the bridge reopen?"

    async with Database(path) as db:
        assert [
            article_id for article_id, _title in await article_store.articles_read_alone(db)
        ] == ids
        knowledge = Knowledge(db, encoders)
        # Answered at once, with the vectors as stored, before the upgrade.
        assert (await knowledge.ask(question)).facts
        # An article added meanwhile is stored with both readings: not upgraded again.
        added = await knowledge.add(from_text(LIBRARY_AR), added_by="tests")
        assert await knowledge.upgrade_vectors() == len(ids)
        assert await article_store.articles_read_alone(db) == []
        upgraded_answer = await knowledge.ask(question)
        assert await knowledge.upgrade_vectors() == 0  # only once

    again = _fact_vectors(path)
    assert again.keys() == titled.keys() | set(_fact_ids_of(path, added.article.id))
    for fact_id, (use, e5) in titled.items():
        assert np.allclose(again[fact_id][0], use, atol=1e-3)
        assert np.allclose(again[fact_id][1], e5, atol=1e-3)
    # The loaded matrix was replaced: the same scores as a process that loads the new vectors.
    async with Database(path) as db:
        fresh_answer = await Knowledge(db, encoders).ask(question)
    assert [(f.fact.id, round(f.score, 5)) for f in upgraded_answer.facts] == [
        (f.fact.id, round(f.score, 5)) for f in fresh_answer.facts
    ]


def _fact_ids_of(path: Path, article_id: int) -> list[int]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT id FROM facts WHERE article_id = ?", (article_id,))
        return [fact_id for (fact_id,) in rows]
    finally:
        connection.close()


async def test_upgrade_stopped_part_way_keeps_each_article_whole(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    """Each article is upgraded in its own transaction.

    Stopped at any point, an article's facts all hold the old reading or all the new one, and
    its mark says which.
    """
    path, ids = store
    titled = _fact_vectors(path)
    _make_older_store(path, encoders)
    alone = _fact_vectors(path)
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        knowledge.start_upgrade()
        # Until the first article is committed, as another connection sees it (this one would
        # also see an article's transaction still open, which stopping rolls back).
        while count_articles_read_alone(path) == len(ids):
            await asyncio.sleep(0.01)
        await knowledge.close()
        left = {article_id for article_id, _title in await article_store.articles_read_alone(db)}
    assert len(left) < len(ids)
    now = _fact_vectors(path)
    for article_id in ids:
        expected = alone if article_id in left else titled
        for fact_id in _fact_ids_of(path, article_id):
            assert np.allclose(now[fact_id][1], expected[fact_id][1], atol=1e-3)
    async with Database(path) as db:  # the next start finishes the rest
        assert await Knowledge(db, encoders).upgrade_vectors() == len(left)
        assert await article_store.articles_read_alone(db) == []


async def test_an_upgraded_or_removed_article_is_not_written_again(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    path, ids = store
    _make_older_store(path, encoders)
    async with Database(path) as db:
        assert await article_store.write_titled_vectors(db, ids[0], [])
        assert not await article_store.write_titled_vectors(db, ids[0], [])  # done already
        assert await Knowledge(db, encoders).remove(ids[1])
        assert not await article_store.write_titled_vectors(db, ids[1], [])  # gone


async def test_concurrent_transactions_wait_for_each_other(tmp_path: Path) -> None:
    """Two coroutines writing through the one connection: neither fails nor undoes the other."""
    async with Database(tmp_path / "t.db") as db:
        await db.connection.execute("CREATE TABLE t (x INTEGER)")

        async def write_twice(value: int) -> None:
            async with db.transaction() as connection:
                await connection.execute("INSERT INTO t VALUES (?)", (value,))
                await asyncio.sleep(0)  # the other coroutine runs here
                await connection.execute("INSERT INTO t VALUES (?)", (value,))

        await asyncio.gather(write_twice(1), write_twice(2))
        cursor = await db.connection.execute("SELECT x FROM t ORDER BY x")
        assert [row[0] for row in await cursor.fetchall()] == [1, 1, 2, 2]


async def test_pragmas(tmp_path: Path) -> None:
    async with Database(tmp_path / "p.db") as db:
        values = {}
        for pragma in ("journal_mode", "foreign_keys", "synchronous"):
            cursor = await db.connection.execute(f"PRAGMA {pragma}")
            row = await cursor.fetchone()
            assert row is not None
            values[pragma] = row[0]
    assert str(values["journal_mode"]).lower() == "wal"
    assert values["foreign_keys"] == 1
    assert values["synchronous"] == 1  # NORMAL


async def test_closed_database_refuses_use(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.db")
    with pytest.raises(RuntimeError):
        _ = db.connection


# --- adding -------------------------------------------------------------------------------------


def test_store_holds_both_articles(store: tuple[Path, list[int]]) -> None:
    path, ids = store
    assert len(set(ids)) == 2
    for article_id in ids:
        rows = _article_rows(path, article_id)
        assert rows["articles"] == 1
        assert rows["sentences"] >= 3
        assert rows["facts"] >= rows["sentences"]
        assert rows["facts_fts"] == rows["facts"] == rows["fact_vectors"]
    assert table_counts(path)["terms"] > 0


async def test_adding_the_same_article_twice_is_not_duplicated(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    path, ids = store
    before = table_counts(path)
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        again = await knowledge.add(from_text(BRIDGE))
        # The same body with other spacing and line breaks is the same article.
        respaced = await knowledge.add(from_text(BRIDGE.replace(". ", ".  \n")))
    assert again.created is False
    assert again.article.id == ids[0]
    assert respaced.created is False
    assert respaced.article.id == ids[0]
    assert table_counts(path) == before


async def test_added_article_metadata(store: tuple[Path, list[int]]) -> None:
    path, ids = store
    async with Database(path) as db:
        article = await article_store.get_article(db, ids[0])
        listed = await article_store.list_articles(db)
        assert await article_store.count_articles(db) == 2
        facts = await article_store.article_facts(db, ids[0], sentences_only=False)
    assert article is not None
    assert article.title == "Harbor Bridge reopens after repairs"
    assert article.source == "City Times"
    assert article.published == "2024-03-05"
    assert article.language == "en"
    assert article.added_by == "tests"
    assert article.added_at.endswith("+00:00")  # stored as UTC ISO-8601
    assert article.fact_count == len(facts)
    assert {a.id for a in listed} == set(ids)
    figures = [fact for fact in facts if "42 million" in fact.numbers]
    assert figures and figures[0].speaker is not None


async def test_arabic_article_is_stored_in_arabic(tmp_path: Path, encoders: Encoders) -> None:
    path = tmp_path / "ar.db"
    (article_id,) = await build_store(path, [LIBRARY_AR], encoders)
    async with Database(path) as db:
        article = await article_store.get_article(db, article_id)
        facts = await article_store.article_facts(db, article_id)
    assert article is not None and article.language == "ar"
    assert len(facts) == 3
    assert all(fact.language == "ar" for fact in facts)


# --- removal ------------------------------------------------------------------------------------


async def test_remove_deletes_everything_of_one_article(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    path, (removed_id, kept_id) = store
    kept_before = _article_rows(path, kept_id)
    fact_ids = _fact_ids(path, removed_id)
    assert fact_ids
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        assert await knowledge.remove(removed_id) is True
        assert await knowledge.remove(removed_id) is False  # already gone
        assert await article_store.get_article(db, removed_id) is None
    assert _article_rows(path, removed_id) == {
        "articles": 0,
        "sentences": 0,
        "facts": 0,
        "facts_fts": 0,
        "fact_vectors": 0,
    }
    connection = sqlite3.connect(path)
    try:
        marks = ",".join("?" * len(fact_ids))
        for table, column in (("facts_fts", "rowid"), ("fact_vectors", "fact_id")):
            left = connection.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {column} IN ({marks})", fact_ids
            ).fetchone()[0]
            assert left == 0, table
    finally:
        connection.close()
    assert _article_rows(path, kept_id) == kept_before


async def test_remove_unknown_article(store: tuple[Path, list[int]]) -> None:
    path, _ = store
    before = table_counts(path)
    async with Database(path) as db:
        assert await article_store.remove_article(db, 987654) is False
    assert table_counts(path) == before


async def test_removed_article_can_be_added_again_and_is_searchable(
    store: tuple[Path, list[int]], encoders: Encoders
) -> None:
    path, (removed_id, _) = store
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        await knowledge.remove(removed_id)
        assert await search.keyword_scores(db, ["elwood"]) == {}
        result = await knowledge.add(from_text(BRIDGE))
        assert result.created is True
        assert result.article.id != removed_id
        assert await search.keyword_scores(db, ["elwood"])


# --- atomic insert ------------------------------------------------------------------------------


def _broken_article(content_hash: str) -> NewArticle:
    fact = NewFact(
        sentence_index=0,
        position=0,
        text="A sentence that is stored first.",
        is_sentence=True,
        language="en",
        kind="statement",
        entities=(),
        numbers=(),
        dates=(),
        speaker=None,
        start=0,
        end=32,
        index_terms="sentenc store first",
        use_vector=bytes(512 * 2),
        e5_vector=bytes(384 * 2),
    )
    return NewArticle(
        title="Broken",
        source=None,
        url=None,
        language="en",
        published=None,
        added_by="tests",
        content_hash=content_hash,
        body="A sentence that is stored first.",
        key_entities=(),
        context_terms="broken",
        sentences=(("A sentence that is stored first.", 0, 32),),
        # The first fact is written (with its FTS row and vector) before the second fails.
        facts=(fact, replace(fact, position=1, sentence_index=5)),
        new_terms=(("brokenword", "brokenword", False, bytes(512 * 2)),),
    )


async def test_failure_mid_insert_leaves_nothing(store: tuple[Path, list[int]]) -> None:
    path, _ = store
    before = table_counts(path)
    async with Database(path) as db:
        with pytest.raises(IndexError):
            await article_store.insert_article(db, _broken_article("f" * 64))
        assert await article_store.find_by_hash(db, "f" * 64) is None
        # The transaction was closed: the connection still writes.
        good = replace(_broken_article("e" * 64), facts=_broken_article("e" * 64).facts[:1])
        new_id = await article_store.insert_article(db, good)
        assert new_id is not None
        assert await article_store.remove_article(db, new_id) is True
    after = table_counts(path)
    assert {k: v for k, v in after.items() if k != "terms"} == {
        k: v for k, v in before.items() if k != "terms"
    }


async def test_insert_article_with_existing_hash_returns_none(
    store: tuple[Path, list[int]],
) -> None:
    path, _ = store
    before = table_counts(path)
    existing_hash = from_text(BRIDGE).content_hash
    async with Database(path) as db:
        assert await article_store.insert_article(db, _broken_article(existing_hash)) is None
    assert table_counts(path) == before


# --- FTS5 escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "terms",
    [
        ['"'],
        ["*"],
        ["NEAR("],
        ["AND"],
        ["-"],
        ["OR"],
        ['" OR "'],
        ["NOT", "elwood"],
        ["elwood*"],
        ["^bridge"],
        ["col:bridge", "terms:x"],
        ['""', "("],
        [")", "{a b}"],
        [""],
    ],
)
async def test_keyword_scores_never_runs_user_syntax(
    store: tuple[Path, list[int]], terms: list[str]
) -> None:
    path, _ = store
    async with Database(path) as db:
        scores = await search.keyword_scores(db, terms)
    assert isinstance(scores, dict)


def test_match_expression_quotes_every_term() -> None:
    assert search.match_expression(["a", 'b"c', "a", ""]) == '"a" OR "b""c"'
    assert search.match_expression([]) == ""


async def test_keyword_scores_find_stemmed_terms(store: tuple[Path, list[int]]) -> None:
    path, (bridge_id, orchard_id) = store
    async with Database(path) as db:
        scores = await search.keyword_scores(db, ["cabl"])  # stem of "cables"
        bridge_facts = set(_fact_ids(path, bridge_id))
        assert scores and set(scores) <= bridge_facts
        assert all(value > 0 for value in scores.values())
        apples = await search.keyword_scores(db, ["appl"])
        assert apples and set(apples) <= set(_fact_ids(path, orchard_id))
