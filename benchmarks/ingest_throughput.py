"""Ingest throughput through ``Knowledge.add``, beside the encoders alone on the same texts.

Usage: python benchmarks/ingest_throughput.py [--articles 60] [--write]

Each article is an XQuAD-R paragraph (Arabic and English alternately) added to a fresh store with
the real encoders (no cache). The encoders' own speed is measured on exactly the texts ingestion
encodes (every fact, read alone and after its article's title, plus the new vocabulary words),
so "overhead" is everything ingestion does beyond encoding: extraction, normalisation,
stemming, SQLite, FTS5 and the matrix update.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import xquad
from eval_retrieval import write_section

from news.embed import Encoders
from news.extract import extract_facts
from news.ingest import ArticleDraft
from news.knowledge import Knowledge, content_words
from storage.db import Database


def drafts(count: int) -> list[ArticleDraft]:
    arabic = xquad.paragraphs(xquad.load("ar"))
    english = xquad.paragraphs(xquad.load("en"))
    mixed = [p for pair in zip(arabic, english, strict=True) for p in pair]
    languages = ["ar", "en"] * len(arabic)
    return [
        ArticleDraft(p.title, p.context, lang)  # type: ignore[arg-type]
        for p, lang in zip(mixed[:count], languages, strict=False)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    items = drafts(args.articles)
    encoders = Encoders()
    encoders.load()
    # First calls of each model pay for buffers; neither measurement below should.
    encoders.passages(["warm up", "تسخين"])
    encoders.words(["warm", "up"])

    # Encoders alone, on the same texts ingestion will encode.
    # Each fact is encoded as read alone and after its article's title (``Encoders.passages``).
    facts = [[f.text for f in extract_facts(d.body, d.language).facts] for d in items]
    seen: set[str] = set()
    vocab_batches = []
    for draft in items:
        words = [w for w in content_words(draft.body) if w not in seen]
        seen.update(words)
        vocab_batches.append(words)
    started = time.perf_counter()
    for draft, texts, words in zip(items, facts, vocab_batches, strict=True):
        encoders.passages(texts, draft.title)
        encoders.words(words)
    encode_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        async with Database(Path(folder) / "ingest.db") as db:
            knowledge = Knowledge(db, encoders)
            await knowledge.warm_up()
            started = time.perf_counter()
            for draft in items:
                await knowledge.add(draft)
            ingest_seconds = time.perf_counter() - started
            cursor = await db.connection.execute("SELECT COUNT(*) FROM sentences")
            sentences = (await cursor.fetchone())[0]
    fact_count = sum(len(f) for f in facts)
    rows = [
        [
            "ingest (Knowledge.add)",
            f"{len(items) / ingest_seconds:.2f}",
            f"{sentences / ingest_seconds:.1f}",
            f"{fact_count / ingest_seconds:.1f}",
            f"{ingest_seconds:.1f}",
        ],
        [
            "encoders alone, same texts",
            f"{len(items) / encode_seconds:.2f}",
            f"{sentences / encode_seconds:.1f}",
            f"{fact_count / encode_seconds:.1f}",
            f"{encode_seconds:.1f}",
        ],
    ]
    header = ["what", "articles/s", "sentences/s", "facts/s", "seconds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    overhead = ingest_seconds / encode_seconds - 1
    report = "\n".join(lines) + (
        f"\n\n{len(items)} articles, {sentences} sentences, "
        f"{fact_count} facts (sentences and clauses). "
        f"Overhead beyond encoding: {overhead:.1%}.\n"
    )
    print(report)
    if args.write:
        write_section(
            "ingest",
            report,
            f"python benchmarks/ingest_throughput.py --articles {args.articles} --write",
        )


if __name__ == "__main__":
    asyncio.run(main())
