"""Retrieval quality on XQuAD-R, scored as ../shared/eval/README.md says.

Usage: python benchmarks/eval_retrieval.py [--settings en-ar,ar-ar,en-en,store,small,medium,half]
           [--write]

Prints a table; ``--write`` also replaces the retrieval section of BENCHMARKS.md (and the
retrieval-small, retrieval-medium and retrieval-half ones). Arabic and English are held out:
nothing in the ranking was fitted on them (see fit_weights.py).

``small`` asks each question of a store holding only four paragraphs, of four articles (two
stored in Arabic, two in English), as a bot with a handful of articles would be asked;
``medium`` the same with sixteen. Each store is also asked questions it cannot answer: those of
other articles (as in ``store``), and those of its own articles' other paragraphs. ``half``
stores every paragraph of half the articles in each of two stores, asked the other half's
questions as unanswerable.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import xquad

STORED_ARTICLES = 40  # articles 0-39 are stored in the `store` setting, 40-47 are not


async def parallel_setting(question_language: str, pool_language: str, encoders) -> list[str]:
    pool_data = xquad.load(pool_language)
    db = xquad.CACHE_DIR / f"pool-{pool_language}.db"
    pool = await xquad.build_pool(db, encoders, [(pool_language, xquad.paragraphs(pool_data))])
    items = xquad.questions(xquad.load(question_language))
    started = time.perf_counter()
    outcomes = await xquad.run_questions(pool, items)
    elapsed = time.perf_counter() - started
    await pool.knowledge.db.close()
    return [
        f"{question_language}->{pool_language}",
        str(len(items)),
        f"{xquad.recall(outcomes, 1):.3f}",
        f"{xquad.recall(outcomes, 5):.3f}",
        f"{xquad.mrr(outcomes):.3f}",
        f"{1000 * elapsed / len(items):.1f}",
    ]


def store_sources(lang_even: str, lang_odd: str) -> list[tuple[str, list[xquad.Paragraph]]]:
    even = [
        p
        for p in xquad.paragraphs(xquad.load(lang_even))
        if p.article_index < STORED_ARTICLES and p.article_index % 2 == 0
    ]
    odd = [
        p
        for p in xquad.paragraphs(xquad.load(lang_odd))
        if p.article_index < STORED_ARTICLES and p.article_index % 2 == 1
    ]
    return [(lang_even, even), (lang_odd, odd)]


async def store_setting(lang_even: str, lang_odd: str, encoders) -> list[list[str]]:
    """Half the articles stored in one language, half in the other; 8 articles not stored."""
    db = xquad.CACHE_DIR / f"store-{lang_even}-{lang_odd}.db"
    pool = await xquad.build_pool(db, encoders, store_sources(lang_even, lang_odd))
    rows = []
    for question_language in (lang_odd, lang_even):
        items = xquad.questions(xquad.load(question_language))
        outcomes = await xquad.run_questions(pool, items)
        answerable = [o for o in outcomes if o.question.article_index < STORED_ARTICLES]
        unanswerable = [o for o in outcomes if o.question.article_index >= STORED_ARTICLES]
        rows.append(
            [
                f"store, {question_language} questions",
                str(len(answerable)),
                *_recalls(answerable, pool.language_of_article, (lang_even, lang_odd)),
                _refused(unanswerable),
                _refused(answerable),
                *_quotes(answerable),
            ]
        )
    await pool.knowledge.db.close()
    return rows


# Articles per store in the ``small`` and ``medium`` settings: a bot's first days and weeks.
STORE_SIZES = {"small": 4, "medium": 16}
# ``half`` stores every paragraph of half the articles (about 600 sentences): between the store
# sizes the abstention rules were fitted on (125 and 1,032 sentences), where they are mixed.
SIZE_SETTINGS = (*STORE_SIZES, "half")


@dataclasses.dataclass
class GroupedStore:
    """One store of a size setting, and the paragraphs whose questions it can and cannot answer.

    Each set holds (article, paragraph) pairs."""

    sources: list[tuple[str, list[xquad.Paragraph]]]
    own: set[tuple[int, int]]  # every stored paragraph
    # Paragraphs of articles not stored here, as the `store` setting's unanswerable questions.
    other_articles: set[tuple[int, int]]
    # Other paragraphs of the stored articles: questions about a stored article that it does not
    # answer, harder to refuse, since they share its subject and words.
    same_articles: set[tuple[int, int]]


def grouped_stores(lang_even: str, lang_odd: str, articles_per_store: int) -> list[GroupedStore]:
    """Stores of one paragraph from each of ``articles_per_store`` consecutive articles: the n-th
    paragraph of articles 0-3, of 4-7, ... (for 4); even articles in ``lang_even``, odd ones in
    ``lang_odd``. Each store cannot answer the questions of the n-th paragraphs of the next group
    of articles, nor those of the (n+1)-th paragraphs of its own."""
    by_language = {
        language: {(p.article_index, p.paragraph_index): p for p in xquad.paragraphs(data)}
        for language, data in ((lang_even, xquad.load(lang_even)), (lang_odd, xquad.load(lang_odd)))
    }
    articles = sorted({article for article, _ in by_language[lang_even]})
    if len(articles) < 2 * articles_per_store:
        raise ValueError("a store must leave out a group of articles to ask it about")
    groups: list[list[list[tuple[str, xquad.Paragraph]]]] = []  # [group][paragraph]: a store
    for first in range(0, len(articles) - articles_per_store + 1, articles_per_store):
        group = articles[first : first + articles_per_store]
        groups.append([])
        for paragraph in itertools.count():
            store = []
            for article in group:
                language = lang_even if article % 2 == 0 else lang_odd
                found = by_language[language].get((article, paragraph))
                if found is not None:
                    store.append((language, found))
            if len(store) < articles_per_store:
                break
            groups[-1].append(store)

    def keys(group: int, paragraph: int) -> set[tuple[int, int]]:
        stores = groups[group % len(groups)]
        return {(p.article_index, p.paragraph_index) for _, p in stores[paragraph % len(stores)]}

    return [
        GroupedStore(
            # In a fixed order, so the articles' ids, and any tie between them, are the same in
            # every run.
            [
                (language, [p for lang, p in store if lang == language])
                for language in (lang_even, lang_odd)
            ],
            own=keys(group, paragraph),
            other_articles=keys(group + 1, paragraph),
            same_articles=keys(group, paragraph + 1),
        )
        for group, stores in enumerate(groups)
        for paragraph, store in enumerate(stores)
    ]


def half_stores(lang_even: str, lang_odd: str) -> list[GroupedStore]:
    """Two stores, of every paragraph of articles 0-23 and of 24-47 (even articles in
    ``lang_even``, odd ones in ``lang_odd``); each cannot answer the other's questions."""
    by_language = {
        language: xquad.paragraphs(xquad.load(language)) for language in (lang_even, lang_odd)
    }
    articles = sorted({p.article_index for p in by_language[lang_even]})
    halves = [set(articles[: len(articles) // 2]), set(articles[len(articles) // 2 :])]

    def keys(half: set[int]) -> set[tuple[int, int]]:
        return {
            (p.article_index, p.paragraph_index)
            for p in by_language[lang_even]
            if p.article_index in half
        }

    return [
        GroupedStore(
            [
                (
                    language,
                    [
                        p
                        for p in by_language[language]
                        if p.article_index in half and p.article_index % 2 == parity
                    ],
                )
                for parity, language in ((0, lang_even), (1, lang_odd))
            ],
            own=keys(half),
            other_articles=keys(halves[1 - number]),
            same_articles=set(),  # every paragraph of a stored article is stored
        )
        for number, half in enumerate(halves)
    ]


async def size_setting(name: str, lang_even: str, lang_odd: str, encoders) -> list[list[str]]:
    """Every question of a stored paragraph asked of its own store, and the questions it cannot
    answer (``GroupedStore``): those of other articles, and those of its articles' other
    paragraphs."""
    questions = {
        language: xquad.questions(xquad.load(language)) for language in (lang_odd, lang_even)
    }
    kinds = ("own", "other_articles", "same_articles")
    outcomes = {language: {kind: [] for kind in kinds} for language in questions}
    stored_in: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        if name == "half":
            stores = half_stores(lang_even, lang_odd)
        else:
            stores = grouped_stores(lang_even, lang_odd, STORE_SIZES[name])
        sentences = 0
        for number, store in enumerate(stores):
            pool = await xquad.build_pool(
                Path(folder) / f"{name}-{number}.db", encoders, store.sources
            )
            sentences += len(pool.sentence_gold)
            for language, items in questions.items():
                for kind in kinds:
                    paragraphs = getattr(store, kind)
                    asked = [q for q in items if (q.article_index, q.paragraph_index) in paragraphs]
                    outcomes[language][kind] += await xquad.run_questions(pool, asked)
            stored_in.update(pool.language_of_article)
            await pool.knowledge.db.close()
    rows = []
    for language, by_kind in outcomes.items():
        found = by_kind["own"]
        rows.append(
            [
                f"{name} stores, {language} questions",
                f"{len(stores)} stores of {STORE_SIZES[name]} paragraphs"
                if name in STORE_SIZES
                else f"{len(stores)} stores of half the articles, {sentences // len(stores)} "
                "sentences each on average",
                str(len(found)),
                *_recalls(found, stored_in, (lang_even, lang_odd)),
                _refused(by_kind["other_articles"]),
                _refused(by_kind["same_articles"]),
                _refused(found),
                f"{sum(o.answered and o.rank != 1 for o in found) / max(1, len(found)):.3f}",
                *_quotes(found),
            ]
        )
    return rows


def _recalls(
    answerable: list[xquad.Outcome], language_of_article: dict[int, str], languages: tuple[str, str]
) -> list[str]:
    """R@1, R@1 of the answers stored in each language, and R@5 (``_recall_header``)."""
    cells = [
        [o for o in answerable if language_of_article[o.question.article_index] == language]
        for language in languages
    ]
    return [
        f"{xquad.recall(answerable, 1):.3f}",
        *(f"{xquad.recall(cell, 1):.3f}" for cell in cells),
        f"{xquad.recall(answerable, 5):.3f}",
    ]


def _recall_header(languages: tuple[str, str]) -> list[str]:
    return ["R@1", *(f"R@1, answer stored in {language}" for language in languages), "R@5"]


def _refused(outcomes: list[xquad.Outcome]) -> str:
    if not outcomes:
        return "none asked"
    return f"{sum(not o.answered for o in outcomes) / len(outcomes):.3f}"


def _quotes(answerable: list[xquad.Outcome]) -> list[str]:
    """Shares of the answerable questions answered with the right sentence quoted first, with
    two quotes, and with the right sentence quoted first or second (``_QUOTES_HEADER``)."""
    total = max(1, len(answerable))
    return [
        f"{sum(o.answered and o.rank == 1 for o in answerable) / total:.3f}",
        f"{sum(o.answered and o.quotes == 2 for o in answerable) / total:.3f}",
        f"{sum(o.quoted_answer for o in answerable) / total:.3f}",
    ]


_QUOTES_HEADER = [
    "answerable answered, answer first",
    "answerable answered with two quotes",
    "answerable answered, answer quoted first or second",
]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", default="en-ar,ar-ar,en-en,store")
    parser.add_argument("--store-languages", default="ar,en", help="even,odd article languages")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not xquad.XQUAD_DIR.exists():
        sys.exit(f"XQuAD-R not found at {xquad.XQUAD_DIR}")
    encoders = xquad.CachedEncoders(xquad.CACHE_DIR / "vectors.npz")
    settings = args.settings.split(",")
    parallel_rows = []
    for setting in settings:
        if setting != "store" and setting not in SIZE_SETTINGS:
            question_language, pool_language = setting.split("-")
            parallel_rows.append(await parallel_setting(question_language, pool_language, encoders))
            encoders.save()
    store_rows = []
    if "store" in settings:
        even, odd = args.store_languages.split(",")
        store_rows = await store_setting(even, odd, encoders)
        encoders.save()
    parallel = table(["setting", "questions", "R@1", "R@5", "MRR", "ms/question"], parallel_rows)
    even, odd = args.store_languages.split(",")
    store = table(
        [
            "setting",
            "answerable",
            *_recall_header((even, odd)),
            "unanswerable answered false",
            "answerable wrongly false",
            *_QUOTES_HEADER,
        ],
        store_rows,
    )
    command = f"python benchmarks/eval_retrieval.py --settings {args.settings} --write"
    if parallel_rows or store_rows:
        report = f"{parallel}\n\n{store}\n"
        print(report)
        if args.write:
            write_section("retrieval", report, command)
    for name in SIZE_SETTINGS:
        if name not in settings:
            continue
        size_rows = await size_setting(name, even, odd, encoders)
        encoders.save()
        sized = table(
            [
                "setting",
                "stores",
                "answerable",
                *_recall_header((even, odd)),
                "unanswerable answered false",
                "same article's unanswerable answered false",
                "answerable wrongly false",
                "answered with another sentence first",
                *_QUOTES_HEADER,
            ],
            size_rows,
        )
        print(sized)
        if args.write:
            write_section(f"retrieval-{name}", sized + "\n", command)


def write_section(name: str, body: str, command: str) -> None:
    """Replace the section between the markers for ``name`` in BENCHMARKS.md."""
    path = xquad.ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\nCommand: `{command}` ({time.strftime('%Y-%m-%d')})\n\n{body}{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {name}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
