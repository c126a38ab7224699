"""handlers.compose: what an answer's reply quotes and cites."""

from __future__ import annotations

from bot.render import render_plain
from bot.types import Citation, Quote
from handlers.compose import answer_reply
from news.knowledge import Answer, FoundFact
from storage.models import Article, Fact

ARTICLE = Article(
    id=3,
    title="Orchard cooperative report",
    source="Valley Post",
    url=None,
    language="en",
    published="2025-03-02",
    added_by=None,
    added_at="2025-03-02T10:00:00",
)


def _found(fact_id: int, text: str, sentence: str, score: float) -> FoundFact:
    fact = Fact(
        id=fact_id,
        article_id=ARTICLE.id,
        sentence_id=fact_id,
        text=text,
        sentence=sentence,
        is_sentence=text == sentence,
        language="en",
        kind="figure",
        entities=(),
        numbers=(),
        dates=(),
        speaker=None,
    )
    return FoundFact(fact, ARTICLE, score)


FIRST = _found(1, "The cooperative picked 40 tonnes.", "The cooperative picked 40 tonnes.", 3.0)
SECOND = _found(
    2, "sold half of them abroad", "It sold half of them abroad, the treasurer said.", 2.6
)


def test_a_close_runner_up_is_quoted_under_the_one_citation() -> None:
    answer = Answer("How much was picked?", "en", answered=True, facts=[FIRST, SECOND], quotes=2)
    reply = answer_reply(answer)
    quotes = [block.text for block in reply.blocks if isinstance(block, Quote)]
    assert quotes == [FIRST.fact.text, SECOND.fact.text]
    assert [b for b in reply.blocks if isinstance(b, Citation)] == [
        Citation(ARTICLE.title, ARTICLE.source, ARTICLE.published, None, ARTICLE.id)
    ]
    shown = render_plain(reply, isolate_runs=False)
    assert "The same article also says:" in shown
    # The clause is followed by the sentence it was cut from.
    assert shown.index(SECOND.fact.text) < shown.index(SECOND.fact.sentence)


def test_an_answer_quotes_its_best_fact_alone_by_default() -> None:
    answer = Answer("How much was picked?", "en", answered=True, facts=[FIRST, SECOND])
    reply = answer_reply(answer)
    assert [b.text for b in reply.blocks if isinstance(b, Quote)] == [FIRST.fact.text]
    assert "also says" not in render_plain(reply, isolate_runs=False)


def test_an_unanswered_question_quotes_nothing_and_offers_articles() -> None:
    answer = Answer("Who is the mayor?", "ar", answered=False, facts=[FIRST, SECOND])
    reply = answer_reply(answer)
    assert not any(isinstance(block, Quote) for block in reply.blocks)
    assert ARTICLE.title in render_plain(reply, isolate_runs=False)
