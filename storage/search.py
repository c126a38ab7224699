"""Keyword search (FTS5 BM25) and loading the fact vectors for the in-memory scan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storage.db import Database

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
    is_sentence: npt.NDArray[np.bool_]
    languages: list[str]
    use: npt.NDArray[np.float32]
    e5: npt.NDArray[np.float32]


async def load_vectors(db: Database, after_fact_id: int = 0) -> VectorRows:
    """Vectors of facts with id greater than ``after_fact_id``, in id order."""
    cursor = await db.connection.execute(
        "SELECT f.id, f.sentence_id, f.article_id, f.is_sentence, f.language, "
        "v.use_vector, v.e5_vector FROM facts f JOIN fact_vectors v ON v.fact_id = f.id "
        "WHERE f.id > ? ORDER BY f.id",
        (after_fact_id,),
    )
    rows = list(await cursor.fetchall())
    count = len(rows)
    use = np.empty((count, 512), np.float32)
    e5 = np.empty((count, 384), np.float32)
    for index, row in enumerate(rows):
        use[index] = np.frombuffer(row[5], np.float16)
        e5[index] = np.frombuffer(row[6], np.float16)
    return VectorRows(
        fact_ids=np.fromiter((row[0] for row in rows), np.int64, count),
        sentence_ids=np.fromiter((row[1] for row in rows), np.int64, count),
        article_ids=np.fromiter((row[2] for row in rows), np.int64, count),
        is_sentence=np.fromiter((bool(row[3]) for row in rows), np.bool_, count),
        languages=[row[4] for row in rows],
        use=use,
        e5=e5,
    )
