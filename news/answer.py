"""Answer a question from the stored facts: retrieve by meaning and keywords, fuse, rank, abstain.

Scoring, per question:

1. Both encoders score every stored fact (cosine; a fact is encoded as read alone and after its
   article's title, see ``news.embed.Encoders.passages``). Multilingual encoders give higher
   cosines to text in the question's own language, so each encoder's scores are standardised
   separately within each stored language: a sentence must stand out among its own language's
   sentences.
2. A sentence takes the better of its own score and its best clause's, so a long sentence that
   carries several facts is found through the clause that answers.
3. An article-level score (the question against the article's centroid) is added, so a fact
   whose sentence says "it" is still found through what its article is about.
4. BM25 over stemmed terms (and the article's title and key names) adds a keyword signal.
5. The 30 leading sentences of this first pass are scored again by word-level meaning overlap:
   each question word's best USE word-vector similarity to the sentence's words, weighted by
   rarity (``soft_match``). This works across languages, where plain keywords cannot. The
   same overlap is measured again with the article's title and key names added to the
   sentence's words, for sentences that leave out what their article is about.
6. A second pass ranks those candidates with a small network (``news.ranker``: a linear part
   and eight tanh units) over ``RERANK_FEATURES``: the signals above, how much of the question
   the sentence covers, whether it carries the figure or date the question asks for, and how
   it compares with its article's best candidate (most remaining errors pick a neighbour of
   the answer in the same article).
7. The answer is given only when a logistic rule over how far the best sentence stands out says
   so (``is_answer``): rules fitted on stores of about 20, 125 and 1,000 sentences, mixed by
   the store's size; otherwise the reply says so and offers the closest articles.

The signals are computed once (``sentence_signals``), so the weights can be fitted on other
languages' data without recomputing anything (benchmarks/fit_weights.py).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from news.ranker import Ranker, shipped_ranker
from storage.search import Codes, append_codes, dot_products

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.intp]


# What the second pass weighs for each candidate sentence (``candidate_features``).
RERANK_FEATURES = (
    "own USE z",
    "own e5 z",
    "best clause USE z",
    "best clause e5 z",
    "article USE z",
    "article e5 z",
    "keywords",
    "soft match z",
    "soft match raw",
    "USE cosine lead",
    "e5 cosine lead",
    "same language",
    "figure asked and carried",
    "date asked and carried",
    "speaker asked and carried",
    "first pass z",
    "first pass minus article's best",
    "soft match minus article's best",
    "best clause e5 z minus article's best",
    "keywords minus article's best",
    "log word count",
    "first sentence",
    "soft coverage",
    "strong soft coverage",
    "exact coverage",
    "soft match raw with context",
    "strong soft coverage with context",
    "exact coverage with context",
)


@dataclass(frozen=True, slots=True)
class AbstentionRule:
    """A logistic rule over ``answer_features`` fitted on stores of about ``sentences`` sentences.

    Its threshold is part of ``bias``: a logit of 0 or more answers.
    """

    sentences: int
    coefficients: tuple[float, ...]
    bias: float

    def logit(self, features: npt.NDArray[np.float64]) -> float:
        """The rule's log-odds that the best sentence answers."""
        return float(features @ np.array(self.coefficients)) + self.bias


# Whether the best sentence answers, for stores of about 20 sentences (four short articles), 125
# and 1,000 (200 paragraphs). Fitted by benchmarks/fit_weights.py on mixed Russian/German and
# Spanish/Russian stores asked in English and both stored languages; each bias holds the least
# strict threshold (steps of 0.25) that refused 80% of its stores' unanswerable questions (those
# of articles not stored). One rule for every size refused more answerable questions in small
# stores, where the best sentence stands out less from the few others.
ABSTENTION_RULES = (
    AbstentionRule(
        21,
        (
            0.3215, -0.0292, 0.1283, 0.4098, 1.23, 0.1372,
            1.1549, 27.7614, -3.5066, 6.2623, 1.0107,
        ),
        -6.4929,
    ),
    AbstentionRule(
        125,
        (
            0.3512, -0.0639, 0.3668, 0.2708, 1.1032, 0.0896,
            -0.935, 38.3172, -2.5335, 6.0309, 0.7014,
        ),
        -8.4908,
    ),
    AbstentionRule(
        1032,
        (
            0.4539, -0.1849, 0.3583, -0.1993, 0.6726, 0.1444,
            -1.6813, 34.3266, -0.8179, 3.9174, 0.0969,
        ),
        -7.41,
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RankWeights:
    """Weights of the fused score and the abstention threshold.

    Fitted on XQuAD-R's other languages, never Arabic or English (benchmarks/fit_weights.py).
    """

    use: float = 0.3
    clause: float = 0.25
    article: float = 0.75
    keywords: float = 0.3
    translation_min_similarity: float = 0.6
    translations_per_word: int = 3
    kind: float = 0.0
    soft: float = 1.0
    # Choosing which fact of a sentence to quote: a clause carrying the figure, date or speaker
    # the question asks for is preferred by this much (in z units).
    quote_kind: float = 1.0
    soft_candidates: int = 30
    strong_similarity: float = 0.8  # word vectors this close are nearly the same word
    # Logistic rules over ``answer_features``, one per store size (``answer_logit``).
    abstention: tuple[AbstentionRule, ...] = ABSTENTION_RULES
    # An answer also quotes the runner-up when it comes from the same article and trails the
    # best by at most this much of the final score (``quote_count``): the largest step of 0.25
    # at which, over the fitting languages' answered questions, the runner-up so quoted was the
    # answer at least one time in four (benchmarks/fit_weights.py).
    second_quote_margin: float = 0.5
    # Second pass over the leading candidates (``news/ranker.json``, fitted on Russian, German
    # and Spanish pools and stores by benchmarks/fit_weights.py). None: the first pass's fused
    # score ranks them.
    ranker: Ranker | None = field(default_factory=shipped_ranker)
    min_group_size: int = 30
    # Typical cosine (mean, std) of a question with any stored fact / article centroid, for
    # USE and e5, measured on the fitting languages; small stores lean on them.
    fact_priors: tuple[tuple[float, float], tuple[float, float]] = (
        (0.0306, 0.0698),
        (0.7262, 0.0303),
    )
    article_priors: tuple[tuple[float, float], tuple[float, float]] = (
        (0.0436, 0.0787),
        (0.769, 0.0318),
    )
    prior_strength: float = 100.0

    def __post_init__(self) -> None:
        """Refuse a ranker fitted on other features than this code computes."""
        if self.ranker is not None and self.ranker.features != RERANK_FEATURES:
            raise ValueError("the ranker was fitted on other features; refit it")


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
    language_group: IntArray
    flags: npt.NDArray[np.bool_]  # (facts, 3): carries a figure, a date, a named speaker
    use: Codes  # int8 codes (``storage.search.Codes``), which ``dot_products`` scans
    e5: Codes
    _layout: Layout | None = None
    # The layout of this matrix's leading rows when they are whole articles, every later row
    # belonging to a newer article (``concatenate``): its articles' norms are reused.
    _prefix_layout: Layout | None = None

    @property
    def layout(self) -> Layout:
        """Derived structure, computed on first use."""
        if self._layout is None:
            self._layout = Layout.of(self, self._prefix_layout)
            self._prefix_layout = None  # its arrays are no longer needed
        return self._layout


@dataclass(frozen=True, slots=True)
class Layout:
    """Per-sentence and per-article structure of a ``FactMatrix`` (query-independent)."""

    sentence_starts: IntArray  # first fact row of each sentence
    sentence_ids: npt.NDArray[np.int64]  # id of each sentence
    sentence_article_ids: npt.NDArray[np.int64]  # article id of each sentence
    sentence_language: IntArray  # language group of each sentence
    article_ids: npt.NDArray[np.int64]  # id of each article, ascending
    sentence_of_fact: IntArray  # sentence index of each fact row
    fact_ids: npt.NDArray[np.int64]  # ascending, so a fact's row is found by binary search
    article_of_sentence: IntArray  # article index of each sentence
    article_language: IntArray  # language group of each article (of its first sentence)
    # Length of each article's summed sentence vectors, per encoder (2, articles). An article's
    # centroid is that sum normalised, so a question's cosine with it is the sum of its
    # sentences' cosines over this length: no centroid matrix has to be kept or scanned.
    article_norms: FloatArray
    fact_groups: LanguageGroups  # stored language of each fact row
    # Each sentence's clause rows, as steps: step j holds the sentences with more than j clauses
    # and the row of their j-th clause (see ``sentence_max``).
    clause_steps: tuple[tuple[IntArray, IntArray], ...]
    sentence_flags: npt.NDArray[np.bool_]  # (sentences, 3): any fact carries a figure/date/speaker
    sentence_position: IntArray  # position of each sentence in its article (0: first)
    article_groups: LanguageGroups  # stored language of each article

    @property
    def article_count(self) -> int:
        """How many articles the matrix holds."""
        return len(self.article_language)

    def article_cosines(self, row: int, sentence_cosines: FloatArray) -> FloatArray:
        """Each article centroid's cosine with the question, from its sentences' cosines."""
        sums = np.bincount(
            self.article_of_sentence, weights=sentence_cosines, minlength=self.article_count
        )
        cosines: FloatArray = (sums / self.article_norms[row]).astype(np.float32)
        return cosines

    def sentence_max(self, values: FloatArray) -> FloatArray:
        """Each sentence's largest value over its rows (the sentence itself and its clauses).

        Most sentences have one or two rows; stepping through the clauses by their position
        takes a third of the time of ``np.maximum.reduceat`` over every row.
        """
        best = values[self.sentence_starts]
        for sentences, rows in self.clause_steps:
            best[sentences] = np.maximum(best[sentences], values[rows])
        return best

    @staticmethod
    def of(matrix: FactMatrix, prefix: Layout | None = None) -> Layout:
        """Derive the layout.

        ``prefix``, when given, is the layout of the matrix's leading rows, which must hold
        whole articles with no rows of theirs further down: their summed-vector lengths, the
        bulk of this work, are taken from it rather than summed again.
        """
        count = len(matrix.fact_ids)
        changes = np.ones(count, np.bool_)
        changes[1:] = matrix.sentence_ids[1:] != matrix.sentence_ids[:-1]
        starts = np.flatnonzero(changes)
        sentence_of_fact = (np.cumsum(changes) - 1).astype(np.intp)
        article_codes, article_index = np.unique(matrix.article_ids[starts], return_inverse=True)
        first_sentence = np.zeros(len(article_codes), np.intp)
        first_sentence[article_index[::-1]] = np.arange(len(starts))[::-1]
        norms = _article_norms(matrix, starts, article_codes, article_index, prefix)
        article_language = matrix.language_group[starts[first_sentence]]
        return Layout(
            sentence_starts=starts,
            sentence_ids=matrix.sentence_ids[starts],
            sentence_article_ids=matrix.article_ids[starts],
            sentence_language=matrix.language_group[starts],
            article_ids=article_codes,
            sentence_of_fact=sentence_of_fact,
            fact_ids=matrix.fact_ids,
            article_of_sentence=article_index.astype(np.intp),
            article_language=article_language,
            article_norms=norms,
            fact_groups=LanguageGroups.of(matrix.language_group),
            clause_steps=_clause_steps(starts, count),
            sentence_flags=np.maximum.reduceat(matrix.flags, starts, axis=0)
            if count
            else np.zeros((0, 3), np.bool_),
            sentence_position=np.arange(len(starts)) - first_sentence[article_index],
            article_groups=LanguageGroups.of(article_language),
        )


def _article_norms(
    matrix: FactMatrix,
    starts: IntArray,
    article_codes: npt.NDArray[np.int64],
    article_index: IntArray,
    prefix: Layout | None,
) -> FloatArray:
    """(2, articles): each article's summed sentence vector length, for USE and e5.

    Articles that ``prefix`` holds keep its lengths; only the others' sentences are summed.
    """
    known = 0
    if prefix is not None:
        known = len(prefix.article_ids)
        if not np.array_equal(prefix.article_ids, article_codes[:known]):
            raise ValueError("the prefix layout's articles do not lead this matrix")
    new_sentences = article_index >= known
    new_norms = np.stack(
        [
            _summed_norms(
                vectors,
                starts[new_sentences],
                article_index[new_sentences] - known,
                len(article_codes) - known,
            )
            for vectors in (matrix.use, matrix.e5)
        ]
    )
    if prefix is None:
        return new_norms
    return np.concatenate([prefix.article_norms, new_norms], axis=1)


def _summed_norms(
    vectors: Codes, starts: IntArray, article_index: IntArray, articles: int
) -> FloatArray:
    """Length of the sum of each article's sentence vectors.

    Summed by position in the article: the first sentence of every article at once, then the
    second, and so on. Each step gathers at most one row per article, so no full-size copy is
    made, and it is many times faster than ``np.add.at`` or ``np.add.reduceat`` over rows.
    """
    sums = np.zeros((articles, vectors.codes.shape[1]), np.float32)
    order = np.argsort(article_index, kind="stable")  # each article's sentences, together
    owner = article_index[order]
    run_starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(order) else order
    lengths = np.diff(np.r_[run_starts, len(order)])
    chunk = 2048  # articles per step: keeps each step's temporaries to a few MB
    for position in range(int(lengths.max(initial=0))):
        present = run_starts[lengths > position]
        for first in range(0, len(present), chunk):
            runs = present[first : first + chunk]
            sums[owner[runs]] += vectors.floats(starts[order[runs + position]])
    norms: FloatArray = (np.sqrt(np.einsum("ij,ij->i", sums, sums)) + 1e-6).astype(np.float32)
    return norms


@dataclass(frozen=True, slots=True)
class LanguageGroups:
    """Which stored language each row belongs to, as dense codes, and how many rows each has."""

    code: IntArray  # (rows,): 0 .. languages - 1
    sizes: IntArray  # (languages,)
    indicator: FloatArray  # (languages, rows): 1 where the row is in the language, else 0

    @staticmethod
    def of(language_group: IntArray) -> LanguageGroups:
        """Groups from each row's language group id."""
        present, code = np.unique(language_group, return_inverse=True)
        indicator = (np.arange(len(present))[:, None] == code[None, :]).astype(np.float32)
        return LanguageGroups(
            code.astype(np.intp), np.bincount(code, minlength=len(present)), indicator
        )

    @staticmethod
    def pooled(rows: int) -> LanguageGroups:
        """Every row in one group."""
        return LanguageGroups(
            np.zeros(rows, np.intp), np.array([rows], np.intp), np.ones((1, rows), np.float32)
        )


def _clause_steps(starts: IntArray, count: int) -> tuple[tuple[IntArray, IntArray], ...]:
    """For ``Layout.sentence_max``: per clause position, its sentences and their rows."""
    rows_per_sentence = np.diff(np.r_[starts, count])
    steps = []
    for step in range(1, int(rows_per_sentence.max(initial=1))):
        sentences = np.flatnonzero(rows_per_sentence > step)
        steps.append((sentences, starts[sentences] + step))
    return tuple(steps)


@dataclass(slots=True)
class SentenceSignals:
    """Per-sentence scores of one question, before fusion (all arrays are sentence-aligned)."""

    sentence_ids: npt.NDArray[np.int64]
    article_ids: npt.NDArray[np.int64]
    own: FloatArray  # (2, n): the sentence's own standardised cosine, USE and e5
    best: FloatArray  # (2, n): the best of the sentence and its clauses
    article: FloatArray  # (2, n): the article centroid's standardised cosine
    raw_lead: FloatArray  # (2, n): see ``EncoderScores.raw_lead``
    same_language: npt.NDArray[np.bool_]  # (n,): sentence stored in the question's language
    keywords: FloatArray  # (n,): BM25, scaled so the best in the store is 1
    kind_matches: FloatArray  # (n, 3): figure, date and speaker asked for and carried
    soft: FloatArray  # (n,): word-level meaning overlap, standardised over the candidates
    soft_raw: FloatArray  # (n,): the same overlap unstandardised (0 outside the candidates)
    fact_z: FloatArray  # (2, facts): per-fact standardised cosines, to pick the fact to quote
    fact_keywords: FloatArray  # (facts,): per-fact scaled BM25
    fact_flags: npt.NDArray[np.bool_]  # (facts, 3): the matrix's figure/date/speaker flags
    asked: npt.NDArray[np.bool_]  # (3,): whether the question asks for a figure/date/speaker
    fact_sentence: IntArray  # (facts,): index of each fact's sentence in the arrays above
    fact_ids: npt.NDArray[np.int64]  # (facts,)
    position: IntArray  # (n,): the sentence's position in its article (0: first)
    # Word-level matches, filled in by the caller for the candidates (0 elsewhere).
    soft_coverage: FloatArray  # (n,): share of the question with a close word in the sentence
    strong_coverage: FloatArray  # (n,): share with a nearly identical word
    exact_coverage: FloatArray  # (n,): share with the same stem
    word_counts: FloatArray  # (n,): distinct words of the sentence
    # The same matches against the sentence's words plus its article's title and key names,
    # since a sentence often leaves out what its article is about ("it" for the model).
    context_soft_raw: FloatArray  # (n,)
    context_strong_coverage: FloatArray  # (n,)
    context_exact_coverage: FloatArray  # (n,)
    # The leading sentences of the first pass and its scores (``set_candidates``).
    candidates: IntArray = field(default_factory=lambda: np.zeros(0, np.intp))
    first_pass: FloatArray = field(default_factory=lambda: np.zeros(0, np.float32))


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
    groups: LanguageGroups,
    min_size: int,
    prior: tuple[float, float] = (0.0, 1.0),
    prior_strength: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """z-score the scores within each stored language (the whole pool when a group is small).

    The mean and spread are shrunk toward ``prior`` as if ``prior_strength`` typical scores
    had been seen too: in a store of a few articles the sample alone is too small to say what
    an ordinary score is, and every z-score would be squeezed toward zero. Returns the
    z-scores and, per row, the mean used.
    """
    if len(groups.sizes) > 1 and groups.sizes.min() < min_size:
        groups = LanguageGroups.pooled(len(scores))
    prior_mean, prior_std = prior
    count = groups.sizes + prior_strength
    # Group sums as products with 0/1 rows: one pass each, and no gathering of rows by group.
    mean = (groups.indicator @ scores + prior_strength * prior_mean) / count
    means = mean.astype(np.float32)[groups.code]
    centred = scores - means
    spread = groups.indicator @ (centred * centred) + prior_strength * (
        prior_std**2 + (prior_mean - mean) ** 2
    )
    std = (np.sqrt(spread / count) + 1e-6).astype(np.float32)
    standardised: FloatArray = centred / std[groups.code]
    return standardised, means


@dataclass(frozen=True, slots=True)
class EncoderScores:
    """One encoder's scores of a question against every stored fact and sentence."""

    fact_z: FloatArray  # (facts,): cosine standardised within the fact's stored language
    own: FloatArray  # (sentences,): the sentence's own standardised cosine
    best: FloatArray  # (sentences,): the best of the sentence and its clauses
    article: FloatArray  # (sentences,): the sentence's article centroid, standardised
    # (sentences,): the best raw cosine of the sentence and its clauses, less the question's
    # mean cosine with the facts of that stored language. Unlike a z-score it does not shrink
    # in a small store; unlike a raw cosine it does not carry how high one language's
    # cosines run.
    raw_lead: FloatArray


def encoder_scores(
    matrix: FactMatrix,
    encoder: int,
    query_vector: FloatArray,
    weights: RankWeights = DEFAULT_WEIGHTS,
    cosines: FloatArray | None = None,
) -> EncoderScores:
    """Score every fact with one encoder (0: USE, 1: e5); ``query_vector`` is its (dims,) vector.

    The two encoders are scored separately so the caller can score with USE while e5 is still
    encoding the question. ``cosines`` is the question's cosine with every fact when the
    caller has already computed it (see ``news.knowledge.scan``).
    """
    layout = matrix.layout
    starts = layout.sentence_starts
    if cosines is None:
        cosines = dot_products(matrix.use if encoder == 0 else matrix.e5, query_vector)
    z, means = standardise_by_language(
        cosines,
        layout.fact_groups,
        weights.min_group_size,
        weights.fact_priors[encoder],
        weights.prior_strength,
    )
    by_article, _ = standardise_by_language(
        layout.article_cosines(encoder, cosines[starts]),
        layout.article_groups,
        4,
        weights.article_priors[encoder],
        weights.prior_strength / 10,
    )
    return EncoderScores(
        fact_z=z,
        own=z[starts],  # a sentence's own fact comes first in its rows
        best=layout.sentence_max(z),
        article=by_article[layout.article_of_sentence],
        raw_lead=layout.sentence_max(cosines) - means[starts],
    )


def sentence_signals(
    matrix: FactMatrix,
    scores: tuple[EncoderScores, EncoderScores],
    keyword_scores: dict[int, float],
    question_kinds: tuple[bool, bool, bool] = (False, False, False),
    question_language_group: int = -1,
) -> SentenceSignals:
    """Every signal for every sentence of the store, from both encoders' scores and BM25."""
    use, e5 = scores
    signals = signals_before_e5(
        matrix, use, keyword_scores, question_kinds, question_language_group
    )
    add_e5(signals, e5)
    return signals


def signals_before_e5(
    matrix: FactMatrix,
    use: EncoderScores,
    keyword_scores: dict[int, float],
    question_kinds: tuple[bool, bool, bool] = (False, False, False),
    question_language_group: int = -1,
) -> SentenceSignals:
    """Every signal but e5's, whose rows (index 1 of the two-row arrays) ``add_e5`` fills in.

    e5 encodes a question more slowly than everything else runs, so the rest is assembled
    while it encodes and only e5's own rows wait for it.
    """
    layout = matrix.layout
    starts = layout.sentence_starts
    count = len(starts)
    fact_keywords = _scaled(layout, keyword_scores, len(matrix.fact_ids))
    # A sentence's keyword score is its best fact's; few facts match, so only they are visited.
    matched = np.flatnonzero(fact_keywords)
    keywords = np.zeros(count, np.float32)
    np.maximum.at(keywords, layout.sentence_of_fact[matched], fact_keywords[matched])
    asked = np.array(question_kinds, np.bool_)

    def by_encoder(first: FloatArray) -> FloatArray:
        both = np.full((2, len(first)), np.nan, np.float32)  # NaN until e5's row is filled
        both[0] = first
        return both

    return SentenceSignals(
        sentence_ids=layout.sentence_ids,
        article_ids=layout.sentence_article_ids,
        own=by_encoder(use.own),
        best=by_encoder(use.best),
        article=by_encoder(use.article),
        raw_lead=by_encoder(use.raw_lead),
        same_language=layout.sentence_language == question_language_group,
        keywords=keywords,
        kind_matches=(layout.sentence_flags & asked).astype(np.float32),
        soft=np.zeros(count, np.float32),  # filled in for the leading candidates by the caller
        soft_raw=np.zeros(count, np.float32),
        fact_z=by_encoder(use.fact_z),
        fact_keywords=fact_keywords,
        fact_flags=matrix.flags,
        asked=asked,
        fact_sentence=layout.sentence_of_fact,
        fact_ids=matrix.fact_ids,
        position=layout.sentence_position,
        soft_coverage=np.zeros(count, np.float32),
        strong_coverage=np.zeros(count, np.float32),
        exact_coverage=np.zeros(count, np.float32),
        word_counts=np.zeros(count, np.float32),
        context_soft_raw=np.zeros(count, np.float32),
        context_strong_coverage=np.zeros(count, np.float32),
        context_exact_coverage=np.zeros(count, np.float32),
    )


def add_e5(signals: SentenceSignals, e5: EncoderScores) -> None:
    """Fill in e5's rows of signals from ``signals_before_e5``."""
    signals.own[1] = e5.own
    signals.best[1] = e5.best
    signals.article[1] = e5.article
    signals.raw_lead[1] = e5.raw_lead
    signals.fact_z[1] = e5.fact_z


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
    # Written out per encoder: numpy's reductions over a short axis are slow at this size.
    use, e5 = weights.use, 1.0 - weights.use
    own, best, article = signals.own, signals.best, signals.article
    facts = (1 - weights.clause) * own + weights.clause * best
    score = use * (facts[0] + weights.article * article[0])
    score += e5 * (facts[1] + weights.article * article[1])
    score += weights.keywords * signals.keywords
    if weights.kind:
        score += weights.kind * signals.kind_matches.max(axis=1)
    score += weights.soft * signals.soft
    fused: FloatArray = score.astype(np.float32, copy=False)
    return fused


def top_indices(scores: FloatArray, count: int) -> IntArray:
    """Indices of the ``count`` largest scores, largest first (no full sort)."""
    count = min(count, len(scores))
    if count == 0:
        return np.zeros(0, np.intp)
    part = np.argpartition(-scores, count - 1)[:count]
    return part[np.argsort(-scores[part], kind="stable")]


def leading(
    signals: SentenceSignals, weights: RankWeights, scores: FloatArray, count: int
) -> IntArray:
    """Indices of the ``count`` best ``final_scores``, best first.

    When the second pass has ranked the candidates, every other sentence scores below them
    (``final_scores``), so only the candidates need sorting, not every stored sentence.
    """
    candidates = signals.candidates
    if weights.ranker is not None and count <= len(candidates):
        return candidates[top_indices(scores[candidates], count)]
    return top_indices(scores, count)


def rank(
    signals: SentenceSignals,
    weights: RankWeights,
    limit: int = 5,
    scores: FloatArray | None = None,
) -> list[SentenceScore]:
    """The ``limit`` best sentences, best first, each with the fact to quote.

    ``scores`` is ``final_scores(signals, weights)`` when the caller already has it.
    """
    scores = final_scores(signals, weights) if scores is None else scores
    top = leading(signals, weights, scores, limit)
    # The fact quoted is the clause (or the sentence itself) whose own fused score is best,
    # preferring one that carries what the question asks for (a figure, a date, a speaker).
    keyword_weight = weights.keywords / 2
    ranked = []
    for i in top:
        first = int(np.searchsorted(signals.fact_sentence, i, side="left"))
        last = int(np.searchsorted(signals.fact_sentence, i, side="right"))
        rows = slice(first, last)
        fact_scores = (
            weights.use * signals.fact_z[0, rows]
            + (1 - weights.use) * signals.fact_z[1, rows]
            + keyword_weight * signals.fact_keywords[rows]
            + weights.quote_kind * np.any(signals.fact_flags[rows] & signals.asked, axis=1)
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


def quote_count(article_ids: list[int], scores: list[float], margin: float) -> int:
    """How many of the leading sentences an answer quotes (``RankWeights.second_quote_margin``).

    The best one, and the runner-up too when it is from the same article and scores within
    ``margin`` of the best: most wrong first answers are a neighbour of the right sentence in
    the right article, scoring close to it, and quoting both then shows the answer more often
    at the cost of a line.
    """
    if not article_ids:
        return 0
    close_neighbour = (
        len(article_ids) > 1
        and article_ids[1] == article_ids[0]
        and scores[0] - scores[1] <= margin
    )
    return 2 if close_neighbour else 1


def set_candidates(signals: SentenceSignals, weights: RankWeights) -> IntArray:
    """Choose the leading sentences of the first pass, which the second pass re-scores."""
    signals.first_pass = fuse(signals, weights)
    signals.candidates = top_indices(signals.first_pass, weights.soft_candidates)
    return signals.candidates


def candidate_features(signals: SentenceSignals) -> npt.NDArray[np.float64]:
    """(candidates, len(RERANK_FEATURES)): what the second pass weighs, per candidate.

    Most of the remaining errors pick another sentence of the right article, so several
    features say how a candidate compares with its article's best candidate.
    """
    c = signals.candidates
    first = signals.first_pass[c]
    first_z = (first - first.mean()) / (first.std() + 1e-6)
    columns = [
        signals.own[0, c],
        signals.own[1, c],
        signals.best[0, c],
        signals.best[1, c],
        signals.article[0, c],
        signals.article[1, c],
        signals.keywords[c],
        signals.soft[c],
        signals.soft_raw[c],
        signals.raw_lead[0, c],
        signals.raw_lead[1, c],
        signals.same_language[c].astype(np.float32),
        signals.kind_matches[c, 0],
        signals.kind_matches[c, 1],
        signals.kind_matches[c, 2],
        first_z,
        _minus_article_best(first_z, signals.article_ids[c]),
        _minus_article_best(signals.soft_raw[c], signals.article_ids[c]),
        _minus_article_best(signals.best[1, c], signals.article_ids[c]),
        _minus_article_best(signals.keywords[c], signals.article_ids[c]),
        np.log1p(signals.word_counts[c]),
        (signals.position[c] == 0).astype(np.float32),
        signals.soft_coverage[c],
        signals.strong_coverage[c],
        signals.exact_coverage[c],
        signals.context_soft_raw[c],
        signals.context_strong_coverage[c],
        signals.context_exact_coverage[c],
    ]
    return np.stack(columns, axis=1).astype(np.float64)


def _minus_article_best(values: FloatArray, article_ids: npt.NDArray[np.int64]) -> FloatArray:
    """Each value minus the largest value among the candidates of the same article."""
    _, group = np.unique(article_ids, return_inverse=True)
    best = np.full(group.max() + 1 if len(group) else 0, -np.inf, np.float64)
    np.maximum.at(best, group, values)
    result: FloatArray = (values - best[group]).astype(np.float32)
    return result


def final_scores(signals: SentenceSignals, weights: RankWeights) -> FloatArray:
    """One score per sentence: the second pass for the candidates, the first for the rest.

    The candidates are ranked by ``weights.ranker`` over ``candidate_features`` (fitted on
    other languages); every other sentence ranks below them, in first-pass order. Without a
    ranker (or candidates), the fused score is used as it is.
    """
    candidates = signals.candidates
    if weights.ranker is None or len(candidates) == 0:
        return fuse(signals, weights)
    learned = weights.ranker.score(candidate_features(signals))
    scores = np.empty_like(signals.first_pass)
    others = np.ones(len(scores), np.bool_)
    others[candidates] = False
    if others.any():
        rest = signals.first_pass[others]
        scores[others] = learned.min() - 1.0 + (rest - rest.max()) * 1e-3
    scores[candidates] = learned
    return scores


def answer_features(
    signals: SentenceSignals, weights: RankWeights, scores: FloatArray | None = None
) -> npt.NDArray[np.float64]:
    """What says whether the best sentence answers: how high it scores and how far it stands out.

    [final score, its lead over the runner-up, its lead over the mean of the top ten, its best
    encoder agreement (min of the two encoders' clause-level z), its article's score, its
    keyword match, its USE and e5 cosine leads (``EncoderScores.raw_lead``), whether it is
    in the question's language (cosines run higher within one language), its raw word-level
    overlap with the question and how much of the question that overlap covers]

    ``scores`` is ``final_scores(signals, weights)`` when the caller already has it.
    """
    scores = final_scores(signals, weights) if scores is None else scores
    order = leading(signals, weights, scores, 10)
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
            signals.raw_lead[0, top],
            signals.raw_lead[1, top],
            float(signals.same_language[top]),
            signals.soft_raw[top],
            signals.soft_coverage[top],
        ],
        np.float64,
    )


def is_answer(
    signals: SentenceSignals, weights: RankWeights, scores: FloatArray | None = None
) -> bool:
    """Whether the best sentence is an answer, by the rules fitted on other languages."""
    features = answer_features(signals, weights, scores)
    return answer_logit(features, weights.abstention, len(signals.sentence_ids)) >= 0.0


def answer_logit(
    features: npt.NDArray[np.float64], rules: tuple[AbstentionRule, ...], sentences: int
) -> float:
    """The rules' logit for a store of ``sentences`` sentences.

    Between two rules' sizes their logits are mixed linearly in log(sentences); beyond the
    smallest or largest size that rule alone decides, since no store further out was fitted.
    """
    ordered = sorted(rules, key=lambda rule: rule.sentences)
    size = np.log(max(sentences, 1))
    for smaller, larger in itertools.pairwise(ordered):
        low, high = np.log(smaller.sentences), np.log(larger.sentences)
        if size < high:
            share = float(np.clip((size - low) / (high - low), 0.0, 1.0))
            return (1 - share) * smaller.logit(features) + share * larger.logit(features)
    return ordered[-1].logit(features)


def soft_match(
    question_vectors: FloatArray,
    word_weights: npt.NDArray[np.float64],
    candidate_rows: list[list[int]],
    term_vectors: FloatArray,
    close: float,
    strong: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Word-level meaning overlap of each candidate sentence with the question.

    Each question word takes its best similarity to any of the sentence's words (rows of
    ``term_vectors``). Returns, per candidate, the weighted mean of those similarities and
    the weighted shares of question words with a ``close`` and a ``strong`` match.
    """
    scores = np.zeros(len(candidate_rows), np.float32)
    close_share = np.zeros(len(candidate_rows), np.float32)
    strong_share = np.zeros(len(candidate_rows), np.float32)
    for index, rows in enumerate(candidate_rows):
        if rows:
            best = (question_vectors @ term_vectors[rows].T).max(axis=1)
            scores[index] = float(best @ word_weights)
            close_share[index] = float((best >= close) @ word_weights)
            strong_share[index] = float((best >= strong) @ word_weights)
    return scores, close_share, strong_share


def spread(raw: FloatArray, candidates: IntArray, count: int) -> FloatArray:
    """Candidates' scores standardised among themselves; everyone else gets the lowest."""
    z = (raw - raw.mean()) / (raw.std() + 1e-6)
    result = np.full(count, float(z.min()) if len(z) else 0.0, np.float32)
    result[candidates] = z
    return result


def concatenate(first: FactMatrix, second: FactMatrix) -> FactMatrix:
    """Rows of ``first`` followed by rows of ``second``.

    The vectors, nearly all of the matrix's memory, are written after ``first``'s rows when
    its buffer has room (``storage.search.append_rows``); the small per-row arrays are copied.
    When ``second`` holds only articles newer than ``first``'s (as an added article's rows
    are) and ``first``'s layout has been derived, it is handed on, so deriving the new one
    does not redo its articles.
    """
    only_newer_articles = (
        len(first.article_ids) > 0
        and len(second.article_ids) > 0
        and int(second.article_ids.min()) > int(first.article_ids.max())
    )
    return FactMatrix(
        fact_ids=np.concatenate([first.fact_ids, second.fact_ids]),
        sentence_ids=np.concatenate([first.sentence_ids, second.sentence_ids]),
        article_ids=np.concatenate([first.article_ids, second.article_ids]),
        language_group=np.concatenate([first.language_group, second.language_group]),
        flags=np.concatenate([first.flags, second.flags]),
        use=append_codes(first.use, second.use),
        e5=append_codes(first.e5, second.e5),
        _prefix_layout=first._layout if only_newer_articles else None,
    )
