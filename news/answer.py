"""Answer a question from the stored facts: retrieve by meaning and keywords, fuse, rank, abstain.

Scoring, per question:

1. Both encoders score every stored fact (cosine). Multilingual encoders give higher cosines to
   text in the question's own language, so each encoder's scores are standardised separately
   within each stored language; a sentence must stand out among its own language's sentences.
2. A sentence takes the better of its own score and its best clause's, so a long sentence that
   carries several facts is found through the clause that answers.
3. An article-level score (the question against the article's centroid) is added, so a fact
   whose sentence says "it" is still found through what its article is about.
4. BM25 over stemmed terms (and the article's title and key names) adds a keyword signal.
5. The answer is given only when the best sentence stands out enough (see ``RankWeights``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from news.embed import Embeddings

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class RankWeights:
    """Weights of the fused score and the abstention threshold.

    Chosen on XQuAD-R's other languages (never Arabic or English): see
    ``benchmarks/fit_weights.py`` and BENCHMARKS.md.
    """

    use: float = 0.5
    e5: float = 0.5
    clause: float = 0.5
    article: float = 0.35
    keywords: float = 0.6
    min_group_size: int = 30
    answer_threshold: float = 3.0


DEFAULT_WEIGHTS = RankWeights()


@dataclass(slots=True)
class FactMatrix:
    """The in-memory side of the index: every fact's vectors and grouping ids, row-aligned."""

    fact_ids: npt.NDArray[np.int64]
    sentence_ids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.int64]
    is_sentence: npt.NDArray[np.bool_]
    language_group: npt.NDArray[np.intp]
    use: FloatArray
    e5: FloatArray


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """One ranked sentence: its best fact (a clause or itself) and the fused score."""

    sentence_id: int
    article_id: int
    best_fact_id: int
    score: float


def standardise_by_language(
    scores: FloatArray, language_group: npt.NDArray[np.intp], min_size: int
) -> FloatArray:
    """z-score the scores within each stored language (the whole pool when a group is small)."""
    result = np.empty_like(scores)
    sizes = np.bincount(language_group)
    groups = [language_group == code for code in np.flatnonzero(sizes)]
    if len(groups) > 1 and sizes[sizes > 0].min() < min_size:
        groups = [np.ones(len(scores), np.bool_)]
    for group in groups:
        values = scores[group]
        result[group] = (values - values.mean()) / (values.std() + 1e-6)
    return result


def rank_sentences(
    matrix: FactMatrix,
    query: Embeddings,
    keyword_scores: dict[int, float],
    weights: RankWeights = DEFAULT_WEIGHTS,
) -> list[SentenceScore]:
    """Fuse all signals into one score per sentence, best first."""
    if len(matrix.fact_ids) == 0:
        return []
    use_z = standardise_by_language(matrix.use @ query.use[0], matrix.language_group, weights.min_group_size)
    e5_z = standardise_by_language(matrix.e5 @ query.e5[0], matrix.language_group, weights.min_group_size)
    fact_scores = weights.use * use_z + weights.e5 * e5_z

    sentence_codes, sentence_index = np.unique(matrix.sentence_ids, return_inverse=True)
    own = np.full(len(sentence_codes), -np.inf, np.float32)
    np.maximum.at(own, sentence_index[matrix.is_sentence], fact_scores[matrix.is_sentence])
    best = np.full(len(sentence_codes), -np.inf, np.float32)
    np.maximum.at(best, sentence_index, fact_scores)
    sentence_scores = (1 - weights.clause) * own + weights.clause * best

    sentence_scores += weights.article * _article_scores(matrix, query, sentence_index, len(sentence_codes), weights)
    if keyword_scores:
        sentence_scores += weights.keywords * _keyword_by_sentence(matrix, keyword_scores, sentence_index, len(sentence_codes))

    best_fact = _best_fact_per_sentence(fact_scores, sentence_index, len(sentence_codes))
    sentence_article = np.zeros(len(sentence_codes), np.int64)
    sentence_article[sentence_index] = matrix.article_ids
    order = np.argsort(-sentence_scores, kind="stable")
    return [
        SentenceScore(
            sentence_id=int(sentence_codes[i]),
            article_id=int(sentence_article[i]),
            best_fact_id=int(matrix.fact_ids[best_fact[i]]),
            score=float(sentence_scores[i]),
        )
        for i in order
    ]


def _article_scores(
    matrix: FactMatrix,
    query: Embeddings,
    sentence_index: npt.NDArray[np.intp],
    sentence_count: int,
    weights: RankWeights,
) -> FloatArray:
    """Each sentence's article centroid score, standardised by language like the facts."""
    article_codes, article_index = np.unique(matrix.article_ids, return_inverse=True)
    mask = matrix.is_sentence
    scores = np.zeros(len(article_codes), np.float32)
    for vectors, query_vector, weight in ((matrix.use, query.use[0], weights.use), (matrix.e5, query.e5[0], weights.e5)):
        centroids = np.zeros((len(article_codes), vectors.shape[1]), np.float32)
        np.add.at(centroids, article_index[mask], vectors[mask])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-6
        article_language = np.zeros(len(article_codes), np.intp)
        article_language[article_index[mask]] = matrix.language_group[mask]
        scores += weight * standardise_by_language(centroids @ query_vector, article_language, 4)
    per_sentence = np.zeros(sentence_count, np.float32)
    per_sentence[sentence_index] = scores[article_index]
    return per_sentence


def _keyword_by_sentence(
    matrix: FactMatrix,
    keyword_scores: dict[int, float],
    sentence_index: npt.NDArray[np.intp],
    sentence_count: int,
) -> FloatArray:
    """Best BM25 per sentence, scaled so the best match in the store is 1."""
    top = max(keyword_scores.values())
    per_fact = np.array([keyword_scores.get(int(fid), 0.0) for fid in matrix.fact_ids], np.float32)
    per_sentence = np.zeros(sentence_count, np.float32)
    np.maximum.at(per_sentence, sentence_index, per_fact / (top + 1e-6))
    return per_sentence


def _best_fact_per_sentence(
    fact_scores: FloatArray, sentence_index: npt.NDArray[np.intp], sentence_count: int
) -> npt.NDArray[np.intp]:
    order = np.lexsort((-fact_scores, sentence_index))
    first = np.ones(len(order), np.bool_)
    first[1:] = sentence_index[order][1:] != sentence_index[order][:-1]
    best = np.zeros(sentence_count, np.intp)
    best[sentence_index[order][first]] = order[first]
    return best
