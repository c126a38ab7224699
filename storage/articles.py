"""Articles with their sentences, facts, keyword index rows and vectors."""

from __future__ import annotations

import json
from collections.abc import Iterable

import aiosqlite

from storage.db import Database, utc_now
from storage.models import Article, Fact, NewArticle

_ARTICLE_COLUMNS = (
    "a.id, a.title, a.source, a.url, a.language, a.published, a.added_by, a.added_at, "
    "a.key_entities, (SELECT COUNT(*) FROM facts f WHERE f.article_id = a.id) AS fact_count"
)


def _article(row: aiosqlite.Row) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        language=row["language"],
        published=row["published"],
        added_by=row["added_by"],
        added_at=row["added_at"],
        key_entities=tuple(json.loads(row["key_entities"])),
        fact_count=row["fact_count"],
    )


async def find_by_hash(db: Database, content_hash: str) -> Article | None:
    """The stored article with this content hash, if any."""
    cursor = await db.connection.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.content_hash = ?", (content_hash,)
    )
    row = await cursor.fetchone()
    return _article(row) if row else None


async def insert_article(db: Database, article: NewArticle) -> int | None:
    """Store an article with everything derived from it in one transaction.

    Returns the new id, or None when an article with the same content hash already exists
    (checked inside the transaction, so two concurrent adds cannot both store it).
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT id FROM articles WHERE content_hash = ?", (article.content_hash,)
        )
        if await cursor.fetchone():
            return None
        cursor = await connection.execute(
            "INSERT INTO articles (title, source, url, language, published, added_by, added_at, "
            "content_hash, body, key_entities, vocabulary, fact_reading) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.title,
                article.source,
                article.url,
                article.language,
                article.published,
                article.added_by,
                utc_now(),
                article.content_hash,
                article.body,
                json.dumps(list(article.key_entities), ensure_ascii=False),
                json.dumps(list(article.vocabulary), ensure_ascii=False),
                TITLED_READING,  # ``NewArticle`` vectors come from ``Encoders.passages``
            ),
        )
        article_id = cursor.lastrowid
        assert article_id is not None
        sentence_ids: list[int] = []
        for position, (text, start, end) in enumerate(article.sentences):
            cursor = await connection.execute(
                "INSERT INTO sentences (article_id, position, text, start, end) "
                "VALUES (?, ?, ?, ?, ?)",
                (article_id, position, text, start, end),
            )
            assert cursor.lastrowid is not None
            sentence_ids.append(cursor.lastrowid)
        for fact in article.facts:
            cursor = await connection.execute(
                "INSERT INTO facts (article_id, sentence_id, position, text, is_sentence, "
                "language, kind, entities, numbers, dates, speaker, start, end) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article_id,
                    sentence_ids[fact.sentence_index],
                    fact.position,
                    fact.text,
                    int(fact.is_sentence),
                    fact.language,
                    fact.kind,
                    _json(fact.entities),
                    _json(fact.numbers),
                    _json(fact.dates),
                    fact.speaker,
                    fact.start,
                    fact.end,
                ),
            )
            fact_id = cursor.lastrowid
            await connection.execute(
                "INSERT INTO facts_fts (rowid, terms, context) VALUES (?, ?, ?)",
                (fact_id, fact.index_terms, article.context_terms),
            )
            await connection.execute(
                "INSERT INTO fact_vectors (fact_id, use_vector, e5_vector) VALUES (?, ?, ?)",
                (fact_id, fact.use_vector, fact.e5_vector),
            )
        await connection.executemany(
            "INSERT OR IGNORE INTO terms (word, stem, is_arabic, use_vector) VALUES (?, ?, ?, ?)",
            [(word, stem, int(arabic), vector) for word, stem, arabic, vector in article.new_terms],
        )
        await _count_vocabulary(connection, list(article.vocabulary), +1)
    return article_id


async def _count_vocabulary(connection: aiosqlite.Connection, words: list[str], step: int) -> None:
    """Add ``step`` to the article count of each word (how rare a word is, for weighting)."""
    for start in range(0, len(words), 500):
        chunk = words[start : start + 500]
        marks = ",".join("?" * len(chunk))
        await connection.execute(
            f"UPDATE terms SET articles = MAX(0, articles + ?) WHERE word IN ({marks})",
            (step, *chunk),
        )


async def remove_article(db: Database, article_id: int) -> bool:
    """Remove an article, its facts, index rows and vectors in one transaction."""
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT vocabulary FROM articles WHERE id = ?", (article_id,)
        )
        row = await cursor.fetchone()
        if row is not None:
            await _count_vocabulary(connection, json.loads(row[0]), -1)
        # FTS5 rows are not covered by foreign keys, so they go first, explicitly.
        await connection.execute(
            "DELETE FROM facts_fts WHERE rowid IN (SELECT id FROM facts WHERE article_id = ?)",
            (article_id,),
        )
        cursor = await connection.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return cursor.rowcount > 0


async def get_article(db: Database, article_id: int) -> Article | None:
    """One article by id."""
    cursor = await db.connection.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id = ?", (article_id,)
    )
    row = await cursor.fetchone()
    return _article(row) if row else None


async def list_articles(db: Database, *, limit: int = 20, offset: int = 0) -> list[Article]:
    """Articles, newest first."""
    cursor = await db.connection.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles a ORDER BY a.added_at DESC, a.id DESC "
        "LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_article(row) for row in await cursor.fetchall()]


async def count_articles(db: Database) -> int:
    """How many articles are stored."""
    cursor = await db.connection.execute("SELECT COUNT(*) FROM articles")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def articles_by_ids(db: Database, ids: Iterable[int]) -> dict[int, Article]:
    """Articles for the given ids."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    cursor = await db.connection.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id IN ({marks})", wanted
    )
    return {row["id"]: _article(row) for row in await cursor.fetchall()}


async def facts_by_ids(db: Database, ids: Iterable[int]) -> dict[int, Fact]:
    """Facts (with their sentence text) for the given ids."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    cursor = await db.connection.execute(
        "SELECT f.*, s.text AS sentence FROM facts f JOIN sentences s ON s.id = f.sentence_id "
        f"WHERE f.id IN ({marks})",
        wanted,
    )
    return {row["id"]: _fact(row) for row in await cursor.fetchall()}


async def article_facts(
    db: Database, article_id: int, *, sentences_only: bool = True
) -> list[Fact]:
    """An article's facts in reading order."""
    cursor = await db.connection.execute(
        "SELECT f.*, s.text AS sentence FROM facts f JOIN sentences s ON s.id = f.sentence_id "
        "WHERE f.article_id = ? AND (f.is_sentence = 1 OR ? = 0) ORDER BY f.position",
        (article_id, int(sentences_only)),
    )
    return [_fact(row) for row in await cursor.fetchall()]


def _fact(row: aiosqlite.Row) -> Fact:
    return Fact(
        id=row["id"],
        article_id=row["article_id"],
        sentence_id=row["sentence_id"],
        text=row["text"],
        sentence=row["sentence"],
        is_sentence=bool(row["is_sentence"]),
        language=row["language"],
        kind=row["kind"],
        entities=tuple(json.loads(row["entities"])),
        numbers=tuple(json.loads(row["numbers"])),
        dates=tuple(json.loads(row["dates"])),
        speaker=row["speaker"],
    )


def _json(values: tuple[str, ...]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


async def sentence_texts(db: Database, sentence_ids: Iterable[int]) -> dict[int, str]:
    """Texts of the given sentences."""
    wanted = sorted(set(sentence_ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    cursor = await db.connection.execute(
        f"SELECT id, text FROM sentences WHERE id IN ({marks})", wanted
    )
    return {int(row[0]): row[1] for row in await cursor.fetchall()}


async def articles_after(db: Database, after_id: int, limit: int = 500) -> list[Article]:
    """Articles with an id greater than ``after_id`` (added later), oldest first."""
    cursor = await db.connection.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id > ? ORDER BY a.id LIMIT ?",
        (after_id, limit),
    )
    return [_article(row) for row in await cursor.fetchall()]


async def last_article_id(db: Database) -> int:
    """The id of the newest article (0 when none)."""
    cursor = await db.connection.execute("SELECT COALESCE(MAX(id), 0) FROM articles")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


# Which reading of its facts an article's stored vectors hold (``articles.fact_reading``):
# each fact read alone (stores written before migration 5), or the mean of it read alone and
# read after its article's title (``news.embed.Encoders.passages``), as every new article is.
ALONE_READING = 1
TITLED_READING = 2


async def articles_read_alone(db: Database) -> list[tuple[int, str]]:
    """(id, title) of every article whose fact vectors are the facts read alone, oldest first."""
    cursor = await db.connection.execute(
        "SELECT id, title FROM articles WHERE fact_reading = ? ORDER BY id", (ALONE_READING,)
    )
    return [(int(article_id), title) for article_id, title in await cursor.fetchall()]


async def stored_fact_vectors(db: Database, article_id: int) -> list[tuple[int, str, bytes, bytes]]:
    """An article's facts as (id, text, USE vector, e5 vector), in order."""
    cursor = await db.connection.execute(
        "SELECT f.id, f.text, v.use_vector, v.e5_vector FROM facts f "
        "JOIN fact_vectors v ON v.fact_id = f.id WHERE f.article_id = ? ORDER BY f.id",
        (article_id,),
    )
    return [
        (int(fact_id), str(text), bytes(use), bytes(e5))
        for fact_id, text, use, e5 in await cursor.fetchall()
    ]


async def write_titled_vectors(
    db: Database, article_id: int, vectors: list[tuple[int, bytes, bytes]]
) -> bool:
    """Replace an article's fact vectors read alone with both readings' (fact id, USE, e5).

    One transaction; False, with nothing written, when the article is gone or was already
    upgraded (by another process, say).
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "UPDATE articles SET fact_reading = ? WHERE id = ? AND fact_reading = ?",
            (TITLED_READING, article_id, ALONE_READING),
        )
        if cursor.rowcount != 1:
            return False
        await connection.executemany(
            "UPDATE fact_vectors SET use_vector = ?, e5_vector = ? WHERE fact_id = ?",
            [(use, e5, fact_id) for fact_id, use, e5 in vectors],
        )
    return True
