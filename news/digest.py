"""Choose and order what goes into a digest: new articles matching a subscription's keywords.

Keywords match in either language: each keyword is also mapped to the other language's index
terms through the encoders' shared word space (``Knowledge.translate_terms``), so an English
keyword finds Arabic articles about it. Related articles (sharing key names) are grouped, and
the most important group comes first.
"""

from __future__ import annotations

from dataclasses import dataclass

from news.knowledge import Knowledge
from news.text import index_terms
from storage import articles as article_store
from storage import search
from storage.models import Article, Fact

_KIND_WEIGHT = {"quote": 3, "claim": 3, "figure": 2, "event": 1, "statement": 0}
MAX_ARTICLES = 30


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One article of a digest with its key facts."""

    article: Article
    facts: tuple[Fact, ...]
    importance: float


def key_facts(facts: list[Fact], limit: int = 3) -> list[Fact]:
    """The most informative sentences (figures, quotes, claims, names), in reading order."""
    ranked = sorted(
        enumerate(facts),
        key=lambda item: (
            -(_KIND_WEIGHT.get(item[1].kind, 0) + min(len(item[1].entities), 3)),
            item[0],
        ),
    )
    chosen = sorted(ranked[:limit], key=lambda item: item[0])
    return [fact for _, fact in chosen]


async def matching_articles(
    knowledge: Knowledge,
    after_article_id: int,
    keywords: tuple[str, ...],
    until_article_id: int | None = None,
) -> list[Article]:
    """Articles stored after ``after_article_id`` (up to ``until_article_id``) matching a keyword.

    With no keywords, every new article matches.
    """
    fresh = await article_store.articles_after(knowledge.db, after_article_id)
    if until_article_id is not None:
        fresh = [article for article in fresh if article.id <= until_article_id]
    if not keywords or not fresh:
        return fresh
    terms: list[str] = []
    for keyword in keywords:
        terms.extend(index_terms(keyword))
        terms.extend(await knowledge.translate_terms(keyword))
    matched = await search.articles_matching(knowledge.db, terms, [a.id for a in fresh])
    return [article for article in fresh if article.id in matched]


async def compose(
    knowledge: Knowledge,
    after_article_id: int,
    keywords: tuple[str, ...],
    until_article_id: int | None = None,
) -> list[DigestItem]:
    """The digest's articles, grouped by shared names, most important group first."""
    found = await matching_articles(knowledge, after_article_id, keywords, until_article_id)
    articles = found[-MAX_ARTICLES:]
    items = []
    for article in articles:
        facts = await article_store.article_facts(knowledge.db, article.id)
        chosen = key_facts(facts)
        importance = sum(_KIND_WEIGHT.get(f.kind, 0) for f in chosen) + len(facts) / 10
        items.append(DigestItem(article, tuple(chosen), importance))
    return order_by_group(items)


def order_by_group(items: list[DigestItem]) -> list[DigestItem]:
    """Group articles that share key names; groups by total importance, items within by theirs."""
    groups: list[list[DigestItem]] = []
    names: list[set[str]] = []
    for item in sorted(items, key=lambda i: -i.importance):
        own = {name.casefold() for name in item.article.key_entities[:5]}
        for index, group_names in enumerate(names):
            if own & group_names:
                groups[index].append(item)
                group_names.update(own)
                break
        else:
            groups.append([item])
            names.append(own)
    groups.sort(key=lambda group: -sum(i.importance for i in group))
    return [item for group in groups for item in group]
