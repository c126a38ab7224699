"""Retrieval quality on XQuAD-R, scored as ../shared/eval/README.md says.

Usage: python benchmarks/eval_retrieval.py [--settings en-ar,ar-ar,en-en,store,small] [--write]

Prints a table; ``--write`` also replaces the retrieval section of BENCHMARKS.md (and the
retrieval-small one for ``small``). Arabic and English are held out: nothing in the ranking was
fitted on them (see fit_weights.py).

``small`` asks each question of a store holding only four paragraphs, of four articles (two
stored in Arabic, two in English), as a bot with a handful of articles would be asked.
"""

from __future__ import annotations

import argparse
import asyncio
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
        cells = []
        for stored_language in (lang_even, lang_odd):
            cell = [
                o
                for o in answerable
                if pool.language_of_article[o.question.article_index] == stored_language
            ]
            cells.append(f"{xquad.recall(cell, 1):.3f}")
        rows.append(
            [
                f"store, {question_language} questions",
                str(len(answerable)),
                f"{xquad.recall(answerable, 1):.3f}",
                *cells,
                f"{xquad.recall(answerable, 5):.3f}",
                f"{sum(not o.answered for o in unanswerable) / len(unanswerable):.3f}",
                f"{sum(not o.answered for o in answerable) / len(answerable):.3f}",
            ]
        )
    await pool.knowledge.db.close()
    return rows


SMALL_STORE_ARTICLES = 4


def small_stores(lang_even: str, lang_odd: str) -> list[list[tuple[str, xquad.Paragraph]]]:
    """Stores of one paragraph from each of four consecutive articles: the n-th paragraph of
    articles 0-3, of 4-7, ...; even articles in ``lang_even``, odd ones in ``lang_odd``."""
    by_language = {
        language: {(p.article_index, p.paragraph_index): p for p in xquad.paragraphs(data)}
        for language, data in ((lang_even, xquad.load(lang_even)), (lang_odd, xquad.load(lang_odd)))
    }
    articles = sorted({article for article, _ in by_language[lang_even]})
    stores = []
    for first in range(0, len(articles) - SMALL_STORE_ARTICLES + 1, SMALL_STORE_ARTICLES):
        group = articles[first : first + SMALL_STORE_ARTICLES]
        for paragraph in itertools.count():
            store = []
            for article in group:
                language = lang_even if article % 2 == 0 else lang_odd
                found = by_language[language].get((article, paragraph))
                if found is not None:
                    store.append((language, found))
            if len(store) < SMALL_STORE_ARTICLES:
                break
            stores.append(store)
    return stores


async def small_setting(lang_even: str, lang_odd: str, encoders) -> list[list[str]]:
    """Every question of a stored paragraph, asked of its own small store."""
    questions = {
        language: xquad.questions(xquad.load(language)) for language in (lang_odd, lang_even)
    }
    outcomes: dict[str, list[xquad.Outcome]] = {language: [] for language in questions}
    stored_in: dict[int, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        for number, store in enumerate(small_stores(lang_even, lang_odd)):
            # In a fixed order, so the articles' ids, and any tie between them, are the same
            # in every run.
            sources = [
                (language, [p for lang, p in store if lang == language])
                for language in (lang_even, lang_odd)
            ]
            pool = await xquad.build_pool(Path(folder) / f"small-{number}.db", encoders, sources)
            keys = {(p.article_index, p.paragraph_index) for _, p in store}
            for language, items in questions.items():
                asked = [q for q in items if (q.article_index, q.paragraph_index) in keys]
                outcomes[language] += await xquad.run_questions(pool, asked)
            stored_in.update(pool.language_of_article)
            await pool.knowledge.db.close()
    rows = []
    for language, found in outcomes.items():
        cells = [
            f"{xquad.recall([o for o in found if stored_in[o.question.article_index] == stored], 1):.3f}"
            for stored in (lang_even, lang_odd)
        ]
        rows.append(
            [
                f"small stores, {language} questions",
                str(len(found)),
                f"{xquad.recall(found, 1):.3f}",
                *cells,
                f"{xquad.recall(found, 5):.3f}",
                f"{sum(not o.answered for o in found) / max(1, len(found)):.3f}",
            ]
        )
    return rows


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
        if setting not in ("store", "small"):
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
            "R@1",
            f"R@1, answer stored in {even}",
            f"R@1, answer stored in {odd}",
            "R@5",
            "unanswerable answered false",
            "answerable wrongly false",
        ],
        store_rows,
    )
    command = f"python benchmarks/eval_retrieval.py --settings {args.settings} --write"
    if parallel_rows or store_rows:
        report = f"{parallel}\n\n{store}\n"
        print(report)
        if args.write:
            write_section("retrieval", report, command)
    if "small" in settings:
        small_rows = await small_setting(even, odd, encoders)
        encoders.save()
        small = table(
            [
                "setting",
                "questions",
                "R@1",
                f"R@1, answer stored in {even}",
                f"R@1, answer stored in {odd}",
                "R@5",
                "answerable wrongly false",
            ],
            small_rows,
        )
        print(small)
        if args.write:
            write_section("retrieval-small", small + "\n", command)


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
