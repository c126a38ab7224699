"""Turn the knowledge base's answers and articles into neutral replies (shared by CLI and chat)."""

from __future__ import annotations

from bot.i18n import message
from bot.types import Block, Button, Citation, Paragraph, Quote, Reply, Text
from news.digest import key_facts
from news.knowledge import Answer
from storage.models import Article, Fact


def citation(article: Article) -> Citation:
    """The citation line of an article."""
    return Citation(
        title=article.title,
        source=article.source,
        published=article.published,
        url=article.url,
        article_id=article.id,
    )


def answer_reply(
    answer: Answer, language: str | None = None, *, empty_store: bool = False
) -> Reply:
    """The reply to a question: the quoted fact, its sentence and citation, or a plain 'no'.

    When the runner-up is a close second from the same article (``Answer.quotes``), it is
    quoted too, under the one citation they share.
    """
    language = language or answer.language
    if empty_store:
        return Reply.text(message("empty_store", language), language=language)
    quoted = answer.quoted
    if not quoted:
        return no_answer_reply(answer, language)
    best = quoted[0]
    speaker = best.fact.speaker
    intro = message("answer_speaker", language, speaker=speaker) if speaker else None
    blocks: list[Block] = [Paragraph((Text(intro or message("answer_intro", language), "bold"),))]
    blocks += quote_blocks(best.fact)
    for also in quoted[1:]:
        blocks.append(Paragraph((Text(message("answer_also", language), "bold"),)))
        blocks += quote_blocks(also.fact)
    blocks.append(citation(best.article))
    button = Button(message("more_facts", language), f"article:{best.article.id}")
    return Reply(tuple(blocks), language=language, buttons=(button,))


def quote_blocks(fact: Fact) -> list[Block]:
    """A fact quoted, then the whole sentence it was cut from when it is a clause."""
    blocks: list[Block] = [Quote(fact.text)]
    if not fact.is_sentence and fact.sentence != fact.text:
        blocks.append(Paragraph((Text(fact.sentence, "italic", own_direction=True),)))
    return blocks


def no_answer_reply(answer: Answer, language: str) -> Reply:
    """Say plainly that the store does not answer, and offer the closest articles."""
    blocks: list[Block] = [Paragraph((Text(message("no_answer", language)),))]
    closest = answer.closest_articles()
    if closest:
        blocks.append(Paragraph((Text(message("closest_articles", language)),)))
        blocks.extend(article_line(article) for article in closest)
    return Reply(tuple(blocks), language=language)


def article_line(article: Article) -> Paragraph:
    """``#id title (source, date)`` as one paragraph.

    The title, source and date are parts of their own, so each is laid out in its own
    direction (an Arabic title in an English list reads right to left as a whole).
    """
    parts = [Text(f"#{article.id} ", "bold"), Text(article.title, own_direction=True)]
    details = [detail for detail in (article.source, article.published) if detail]
    if details:
        parts.append(Text(" ("))
        for index, detail in enumerate(details):
            if index:
                parts.append(Text(", "))
            parts.append(Text(detail, own_direction=True))
        parts.append(Text(")"))
    return Paragraph(tuple(parts))


def article_reply(article: Article, facts: list[Fact], language: str, limit: int = 6) -> Reply:
    """One article's title, source, date and key facts."""
    blocks: list[Block] = [
        Paragraph((Text(message("article_header", language, id=article.id), "bold"),)),
        citation(article),
        Paragraph((Text(message("article_facts", language), "bold"),)),
    ]
    blocks.extend(Quote(fact.text) for fact in key_facts(facts, limit))
    return Reply(tuple(blocks), language=language)
