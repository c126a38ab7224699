"""Keyword search (FTS5 BM25) and loading the fact vectors for the in-memory scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import simsimd

from storage.db import Database

Floats = npt.NDArray[np.float32]
Halves = npt.NDArray[np.float16]
Rows = TypeVar("Rows", Floats, npt.NDArray[np.int8])  # vectors and scales, codes


@dataclass(frozen=True, slots=True)
class Codes:
    """Unit vectors held as int8 codes with one scale per row: row i is codes[i] * scales[i].

    The fact vectors are stored as float16; in memory they are held as codes, a quarter of
    float32's memory and half of float16's (66 MB less at 10,000 articles). A scan reads half
    as many bytes, and SimSIMD's int8 products take about a third of the time of its float16
    ones on this machine (BENCHMARKS.md, "latency"). Rounding moves a cosine by about 3e-4.
    """

    codes: npt.NDArray[np.int8]  # (rows, dims)
    scales: Floats  # (rows,)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, rows: slice | npt.NDArray[np.intp]) -> Codes:
        return Codes(self.codes[rows], self.scales[rows])

    def floats(self, rows: slice | npt.NDArray[np.intp]) -> Floats:
        """The given rows as float32 vectors."""
        values: Floats = self.codes[rows].astype(np.float32) * self.scales[rows, None]
        return values


def quantise(rows: Floats | Halves) -> Codes:
    """Each row as int8 codes scaled so that its largest component is 127 (or -127)."""
    values = np.asarray(rows, np.float32)
    largest = np.abs(values).max(axis=1) if values.size else np.zeros(len(values), np.float32)
    scales = np.where(largest > 0, largest / 127.0, 1.0).astype(np.float32)
    codes = np.rint(values / scales[:, None]).astype(np.int8)
    return Codes(codes, scales)


def append_codes(head: Codes, tail: Codes) -> Codes:
    """``head``'s rows followed by ``tail``'s (see ``append_rows``)."""
    return Codes(append_rows(head.codes, tail.codes), append_rows(head.scales, tail.scales))


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
    use: Codes
    e5: Codes


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
    use = _empty_codes(capacity, 512)
    e5 = _empty_codes(capacity, 384)
    languages: list[str] = []
    index = 0
    while fetched := await cursor.fetchmany(2000):
        # Rows added since the count are left for the next load.
        rows = list(fetched)[: count - index]
        chunk = slice(index, index + len(rows))
        for row in rows:
            ids[index] = row[0:3]
            languages.append(row[3])
            flags[index] = row[6:9]
            index += 1
        _write_codes(use, chunk, [row[4] for row in rows])
        _write_codes(e5, chunk, [row[5] for row in rows])
    return VectorRows(
        fact_ids=ids[:index, 0].copy(),
        sentence_ids=ids[:index, 1].copy(),
        article_ids=ids[:index, 2].copy(),
        languages=languages,
        flags=flags[:index],
        use=use[:index],
        e5=e5[:index],
    )


def vector_blobs(rows: Floats) -> list[bytes]:
    """Vectors as they are stored: each row's float16 bytes."""
    return [row.tobytes() for row in np.asarray(rows, np.float16)]


def stored_rows(blobs: list[bytes]) -> Halves:
    """Stored vectors (``vector_blobs``, at least one) as the rows of a float16 matrix."""
    return np.stack([np.frombuffer(blob, np.float16) for blob in blobs])


def _empty_codes(rows: int, dims: int) -> Codes:
    return Codes(np.empty((rows, dims), np.int8), np.empty(rows, np.float32))


def _write_codes(target: Codes, rows: slice, blobs: list[bytes]) -> None:
    """Quantise stored float16 vectors into ``target``'s rows."""
    if blobs:
        found = quantise(stored_rows(blobs))
        target.codes[rows] = found.codes
        target.scales[rows] = found.scales


def dot_products(vectors: Codes, query: Floats, threads: int = 1) -> Floats:
    """Each row's dot product with ``query`` (a cosine, for unit vectors), in float32.

    The question's vector is quantised too, and SimSIMD multiplies the codes (releasing the
    GIL); numpy has no fast int8 or float16 product. Both roundings together move a cosine by
    about 3e-4.
    """
    if len(vectors) == 0:
        return np.zeros(0, np.float32)
    question = quantise(np.asarray(query, np.float32)[None])
    # No ``out=``: SimSIMD 6.5 returns None from that path without owning a reference to it,
    # and on Python 3.11 every call then takes one from None until the process crashes.
    products = simsimd.cdist(
        question.codes, vectors.codes, metric="dot", out_dtype="float32", threads=threads
    )
    found: Floats = np.asarray(products, dtype=np.float32)[0] * vectors.scales
    found *= question.scales[0]
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
        and buffer.shape[1:] == head.shape[1:]
        and buffer.dtype == head.dtype
        and len(buffer) >= rows
        and buffer.flags.c_contiguous
        and head.ctypes.data == buffer.ctypes.data  # head is the buffer's leading rows
    ):
        buffer[len(head) : rows] = tail
        return buffer[:rows]
    grown = np.empty((rows + max(1024, rows // 8), *head.shape[1:]), head.dtype)
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
