"""Question latency on stores of 1,000 and 10,000 articles, beside its floor, and resident memory.

Usage: python benchmarks/question_latency.py [--sizes 1000,10000] [--questions 200] [--write]

After the questions, three short articles are added to the serving store, each followed by a
question: "add ms" is `Knowledge.add` (extraction, encoding, storing, and extending the
in-memory matrices), "next question ms" the question after it, "peak RSS MB" the most the
process held at any time, adds included.

Stores are built from XQuAD-R paragraphs (Arabic and English alternately). Each distinct
paragraph is extracted and encoded once; further copies reuse its facts and vectors (the search
is what is measured, not encoding). Every copy is a separate article with its own rows in SQLite,
FTS5 and the vector matrix.

The floor is what any answer must pay: encoding the question with both encoders, one FTS5 query
and one scan of every stored vector, one after the other; "e5 encoding" is e5's share of it
(e5 is the slower encoder, and a question cannot be answered before it has encoded it). Latency is `Knowledge.ask` end to end (top 5), which adds the
question's words (encoding and vocabulary match), standardising, fusion, word-level matching and
the second pass over the leading sentences, and loading the answer's rows.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import xquad
from eval_retrieval import write_section

from news.embed import Encoders
from news.ingest import ArticleDraft
from news.knowledge import Knowledge, content_words
from news.text import index_terms
from storage import search
from storage.articles import insert_article
from storage.db import Database


def rss_mb() -> float:
    """Current resident set size in MB (from /proc, Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


async def build_store(path: Path, size: int, encoders: xquad.CachedEncoders) -> Knowledge:
    paragraphs = []
    for language in ("ar", "en"):
        paragraphs.append([(language, p) for p in xquad.paragraphs(xquad.load(language))])
    mixed = [item for pair in zip(*paragraphs, strict=True) for item in pair]
    db = await Database(path).open()
    knowledge = Knowledge(db, encoders)
    records = []
    for language, paragraph in mixed:
        draft = ArticleDraft(paragraph.title, paragraph.context, language)  # type: ignore[arg-type]
        words = content_words(draft.body)
        known = await search.known_words(db, words)
        records.append(knowledge._prepare(draft, None, [w for w in words if w not in known], words))
    encoders.save()
    for copy in range(size):
        record = records[copy % len(records)]
        record = dataclasses.replace(
            record,
            title=f"{record.title} ({copy})",
            content_hash=f"{record.content_hash}-{copy}",
            new_terms=record.new_terms if copy < len(records) else (),
        )
        await insert_article(db, record)
    return knowledge


async def floor_once(knowledge: Knowledge, question: str) -> tuple[float, float]:
    """Seconds for the floor, and for e5's encoding of the question within it."""
    matrix = await knowledge._fact_matrix()
    started = time.perf_counter()
    use_vector = knowledge.encoders.words([question])[0]
    e5_started = time.perf_counter()
    e5_vector = knowledge.encoders.query_e5(question)[0]
    e5_seconds = time.perf_counter() - e5_started
    await search.keyword_scores(knowledge.db, index_terms(question))
    search.dot_products(matrix.use, use_vector)
    search.dot_products(matrix.e5, e5_vector)
    return time.perf_counter() - started, e5_seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(size: int, questions: list[str], encoders: xquad.CachedEncoders) -> list[str]:
    path = xquad.CACHE_DIR / f"latency-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    knowledge = await build_store(path, size, encoders)
    build_seconds = time.perf_counter() - started
    matrix = await knowledge._fact_matrix()
    facts = len(matrix.fact_ids)
    await knowledge.db.close()
    # Measure in a fresh process, as the bot runs: real encoders (nothing cached), the store
    # opened from disk, and resident memory that holds only what serving needs.
    measured = json.loads(
        subprocess.run(
            [sys.executable, __file__, "--serve", str(path), "--questions", str(len(questions))],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    p50, p95, f50, f95 = (measured[key] * 1000 for key in ("p50", "p95", "f50", "f95"))
    return [
        f"{size:,}",
        f"{facts:,}",
        f"{p50:.1f}",
        f"{p95:.1f}",
        f"{f50:.1f}",
        f"{f95:.1f}",
        f"{p50 / f50:.2f}",
        f"{measured['e5'] * 1000:.1f}",
        f"{measured['rss_ready']:.0f}",
        f"{measured['rss_after']:.0f}",
        f"{measured['add'] * 1000:.0f}",
        f"{measured['next_question'] * 1000:.0f}",
        f"{measured['rss_peak']:.0f}",
        f"{build_seconds:.0f}",
    ]


# Added while serving, after the questions: an admin's article arriving in a busy store.
ADDED_ARTICLES = [
    (
        "Parks budget",
        "The city council approved 12 million dollars for new parks on Monday. The mayor said "
        "that playgrounds would be built first, and that work would start in the spring.",
        "en",
    ),
    (
        "ميزانية الحدائق",
        "وافق مجلس المدينة يوم الاثنين على 12 مليون دولار لإنشاء حدائق جديدة. وقال رئيس البلدية "
        "إن الملاعب ستُبنى أولًا، وإن العمل سيبدأ في الربيع.",
        "ar",
    ),
    (
        "Library hours",
        "The public library will open on Sundays from next month. Its director said that "
        "visits had doubled since the reading room was rebuilt.",
        "en",
    ),
]


def peak_rss_mb() -> float:
    """Highest resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


async def serve(path: Path, questions: list[str]) -> None:
    """Open the store as the bot does, ask every question, print the figures as JSON.

    Then add a few articles, each followed by a question, as an admin would while chats ask.
    """
    async with Database(path) as db:
        knowledge = Knowledge(db, Encoders())
        await knowledge.warm_up()
        rss_ready = rss_mb()
        for question in questions[:5]:
            await knowledge.ask(question)
        latencies, floors, e5_encodings = [], [], []
        for question in questions:
            floor, e5_encoding = await floor_once(knowledge, question)
            floors.append(floor)
            e5_encodings.append(e5_encoding)
            started = time.perf_counter()
            await knowledge.ask(question)
            latencies.append(time.perf_counter() - started)
        rss_after = rss_mb()
        adds, next_questions = [], []
        for title, body, language in ADDED_ARTICLES:
            started = time.perf_counter()
            await knowledge.add(ArticleDraft(title, body, language))  # type: ignore[arg-type]
            adds.append(time.perf_counter() - started)
            started = time.perf_counter()
            await knowledge.ask(questions[len(adds)])
            next_questions.append(time.perf_counter() - started)
        print(
            json.dumps(
                {
                    "p50": statistics.median(latencies),
                    "p95": percentile(latencies, 0.95),
                    "f50": statistics.median(floors),
                    "f95": percentile(floors, 0.95),
                    "e5": statistics.median(e5_encodings),
                    "rss_ready": rss_ready,
                    "rss_after": rss_after,
                    "add": statistics.median(adds),
                    "next_question": statistics.median(next_questions),
                    "rss_peak": peak_rss_mb(),
                }
            )
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    english = [q.text for q in xquad.questions(xquad.load("en"))]
    arabic = [q.text for q in xquad.questions(xquad.load("ar"))]
    questions = [q for pair in zip(english, arabic, strict=True) for q in pair][: args.questions]
    if args.serve:
        await serve(Path(args.serve), questions)
        return
    encoders = xquad.CachedEncoders(xquad.CACHE_DIR / "vectors.npz")
    rows = [await measure(int(size), questions, encoders) for size in args.sizes.split(",")]
    header = [
        "articles",
        "facts",
        "p50 ms",
        "p95 ms",
        "floor p50 ms",
        "floor p95 ms",
        "p50 / floor",
        "e5 encoding p50 ms",
        "RSS MB ready",
        "RSS MB after asking",
        "add ms",
        "next question ms",
        "peak RSS MB",
        "build s",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        write_section(
            "latency",
            report,
            "python benchmarks/question_latency.py "
            f"--sizes {args.sizes} --questions {args.questions} --write",
        )


if __name__ == "__main__":
    asyncio.run(main())
