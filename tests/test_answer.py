"""Answering from a store holding the sample article: ranking, abstaining, hostile questions.

The ranking weights are being fitted while these tests are written, so they assert behaviour
(which sentence comes first, whether the bot answers) and never exact scores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

from news.answer import AbstentionRule, answer_logit, quote_count
from news.embed import Encoders
from news.errors import UserError
from news.ingest import ArticleDraft, from_text
from news.knowledge import MAX_QUESTION_CHARS, Answer, Knowledge, clean_question
from storage import articles as article_store
from storage import search
from storage.db import Database

from .conftest import BRIDGE, ORCHARD, build_store, copy_db, table_counts


@pytest.fixture
def store(sample_store: Path, tmp_path: Path) -> Path:
    return copy_db(sample_store, tmp_path / "store.db")


async def _ask(path: Path, encoders: Encoders, question: str, top_k: int = 5) -> Answer:
    async with Database(path) as db:
        return await Knowledge(db, encoders).ask(question, top_k=top_k)


def _check_shape(answer: Answer, top_k: int = 5) -> None:
    assert 0 < len(answer.facts) <= top_k
    scores = [found.score for found in answer.facts]
    assert scores == sorted(scores, reverse=True)
    for found in answer.facts:
        assert found.fact.text
        assert found.fact.text in found.fact.sentence or found.fact.text == found.fact.sentence
        assert found.article.id == found.fact.article_id
    # One fact per sentence: the ranking is by sentence.
    sentences = [found.fact.sentence_id for found in answer.facts]
    assert len(sentences) == len(set(sentences))
    # An answer quotes its best fact, and the runner-up only from the same article.
    if answer.answered:
        assert answer.quotes in (1, 2)
        assert {found.article.id for found in answer.quoted} == {answer.facts[0].article.id}
    else:
        assert answer.quoted == []


async def test_claim_about_cost_finds_the_96_percent_fact(store: Path, encoders: Encoders) -> None:
    answer = await _ask(store, encoders, "what did DeepSeek claim about cost?")
    _check_shape(answer)
    assert "96" in answer.facts[0].fact.sentence
    # The quote itself carries the claim (not the sentence's first clause).
    assert "96" in answer.facts[0].fact.text
    assert answer.answered is True


async def test_gpu_question_finds_the_2000_gpus_fact(store: Path, encoders: Encoders) -> None:
    answer = await _ask(store, encoders, "How many GPUs did DeepSeek need to train V3?")
    _check_shape(answer)
    assert answer.language == "en"
    assert "2000" in answer.facts[0].fact.sentence
    assert answer.answered is True


async def test_arabic_license_question_finds_mit(store: Path, encoders: Encoders) -> None:
    answer = await _ask(store, encoders, "ما هو ترخيص DeepSeek-R1؟")
    _check_shape(answer)
    assert answer.language == "ar"
    assert "MIT" in answer.facts[0].fact.sentence


async def test_unrelated_question_abstains_but_returns_closest_facts(
    store: Path, encoders: Encoders
) -> None:
    answer = await _ask(store, encoders, "Who won the 1998 football world cup final?")
    assert answer.answered is False
    _check_shape(answer)
    assert answer.closest_articles()


async def test_top_k_limits_the_facts(store: Path, encoders: Encoders) -> None:
    answer = await _ask(store, encoders, "Which companies released open models?", top_k=2)
    _check_shape(answer, top_k=2)
    assert len(answer.facts) == 2


async def test_empty_store_answers_nothing(tmp_path: Path, encoders: Encoders) -> None:
    answer = await _ask(tmp_path / "empty.db", encoders, "What did DeepSeek claim?")
    assert answer.answered is False
    assert answer.facts == []


# --- hostile and odd questions -------------------------------------------------------------------

HOSTILE = [
    pytest.param('"', id="quote"),
    pytest.param("*", id="star"),
    pytest.param("NEAR(", id="near"),
    pytest.param("AND", id="and"),
    pytest.param("-", id="minus"),
    pytest.param('" OR "', id="or"),
    pytest.param('DeepSeek" OR "x', id="quoted-or"),
    pytest.param("NEAR(DeepSeek cost, 2) AND -NVIDIA*", id="near-expression"),
    pytest.param("facts_fts MATCH '*'; DROP TABLE articles; --", id="sql"),
    pytest.param("🤔🤔🔥", id="emoji"),
    pytest.param("🤔 DeepSeek 🔥 cost?", id="emoji-words"),
    pytest.param("\u2067what did DeepSeek claim about cost?\u2069", id="bidi-around"),
    pytest.param("\u202ema\u202c\u200f\u2066\u2069", id="bidi-only"),
    pytest.param("ما \u2066DeepSeek-R1\u2069 ؟\u200f", id="bidi-arabic"),
    pytest.param("x" * 10_000, id="10000-chars"),
    pytest.param("DeepSeek " * 1_200, id="10000-words"),
    pytest.param("   \n\t  ", id="blank"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("question", HOSTILE)
async def test_hostile_questions_answer_abstain_or_refuse_clearly(
    store: Path, encoders: Encoders, question: str
) -> None:
    before = table_counts(store)
    try:
        answer = await _ask(store, encoders, question)
    except UserError as error:
        assert error.key in ("empty_question", "question_too_long")
        assert len(str(error)) > 10
        if error.key == "question_too_long":
            assert str(MAX_QUESTION_CHARS) in str(error)
    else:
        assert isinstance(answer.answered, bool)
        assert answer.facts  # the store is not empty: closest facts are always returned
        assert "\u2067" not in answer.question and "\u2069" not in answer.question
    assert table_counts(store) == before


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("", "empty_question"),
        ("🤔🤔", "empty_question"),
        ('"', "empty_question"),
        ("\u2067\u2069\u200f", "empty_question"),
        ("x" * 10_000, "question_too_long"),
    ],
)
def test_clean_question_refusals(question: str, key: str) -> None:
    with pytest.raises(UserError) as caught:
        clean_question(question)
    assert caught.value.key == key


def test_clean_question_strips_bidi_controls_and_spaces() -> None:
    assert (
        clean_question("  \u2067what   did\nDeepSeek\u2069 claim? ") == "what did DeepSeek claim?"
    )


async def test_asking_writes_nothing(store: Path, encoders: Encoders) -> None:
    before = table_counts(store)
    async with Database(store) as db:
        knowledge = Knowledge(db, encoders)
        for question in (
            "what did DeepSeek claim about cost?",
            "ما هو ترخيص DeepSeek-R1؟",
            "NEAR(",
            "Who won the 1998 football world cup final?",
        ):
            await knowledge.ask(question)
    assert table_counts(store) == before


async def test_an_added_article_joins_the_loaded_matrices_without_copying_them(
    store: Path, encoders: Encoders
) -> None:
    async with Database(store) as db:
        knowledge = Knowledge(db, encoders)
        await knowledge.ask("what did DeepSeek claim about cost?")  # loads the matrices
        before, terms_before = knowledge._matrix, knowledge._terms
        assert before is not None and terms_before is not None
        assert before.use.codes.dtype == before.e5.codes.dtype == np.int8  # held as codes
        body = (
            "The city council approved 12 million dollars for new parks in 2024. "
            "The mayor said that playgrounds would be built first."
        )
        await knowledge.add(ArticleDraft("Parks budget", body, "en"))
        after, terms_after = knowledge._matrix, knowledge._terms
        assert after is not None and terms_after is not None
        assert len(after.fact_ids) > len(before.fact_ids)
        # The stored vectors were written after the old rows, not copied with them.
        assert np.shares_memory(after.use.codes, before.use.codes)
        assert np.shares_memory(after.e5.scales, before.e5.scales)
        assert np.shares_memory(terms_after.vectors, terms_before.vectors)
        np.testing.assert_array_equal(after.use.codes[: len(before.use)], before.use.codes)
        found = await knowledge.ask("How much money did the council approve for parks?")
    assert found.answered
    assert "12 million" in found.facts[0].fact.sentence


async def test_a_sentence_covers_the_names_its_article_is_about(
    tmp_path: Path, encoders: Encoders
) -> None:
    """The context coverages add the article's title and key names to the sentence's words."""
    path = tmp_path / "context.db"
    await build_store(path, [BRIDGE, ORCHARD], encoders)
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        signals = await knowledge.signals("What did engineers replace on the Harbor Bridge?")
        assert signals is not None
        texts = await article_store.sentence_texts(db, [int(i) for i in signals.sentence_ids])
    by_text = {texts[int(sentence_id)]: row for row, sentence_id in enumerate(signals.sentence_ids)}
    cables = by_text[next(text for text in by_text if text.startswith("Engineers replaced"))]
    # The sentence never says "Harbor Bridge"; its article's title does.
    assert signals.exact_coverage[cables] < 0.9
    assert signals.context_exact_coverage[cables] == pytest.approx(1.0, abs=1e-5)
    assert signals.context_soft_raw[cables] >= signals.soft_raw[cables]
    growers = by_text[next(text for text in by_text if text.startswith("Growers"))]
    # The orchard article's title says nothing of bridges or engineers.
    assert signals.context_exact_coverage[growers] == pytest.approx(
        signals.exact_coverage[growers], abs=1e-5
    )


async def test_a_new_article_under_a_removed_ones_id_is_read_with_its_own_title(
    tmp_path: Path, encoders: Encoders
) -> None:
    """SQLite reuses the highest id after a removal; the kept titles must not outlive it."""
    path = tmp_path / "reused.db"
    _, orchard_id = await build_store(path, [BRIDGE, ORCHARD], encoders)
    question = "What did growers say about the Lakeside vineyards?"
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        await knowledge.ask(question)  # reads and keeps both articles' titles
        assert await knowledge.remove(orchard_id)
        body = "Growers expect to pick more grapes this autumn after a mild spring."
        added = await knowledge.add(
            ArticleDraft("Lakeside vineyards report a good year", body, "en")
        )
        assert added.article.id == orchard_id  # the id was reused
        signals = await knowledge.signals(question)
        assert signals is not None
    row = int(np.flatnonzero(signals.article_ids == orchard_id)[0])
    # "Lakeside" and "vineyards" are in the new title only, not in the old one or the body.
    assert signals.context_exact_coverage[row] > signals.exact_coverage[row]


async def test_questions_and_adds_at_once_leave_every_fact_in_the_matrix_once(
    tmp_path: Path, encoders: Encoders
) -> None:
    """A load that overlaps an add must neither miss the added rows nor hold them twice."""
    path = tmp_path / "concurrent.db"
    ids = await build_store(path, [BRIDGE, ORCHARD], encoders)
    drafts = [
        ArticleDraft(
            f"Council notes {n}", f"The council met on day {n} and approved plan {n}.", "en"
        )
        for n in range(3)
    ]
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        await knowledge.ask("What did engineers replace?")
        assert await knowledge.remove(ids[1])  # the next question reloads the matrices
        await asyncio.gather(
            knowledge.ask("What did engineers replace?"),
            *(knowledge.add(draft) for draft in drafts),
            knowledge.ask("How many cars cross the bridge?"),
        )
        matrix = await knowledge._fact_matrix()
        cursor = await db.connection.execute("SELECT id FROM facts ORDER BY id")
        stored = [int(row[0]) for row in await cursor.fetchall()]
    assert sorted(matrix.fact_ids.tolist()) == stored


class _WatchedLock(asyncio.Lock):
    """A real lock that notes when a task has had to wait for it."""

    def __init__(self) -> None:
        super().__init__()
        self.contended = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self.contended.set()
        return await super().acquire()


async def test_an_article_stored_while_the_vectors_load_reaches_the_loaded_matrix(
    tmp_path: Path, encoders: Encoders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load is held after reading the store until the add waits for the lock or is done.

    That is the race the load's lock closes: an add that stored its rows after the load read
    the store, and found no matrix to extend, would leave them out of the matrix the load then
    puts in place. Without the lock the add finishes during the hold and this test fails.
    """
    path = tmp_path / "race.db"
    await build_store(path, [BRIDGE], encoders)
    read_the_store = asyncio.Event()
    add_finished = asyncio.Event()
    real_load = search.load_vectors

    async def load_held_after_reading(*args: Any, **kwargs: Any) -> search.VectorRows:
        rows = await real_load(*args, **kwargs)
        if "after_fact_id" not in kwargs:  # a full load, not an add extending the matrix
            read_the_store.set()
            waits = [asyncio.ensure_future(e.wait()) for e in (lock.contended, add_finished)]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        return rows

    async def add_orchard() -> None:
        await knowledge.add(from_text(ORCHARD))
        add_finished.set()

    monkeypatch.setattr(search, "load_vectors", load_held_after_reading)
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        lock = knowledge._lock = _WatchedLock()
        question = asyncio.create_task(knowledge.ask("How many tonnes of apples are expected?"))
        await read_the_store.wait()
        await asyncio.gather(question, add_orchard())
        matrix = await knowledge._fact_matrix()
        cursor = await db.connection.execute("SELECT id FROM facts ORDER BY id")
        stored = [int(row[0]) for row in await cursor.fetchall()]
    assert sorted(matrix.fact_ids.tolist()) == stored


async def test_articles_added_and_removed_by_another_process_are_seen_by_the_next_question(
    tmp_path: Path, encoders: Encoders
) -> None:
    """An admin's command line (another connection) changes the store while the bot runs."""
    path = tmp_path / "shared.db"
    (bridge_id,) = await build_store(path, [BRIDGE], encoders)
    question = "How many tonnes of apples do growers expect?"
    async with Database(path) as bot_db, Database(path) as cli_db:
        bot = Knowledge(bot_db, encoders)
        before = await bot.ask(question)
        assert {found.article.id for found in before.facts} == {bridge_id}

        added = await Knowledge(cli_db, encoders).add(from_text(ORCHARD))
        after_add = await bot.ask(question)
        assert after_add.answered
        assert after_add.facts[0].article.id == added.article.id
        assert "85,000" in after_add.facts[0].fact.sentence

        assert await Knowledge(cli_db, encoders).remove(added.article.id)
        after_remove = await bot.ask(question)
        assert {found.article.id for found in after_remove.facts} == {bridge_id}
        matrix = await bot._fact_matrix()
        assert set(matrix.article_ids.tolist()) == {bridge_id}


def _constant_rule(sentences: int, logit: float) -> AbstentionRule:
    return AbstentionRule(sentences, (0.0,) * 11, logit)


@pytest.mark.parametrize(
    ("sentences", "expected"),
    [
        (5, -1.0),  # smaller than any fitted store: the small-store rule alone
        (20, -1.0),
        (200, 0.0),  # halfway between 20 and 2,000 in log size
        (2000, 1.0),
        (100_000, 1.0),  # larger than any fitted store: the large-store rule alone
    ],
)
def test_abstention_rules_mix_by_log_store_size(sentences: int, expected: float) -> None:
    rules = (_constant_rule(2000, 1.0), _constant_rule(20, -1.0))  # in any order
    logit = answer_logit(np.zeros(11), rules, sentences)
    assert logit == pytest.approx(expected)


def test_abstention_rules_between_three_sizes_use_the_nearest_two() -> None:
    rules = (_constant_rule(10, -1.0), _constant_rule(100, 5.0), _constant_rule(1000, 1.0))
    assert answer_logit(np.zeros(11), rules, 100) == pytest.approx(5.0)
    assert answer_logit(np.zeros(11), rules, 316) == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize(
    ("article_ids", "scores", "expected"),
    [
        ([], [], 0),
        ([7], [3.0], 1),
        ([7, 7, 9], [3.0, 2.5, 2.4], 2),  # a close runner-up from the same article
        ([7, 7], [3.0, 1.5], 1),  # too far behind
        ([7, 9, 7], [3.0, 2.9, 2.8], 1),  # a close runner-up from another article
        ([7, 7], [3.0, 2.0], 2),  # exactly at the margin
    ],
)
def test_the_runner_up_is_quoted_only_when_close_and_from_the_same_article(
    article_ids: list[int], scores: list[float], expected: int
) -> None:
    assert quote_count(article_ids, scores, margin=1.0) == expected
