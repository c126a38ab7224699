"""Keyword search (FTS5 BM25) and loading the fact vectors for the in-memory scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import simsimd

from storage.db import Database

Floats = npt.NDArray[np.float32]
# Fact vectors stay float16 in memory, as they are stored: half the memory of float32 (131 MB
# less at 10,000 articles), and a scan reads half as many bytes.
Halves = npt.NDArray[np.float16]
Rows = TypeVar("Rows", Floats, Halves)

# Weight of a term match in the fact itself versus in its article's context (title, key names).
_BM25_WEIGHTS = (1.0, 0.35)


def match_expression(terms: list[str]) -> str:
    """An FTS5 MATCH string that ORs the terms, each quoted so no user text acts as syntax."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in dict.fromkeys(terms) if term]
    return " OR ".join(quoted)


async def keyword_scores(db: Database, terms: list[str], limit: int = 400) -> dict[int, float]:
    """BM25 relevance of matching facts, larger is better (FTS5's bm25 is negated)."""
    expression = match_expression(terms)
    if not expression:
        return {}
    cursor = await db.connection.execute(
        "SELECT rowid, -bm25(facts_fts, ?, ?) FROM facts_fts WHERE facts_fts MATCH ? "
        "ORDER BY bm25(facts_fts, ?, ?) LIMIT ?",
        (*_BM25_WEIGHTS, expression, *_BM25_WEIGHTS, limit),
    )
    return {int(row[0]): float(row[1]) for row in await cursor.fetchall()}


@dataclass(slots=True)
class VectorRows:
    """All fact vectors with the ids needed to group them, row-aligned."""

    fact_ids: npt.NDArray[np.int64]
    sentence_ids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.int64]
    languages: list[str]
    flags: npt.NDArray[np.bool_]  # (facts, 3): carries a figure, a date, a named speaker
    use: Halves
    e5: Halves


async def load_vectors(db: Database, after_fact_id: int = 0, headroom: float = 0.0) -> VectorRows:
    """Vectors of facts with id greater than ``after_fact_id``, in id order.

    With ``headroom``, the vector arrays are views of buffers with that share more rows (at
    least 1,024), allocated but not written, so not resident: facts added later are written
    into them (``news.answer.concatenate``) rather than every stored vector being copied.
    """
    cursor = await db.connection.execute(
        "SELECT f.id, f.sentence_id, f.article_id, f.language, "
        "v.use_vector, v.e5_vector, f.numbers != '[]', f.dates != '[]', f.speaker IS NOT NULL "
        "FROM facts f JOIN fact_vectors v ON v.fact_id = f.id "
        "WHERE f.id > ? ORDER BY f.id",
        (after_fact_id,),
    )
    counted = await db.connection.execute(
        "SELECT COUNT(*) FROM facts WHERE id > ?", (after_fact_id,)
    )
    count = int((await counted.fetchone() or (0,))[0])
    # Filled chunk by chunk: holding every row's blobs at once would double the peak memory,
    # and the allocator keeps that peak resident long after.
    ids = np.empty((count, 3), np.int64)
    flags = np.empty((count, 3), np.bool_)
    capacity = count + (max(1024, int(count * headroom)) if headroom else 0)
    use = np.empty((capacity, 512), np.float16)
    e5 = np.empty((capacity, 384), np.float16)
    languages: list[str] = []
    index = 0
    while rows := await cursor.fetchmany(2000):
        for row in rows:
            if index == count:  # rows added since the count: the next load takes them
                break
            ids[index] = row[0:3]
            languages.append(row[3])
            use[index] = np.frombuffer(row[4], np.float16)
            e5[index] = np.frombuffer(row[5], np.float16)
            flags[index] = row[6:9]
            index += 1
    return VectorRows(
        fact_ids=ids[:index, 0].copy(),
        sentence_ids=ids[:index, 1].copy(),
        article_ids=ids[:index, 2].copy(),
        languages=languages,
        flags=flags[:index],
        use=use[:index],
        e5=e5[:index],
    )


def dot_products(vectors: Rows, query: Floats, threads: int = 1) -> Floats:
    """Each row's dot product with ``query`` (a cosine, for unit vectors), in float32.

    numpy has no fast float16 product (it would convert the whole matrix first), so SimSIMD's
    kernels do it, accumulating in float32 and releasing the GIL. The question's vector is
    rounded to the rows' type; for float16 that moves a cosine by about 1e-4.
    """
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    row = np.ascontiguousarray(query, dtype=vectors.dtype)[None]
    # No ``out=``: SimSIMD 6.5 returns None from that path without owning a reference to it,
    # and on Python 3.11 every call then takes one from None until the process crashes.
    products = simsimd.cdist(row, vectors, metric="dot", out_dtype="float32", threads=threads)
    found: Floats = np.asarray(products, dtype=np.float32)[0]
    return found


def append_rows(head: Rows, tail: Rows) -> Rows:
    """``head``'s rows followed by ``tail``'s, without copying ``head`` when its buffer has room.

    ``head`` may be the leading rows of a larger buffer (``storage.search.load_vectors`` with
    headroom): ``tail`` is then written just after them and a longer view returned. Copying
    every fact vector instead took 0.3 to 0.6 s per article added at 10,000 articles and
    briefly doubled the fact matrix (then 263 MB, in float32). Only the newest view of a
    buffer may be extended (the knowledge base appends under its lock to its current
    matrices): an older, shorter view would write over rows a newer one holds. Without room,
    a buffer an eighth larger is made.
    """
    rows = len(head) + len(tail)
    buffer = head.base
    if (
        isinstance(buffer, np.ndarray)
        and buffer.ndim == 2
        and buffer.shape[1] == head.shape[1]
        and buffer.dtype == head.dtype
        and len(buffer) >= rows
        and buffer.flags.c_contiguous
        and head.ctypes.data == buffer.ctypes.data  # head is the buffer's leading rows
    ):
        buffer[len(head) : rows] = tail
        return buffer[:rows]
    grown = np.empty((rows + max(1024, rows // 8), head.shape[1]), head.dtype)
    grown[: len(head)] = head
    grown[len(head) : rows] = tail
    return grown[:rows]


async def known_words(db: Database, words: list[str]) -> set[str]:
    """Which of these words already have a vector in the vocabulary."""
    found: set[str] = set()
    for start in range(0, len(words), 500):
        chunk = words[start : start + 500]
        marks = ",".join("?" * len(chunk))
        cursor = await db.connection.execute(
            f"SELECT word FROM terms WHERE word IN ({marks})", chunk
        )
        found.update(row[0] for row in await cursor.fetchall())
    return found


@dataclass(slots=True)
class TermRows:
    """The vocabulary's word vectors (USE), for mapping question words across languages."""

    ids: npt.NDArray[np.int64]
    words: list[str]
    stems: list[str]
    is_arabic: npt.NDArray[np.bool_]
    article_counts: npt.NDArray[np.float32]  # in how many articles each word occurs
    vectors: npt.NDArray[np.float32]
    row_of_word: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.row_of_word:
            self.row_of_word = {word: row for row, word in enumerate(self.words)}


async def load_terms(db: Database, after_id: int = 0, headroom: float = 0.0) -> TermRows:
    """Vocabulary rows with id greater than ``after_id`` (``headroom`` as in ``load_vectors``)."""
    cursor = await db.connection.execute(
        "SELECT id, stem, is_arabic, use_vector, word, articles FROM terms WHERE id > ? "
        "ORDER BY id",
        (after_id,),
    )
    rows = list(await cursor.fetchall())
    capacity = len(rows) + (max(1024, int(len(rows) * headroom)) if headroom else 0)
    vectors = np.empty((capacity, 512), np.float32)
    for index, row in enumerate(rows):
        vectors[index] = np.frombuffer(row[3], np.float16)
    return TermRows(
        ids=np.fromiter((row[0] for row in rows), np.int64, len(rows)),
        words=[row[4] for row in rows],
        stems=[row[1] for row in rows],
        is_arabic=np.fromiter((bool(row[2]) for row in rows), np.bool_, len(rows)),
        article_counts=np.fromiter((row[5] for row in rows), np.float32, len(rows)),
        vectors=vectors[: len(rows)],
    )


def concatenate_terms(first: TermRows, second: TermRows) -> TermRows:
    """Rows of ``first`` followed by rows of ``second``."""
    return TermRows(
        ids=np.concatenate([first.ids, second.ids]),
        words=first.words + second.words,
        stems=first.stems + second.stems,
        is_arabic=np.concatenate([first.is_arabic, second.is_arabic]),
        article_counts=np.concatenate([first.article_counts, second.article_counts]),
        vectors=append_rows(first.vectors, second.vectors),
    )


async def articles_matching(db: Database, terms: list[str], article_ids: list[int]) -> set[int]:
    """Which of these articles have a fact (or title / key name) matching any of the terms."""
    expression = match_expression(terms)
    if not expression or not article_ids:
        return set()
    marks = ",".join("?" * len(article_ids))
    cursor = await db.connection.execute(
        "SELECT DISTINCT f.article_id FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid "
        f"WHERE facts_fts MATCH ? AND f.article_id IN ({marks})",
        (expression, *article_ids),
    )
    return {int(row[0]) for row in await cursor.fetchall()}
