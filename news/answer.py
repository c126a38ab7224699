"""Answer a question from the stored facts: retrieve by meaning and keywords, fuse, rank, abstain.

Scoring, per question:

1. Both encoders score every stored fact (cosine). Multilingual encoders give higher cosines to
   text in the question's own language, so each encoder's scores are standardised separately
   within each stored language: a sentence must stand out among its own language's sentences.
2. A sentence takes the better of its own score and its best clause's, so a long sentence that
   carries several facts is found through the clause that answers.
3. An article-level score (the question against the article's centroid) is added, so a fact
   whose sentence says "it" is still found through what its article is about.
4. BM25 over stemmed terms (and the article's title and key names) adds a keyword signal.
5. The leading sentences are re-scored by word-level meaning overlap: each question word's best
   USE word-vector similarity to the sentence's words, weighted by rarity (``soft_match``).
   This is what most separates the answer from its neighbours in the same article, and it
   works across languages, where plain keywords cannot.
6. The answer is given only when a logistic rule over how far the best sentence stands out says
   so (``is_answer``); otherwise the reply says so and offers the closest articles.

The signals are computed once (``sentence_signals``) and fused by ``fuse``, so the weights can be
fitted on other languages' data without recomputing anything (benchmarks/fit_weights.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from news.embed import Embeddings

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class RankWeights:
    """Weights of the fused score and the abstention threshold.

    Fitted on XQuAD-R's other languages, never Arabic or English (benchmarks/fit_weights.py).
    """

    use: float = 0.3
    clause: float = 0.25
    article: float = 0.75
    keywords: float = 0.3
    translated: float = 0.0
    translation_min_similarity: float = 0.6
    translations_per_word: int = 3
    kind: float = 0.0
    soft: float = 1.0
    soft_candidates: int = 30
    # Logistic rule over ``answer_features``, fitted on two mixed stores (Russian/German and
    # Spanish/Russian, asked in English and both stored languages). The bias sits 0.9 above the
    # fitted one: the least strict rule that refused 80% of those stores' unanswerable
    # questions (it wrongly refused 10% of the answerable ones) (benchmarks/fit_weights.py
    # --rounds 0 --store-only --more-stores es,ru).
    abstain_coefficients: tuple[float, ...] = (
        0.2784,
        -0.2334,
        0.1616,
        0.1398,
        0.6436,
        0.3559,
        0.2765,
        -1.7693,
        24.3315,
        -1.8968,
        6.0135,
    )
    abstain_bias: float = -26.6751
    min_group_size: int = 30
    # Typical cosine (mean, std) of a question with any stored fact / article centroid, for
    # USE and e5, measured on the fitting languages; small stores lean on them.
    fact_priors: tuple[tuple[float, float], tuple[float, float]] = (
        (0.0272, 0.0698),
        (0.7233, 0.0305),
    )
    article_priors: tuple[tuple[float, float], tuple[float, float]] = (
        (0.04, 0.0769),
        (0.7688, 0.032),
    )
    prior_strength: float = 100.0


DEFAULT_WEIGHTS = RankWeights()


@dataclass(slots=True)
class FactMatrix:
    """The in-memory side of the index: every fact's vectors and grouping ids, row-aligned.

    Rows are in fact-id order, so each sentence's facts (the sentence, then its clauses) are
    contiguous; ``layout`` derives the per-sentence and per-article structure once, not per
    question.
    """

    fact_ids: npt.NDArray[np.int64]
    sentence_ids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.int64]
    is_sentence: npt.NDArray[np.bool_]
    language_group: IntArray
    flags: npt.NDArray[np.bool_]  # (facts, 3): carries a figure, a date, a named speaker
    use: FloatArray
    e5: FloatArray
    _layout: Layout | None = None

    @property
    def layout(self) -> Layout:
        """Derived structure, computed on first use."""
        if self._layout is None:
            self._layout = Layout.of(self)
        return self._layout


@dataclass(frozen=True, slots=True)
class Layout:
    """Per-sentence and per-article structure of a ``FactMatrix`` (query-independent)."""

    sentence_starts: IntArray  # first fact row of each sentence
    sentence_of_fact: IntArray  # sentence index of each fact row
    fact_ids: npt.NDArray[np.int64]  # ascending, so a fact's row is found by binary search
    article_of_sentence: IntArray  # article index of each sentence
    article_language: IntArray  # language group of each article (of its first sentence)
    centroids: tuple[FloatArray, FloatArray]  # normalised mean sentence vector per article

    @property
    def article_count(self) -> int:
        """How many articles the matrix holds."""
        return len(self.article_language)

    @staticmethod
    def of(matrix: FactMatrix) -> Layout:
        """Derive the layout."""
        count = len(matrix.fact_ids)
        changes = np.ones(count, np.bool_)
        changes[1:] = matrix.sentence_ids[1:] != matrix.sentence_ids[:-1]
        starts = np.flatnonzero(changes)
        sentence_of_fact = (np.cumsum(changes) - 1).astype(np.intp)
        article_codes, article_index = np.unique(matrix.article_ids[starts], return_inverse=True)
        first_sentence = np.zeros(len(article_codes), np.intp)
        first_sentence[article_index[::-1]] = np.arange(len(starts))[::-1]
        centroids = []
        for vectors in (matrix.use, matrix.e5):
            sums = np.zeros((len(article_codes), vectors.shape[1]), np.float32)
            np.add.at(sums, article_index, vectors[starts])
            sums /= np.linalg.norm(sums, axis=1, keepdims=True) + 1e-6
            centroids.append(sums)
        return Layout(
            sentence_starts=starts,
            sentence_of_fact=sentence_of_fact,
            fact_ids=matrix.fact_ids,
            article_of_sentence=article_index.astype(np.intp),
            article_language=matrix.language_group[starts[first_sentence]],
            centroids=(centroids[0], centroids[1]),
        )


@dataclass(slots=True)
class SentenceSignals:
    """Per-sentence scores of one question, before fusion (all arrays are sentence-aligned)."""

    sentence_ids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.int64]
    own: FloatArray  # (2, n): the sentence's own standardised cosine, USE and e5
    best: FloatArray  # (2, n): the best of the sentence and its clauses
    article: FloatArray  # (2, n): the article centroid's standardised cosine
    raw_best: FloatArray  # (2, n): the best raw cosine of the sentence and its clauses
    same_language: npt.NDArray[np.bool_]  # (n,): sentence stored in the question's language
    keywords: FloatArray  # (n,): BM25, scaled so the best in the store is 1
    translated: FloatArray  # (n,): BM25 of the question's words mapped to the other language
    kind_match: FloatArray  # (n,): 1 when the sentence carries what the question type asks for
    soft: FloatArray  # (n,): word-level meaning overlap, standardised over the candidates
    soft_raw: FloatArray  # (n,): the same overlap unstandardised (0 outside the candidates)
    fact_z: FloatArray  # (2, facts): per-fact standardised cosines, to pick the fact to quote
    fact_keywords: FloatArray  # (facts,): per-fact scaled BM25 plus translated BM25
    fact_sentence: IntArray  # (facts,): index of each fact's sentence in the arrays above
    fact_ids: npt.NDArray[np.int64]  # (facts,)


@dataclass(frozen=True, slots=True)
class SentenceScore:
    """One ranked sentence: its best fact (a clause or itself) and the fused score."""

    sentence_id: int
    article_id: int
    best_fact_id: int
    score: float


_ASKS_FIGURE = re.compile(
    r"\b(?:how (?:many|much|large|big|long|far|old|high)|what (?:percent|percentage|number|share)"
    r"|number of|amount of)\b|\bكم\b"
    r"|(?:^|\s)(?:ما|ماذا)\s+(?:عدد|نسبة|حجم|قيمة|مقدار)|\bعدد\b|\bنسبة\b",
    re.IGNORECASE,
)
_ASKS_DATE = re.compile(
    r"\b(?:when|what (?:year|date|day|month|century|decade)"
    r"|which (?:year|date|day|month|century))\b"
    r"|(?:^|\s)متى(?:\s|$|؟)|في أي (?:عام|سنة|يوم|شهر|قرن)|(?:^|\s)(?:ما|في)\s+(?:عام|سنة|تاريخ)",
    re.IGNORECASE,
)
_ASKS_SPEAKER = re.compile(
    r"\b(?:claim\w*|said|say|says|according|stated?|told|announc\w+|argue\w*|who)\b"
    r"|(?:^|\s)(?:من|ماذا قال|بحسب|وفق\S*|ادع\S*|زعم\S*|صرح\S*|قال\S*|يقول|أعلن\S*)(?:\s|$|؟)",
    re.IGNORECASE,
)


def question_kinds(question: str) -> tuple[bool, bool, bool]:
    """Whether the question asks for a figure, a date, or who said something."""
    return (
        bool(_ASKS_FIGURE.search(question)),
        bool(_ASKS_DATE.search(question)),
        bool(_ASKS_SPEAKER.search(question)),
    )


def standardise_by_language(
    scores: FloatArray,
    language_group: IntArray,
    min_size: int,
    prior: tuple[float, float] = (0.0, 1.0),
    prior_strength: float = 0.0,
) -> FloatArray:
    """z-score the scores within each stored language (the whole pool when a group is small).

    The mean and spread are shrunk toward ``prior`` as if ``prior_strength`` typical scores had
    been seen too: in a store of a few articles the sample alone is too small to say what an
    ordinary score is, and every z-score would be squeezed toward zero.
    """
    result = np.empty_like(scores)
    sizes = np.bincount(language_group)
    groups = [language_group == code for code in np.flatnonzero(sizes)]
    if len(groups) > 1 and sizes[sizes > 0].min() < min_size:
        groups = [np.ones(len(scores), np.bool_)]
    prior_mean, prior_std = prior
    for group in groups:
        values = scores[group]
        count = len(values) + prior_strength
        mean = (values.sum() + prior_strength * prior_mean) / count
        spread = ((values - mean) ** 2).sum() + prior_strength * (
            prior_std**2 + (prior_mean - mean) ** 2
        )
        result[group] = (values - mean) / (np.sqrt(spread / count) + 1e-6)
    return result


def sentence_signals(
    matrix: FactMatrix,
    query: Embeddings,
    keyword_scores: dict[int, float],
    translated_scores: dict[int, float],
    question_kinds: tuple[bool, bool, bool] = (False, False, False),
    weights: RankWeights = DEFAULT_WEIGHTS,
    question_language_group: int = -1,
) -> SentenceSignals:
    """Every signal for every sentence of the store."""
    layout = matrix.layout
    starts = layout.sentence_starts
    count = len(starts)
    own = np.empty((2, count), np.float32)
    best = np.empty((2, count), np.float32)
    fact_z = np.empty((2, len(matrix.fact_ids)), np.float32)
    article = np.empty((2, count), np.float32)
    raw_best = np.empty((2, count), np.float32)
    encoders = ((matrix.use, query.use[0]), (matrix.e5, query.e5[0]))
    for row, (vectors, query_vector) in enumerate(encoders):
        cosines = vectors @ query_vector
        raw_best[row] = np.maximum.reduceat(cosines, starts)
        z = standardise_by_language(
            cosines,
            matrix.language_group,
            weights.min_group_size,
            weights.fact_priors[row],
            weights.prior_strength,
        )
        fact_z[row] = z
        own[row] = z[starts]  # a sentence's own fact comes first in its rows
        best[row] = np.maximum.reduceat(z, starts)
        by_article = standardise_by_language(
            layout.centroids[row] @ query_vector,
            layout.article_language,
            4,
            weights.article_priors[row],
            weights.prior_strength / 10,
        )
        article[row] = by_article[layout.article_of_sentence]
    fact_keywords = _scaled(layout, keyword_scores, len(matrix.fact_ids))
    fact_translated = _scaled(layout, translated_scores, len(matrix.fact_ids))
    fact_match = (matrix.flags & np.array(question_kinds, np.bool_)).any(axis=1)
    return SentenceSignals(
        sentence_ids=matrix.sentence_ids[starts],
        article_ids=matrix.article_ids[starts],
        own=own,
        best=best,
        article=article,
        raw_best=raw_best,
        same_language=matrix.language_group[starts] == question_language_group,
        keywords=np.maximum.reduceat(fact_keywords, starts),
        translated=np.maximum.reduceat(fact_translated, starts),
        kind_match=np.maximum.reduceat(fact_match.astype(np.float32), starts),
        soft=np.zeros(count, np.float32),  # filled in for the leading candidates by the caller
        soft_raw=np.zeros(count, np.float32),
        fact_z=fact_z,
        fact_keywords=fact_keywords + fact_translated,
        fact_sentence=layout.sentence_of_fact,
        fact_ids=matrix.fact_ids,
    )


def _scaled(layout: Layout, scores: dict[int, float], count: int) -> FloatArray:
    """Per-fact BM25, scaled so the best match in the store is 1 (0 where nothing matched)."""
    result = np.zeros(count, np.float32)
    if scores:
        wanted = np.fromiter(scores.keys(), np.int64, len(scores))
        values = np.fromiter(scores.values(), np.float32, len(scores))
        rows = np.searchsorted(layout.fact_ids, wanted)
        # Facts stored after the matrix was loaded are not in it (yet): skip them.
        known = (rows < len(layout.fact_ids)) & (
            layout.fact_ids[np.minimum(rows, count - 1)] == wanted
        )
        result[rows[known]] = values[known] / (values.max() + 1e-6)
    return result


def fuse(signals: SentenceSignals, weights: RankWeights) -> FloatArray:
    """One score per sentence from the signals."""
    mix = np.array([weights.use, 1.0 - weights.use], np.float32)[:, None]
    facts = (1 - weights.clause) * signals.own + weights.clause * signals.best
    score = (mix * facts).sum(axis=0)
    score += weights.article * (mix * signals.article).sum(axis=0)
    score += weights.keywords * signals.keywords
    score += weights.translated * signals.translated
    score += weights.kind * signals.kind_match
    score += weights.soft * signals.soft
    fused: FloatArray = score.astype(np.float32)
    return fused


def top_indices(scores: FloatArray, count: int) -> IntArray:
    """Indices of the ``count`` largest scores, largest first (no full sort)."""
    count = min(count, len(scores))
    if count == 0:
        return np.zeros(0, np.intp)
    part = np.argpartition(-scores, count - 1)[:count]
    return part[np.argsort(-scores[part], kind="stable")]


def rank(
    signals: SentenceSignals,
    weights: RankWeights,
    limit: int = 5,
    scores: FloatArray | None = None,
) -> list[SentenceScore]:
    """The ``limit`` best sentences, best first, each with the fact to quote.

    ``scores`` is ``fuse(signals, weights)`` when the caller already has it.
    """
    scores = fuse(signals, weights) if scores is None else scores
    top = top_indices(scores, limit)
    # The fact quoted is the clause (or the sentence itself) whose own fused score is best.
    keyword_weight = (weights.keywords + weights.translated) / 2
    ranked = []
    for i in top:
        first = int(np.searchsorted(signals.fact_sentence, i, side="left"))
        last = int(np.searchsorted(signals.fact_sentence, i, side="right"))
        rows = slice(first, last)
        fact_scores = (
            weights.use * signals.fact_z[0, rows]
            + (1 - weights.use) * signals.fact_z[1, rows]
            + keyword_weight * signals.fact_keywords[rows]
        )
        ranked.append(
            SentenceScore(
                sentence_id=int(signals.sentence_ids[i]),
                article_id=int(signals.article_ids[i]),
                best_fact_id=int(signals.fact_ids[first + int(np.argmax(fact_scores))]),
                score=float(scores[i]),
            )
        )
    return ranked


def answer_features(
    signals: SentenceSignals, weights: RankWeights, scores: FloatArray | None = None
) -> npt.NDArray[np.float64]:
    """What says whether the best sentence answers: how high it scores and how far it stands out.

    [fused score, its lead over the runner-up, its lead over the mean of the top ten, its best
    encoder agreement (min of the two encoders' clause-level z), its article's score, its
    keyword and translated-keyword matches, its raw USE and e5 cosines (which do not shrink
    with a small store as z-scores do), whether it is in the question's language (raw
    cosines run higher within one language), and its raw word-level overlap with the question]

    ``scores`` is ``fuse(signals, weights)`` when the caller already has it.
    """
    scores = fuse(signals, weights) if scores is None else scores
    order = top_indices(scores, 10)
    top = order[0]
    runner_up = scores[order[1]] if len(order) > 1 else scores[top] - 1.0
    top_ten = scores[order[:10]].mean()
    return np.array(
        [
            scores[top],
            scores[top] - runner_up,
            scores[top] - top_ten,
            signals.best[:, top].min(),
            signals.article[:, top].mean(),
            signals.keywords[top],
            signals.translated[top],
            signals.raw_best[0, top],
            signals.raw_best[1, top],
            float(signals.same_language[top]),
            signals.soft_raw[top],
        ],
        np.float64,
    )


def is_answer(
    signals: SentenceSignals, weights: RankWeights, scores: FloatArray | None = None
) -> bool:
    """Whether the best sentence is an answer, by the logistic rule fitted on other languages."""
    features = answer_features(signals, weights, scores)
    logit = float(features @ np.array(weights.abstain_coefficients))
    return logit + weights.abstain_bias >= 0.0


def soft_match(
    question_vectors: FloatArray,
    word_weights: npt.NDArray[np.float64],
    candidate_rows: list[list[int]],
    term_vectors: FloatArray,
) -> FloatArray:
    """Word-level meaning overlap of each candidate sentence with the question.

    The weighted mean, over question words, of each word's best similarity to any of the
    sentence's words (rows of ``term_vectors``).
    """
    scores = np.zeros(len(candidate_rows), np.float32)
    for index, rows in enumerate(candidate_rows):
        if rows:
            best = (question_vectors @ term_vectors[rows].T).max(axis=1)
            scores[index] = float(best @ word_weights)
    return scores


def spread(raw: FloatArray, candidates: IntArray, count: int) -> FloatArray:
    """Candidates' scores standardised among themselves; everyone else gets the lowest."""
    z = (raw - raw.mean()) / (raw.std() + 1e-6)
    result = np.full(count, float(z.min()) if len(z) else 0.0, np.float32)
    result[candidates] = z
    return result


def concatenate(first: FactMatrix, second: FactMatrix) -> FactMatrix:
    """Rows of ``first`` followed by rows of ``second``."""
    return FactMatrix(
        fact_ids=np.concatenate([first.fact_ids, second.fact_ids]),
        sentence_ids=np.concatenate([first.sentence_ids, second.sentence_ids]),
        article_ids=np.concatenate([first.article_ids, second.article_ids]),
        is_sentence=np.concatenate([first.is_sentence, second.is_sentence]),
        language_group=np.concatenate([first.language_group, second.language_group]),
        flags=np.concatenate([first.flags, second.flags]),
        use=np.concatenate([first.use, second.use]),
        e5=np.concatenate([first.e5, second.e5]),
    )
