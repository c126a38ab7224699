"""The knowledge base: what the CLI, the handlers and the digests call to add, remove and ask.

It owns the store, the encoders and the in-memory fact matrix, which it keeps in step with the
store: vectors are computed once at ingestion, stored, and loaded (not recomputed) on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from news import answer
from news.embed import Embeddings, Encoders, Matrix, shared_encoders
from news.errors import UserError
from news.extract import extract_facts
from news.ingest import ArticleDraft
from news.memory import release_free_memory
from news.text import (
    detect_language,
    index_terms,
    is_arabic_word,
    is_stopword,
    normalize,
    stem,
    strip_invisible,
    words,
)
from storage import articles as article_store
from storage import search
from storage.db import Database
from storage.models import Article, Fact, NewArticle, NewFact

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """A question's content words with their USE vectors and nearest vocabulary words."""

    words: list[str]
    vectors: npt.NDArray[np.float32]
    nearest: npt.NDArray[np.intp]  # (words,): row of the closest vocabulary word to each
    terms: search.TermRows


@dataclass(frozen=True, slots=True)
class AddResult:
    """Outcome of adding an article: ``created`` is False when it was already stored."""

    article: Article
    created: bool


@dataclass(frozen=True, slots=True)
class FoundFact:
    """A retrieved fact with its sentence, article and fused score."""

    fact: Fact
    article: Article
    score: float


@dataclass(frozen=True, slots=True)
class Answer:
    """What the store says about a question."""

    question: str
    language: str
    answered: bool
    facts: list[FoundFact] = field(default_factory=list)
    # How many of the leading facts the reply quotes when answered: 1 or 2
    # (``answer.quote_count``); an answer always quotes at least its best fact.
    quotes: int = 1

    @property
    def best(self) -> FoundFact | None:
        """The top fact, if any."""
        return self.facts[0] if self.facts else None

    @property
    def quoted(self) -> list[FoundFact]:
        """The facts the reply quotes, best first (none when the question is not answered)."""
        return self.facts[: max(1, self.quotes)] if self.answered else []

    def closest_articles(self, limit: int = 3) -> list[Article]:
        """Distinct articles of the retrieved facts, best first."""
        seen: dict[int, Article] = {}
        for found in self.facts:
            seen.setdefault(found.article.id, found.article)
        return list(seen.values())[:limit]


class Knowledge:
    """Articles, facts and answers over one database."""

    def __init__(
        self,
        db: Database,
        encoders: Encoders | None = None,
        weights: answer.RankWeights = answer.DEFAULT_WEIGHTS,
    ) -> None:
        self.db = db
        self.encoders = encoders or shared_encoders()
        self.weights = weights
        self._matrix: answer.FactMatrix | None = None
        self._terms: search.TermRows | None = None
        self._languages: dict[str, int] = {}
        # Each article's title and key names as content words (``_article_context_rows``).
        self._context_words: dict[int, list[str]] = {}
        # The store's data version the loaded matrices and words are valid for; see
        # ``_notice_other_writers``.
        self._data_version: int | None = None
        self._lock = asyncio.Lock()
        self._upgrade: asyncio.Task[None] | None = None  # ``start_upgrade``
        # Set while no question is being answered: background work waits for it (``ask``).
        self._no_questions = asyncio.Event()
        self._no_questions.set()
        self._questions_in_flight = 0

    async def warm_up(self) -> None:
        """Load the encoders and the stored vectors now, so the first question is fast."""
        await asyncio.to_thread(self.encoders.load)
        # One throwaway encoding: the first call of each model pays for its buffers.
        await asyncio.to_thread(self.encoders.query, "warm up")
        await asyncio.to_thread(self.encoders.words, ["warm"])
        await self._notice_other_writers()
        await self._fact_matrix()
        await self._term_matrix()

    async def add(self, draft: ArticleDraft, *, added_by: str | None = None) -> AddResult:
        """Extract, encode and store an article; an already stored one is returned as is."""
        await self._notice_other_writers()
        existing = await article_store.find_by_hash(self.db, draft.content_hash)
        if existing:
            return AddResult(existing, created=False)
        vocabulary = content_words(draft.body)
        known = await search.known_words(self.db, vocabulary)
        new_words = [word for word in vocabulary if word not in known]
        record = await asyncio.to_thread(self._prepare, draft, added_by, new_words, vocabulary)
        async with self._lock:
            article_id = await article_store.insert_article(self.db, record)
            if article_id is None:  # stored meanwhile by a concurrent add
                existing = await article_store.find_by_hash(self.db, draft.content_hash)
                assert existing is not None
                return AddResult(existing, created=False)
            await self._extend_matrices(vocabulary)
        # Encoding and extending the matrices leave freed heap behind, as a question does.
        release_free_memory()
        article = await article_store.get_article(self.db, article_id)
        assert article is not None
        return AddResult(article, created=True)

    def _prepare(
        self,
        draft: ArticleDraft,
        added_by: str | None,
        new_words: list[str],
        vocabulary: list[str] | None = None,
    ) -> NewArticle:
        extracted = extract_facts(draft.body, draft.language)
        if not extracted.facts:
            raise UserError("I found no sentences in that article.", key="no_sentences")
        embeddings = self.encoders.passages([fact.text for fact in extracted.facts], draft.title)
        use_blobs, e5_blobs = (
            search.vector_blobs(embeddings.use),
            search.vector_blobs(embeddings.e5),
        )
        word_blobs = search.vector_blobs(self.encoders.words(new_words))
        context = " ".join(index_terms(" ".join([draft.title, *extracted.key_entities])))
        facts = tuple(
            NewFact(
                sentence_index=fact.sentence_index,
                position=fact.position,
                text=fact.text,
                is_sentence=fact.is_sentence,
                language=fact.language,
                kind=fact.kind,
                entities=fact.entities,
                numbers=fact.numbers,
                dates=fact.dates,
                speaker=fact.speaker,
                start=fact.start,
                end=fact.end,
                index_terms=" ".join(index_terms(" ".join([fact.text, *fact.entities]))),
                use_vector=use_blobs[row],
                e5_vector=e5_blobs[row],
            )
            for row, fact in enumerate(extracted.facts)
        )
        return NewArticle(
            title=draft.title,
            source=draft.source,
            url=draft.url,
            language=draft.language,
            published=draft.published,
            added_by=added_by,
            content_hash=draft.content_hash,
            body=draft.body,
            key_entities=tuple(extracted.key_entities),
            context_terms=context,
            sentences=tuple((s.text, s.start, s.end) for s in extracted.sentences),
            facts=facts,
            new_terms=tuple(
                (word, stem(word), is_arabic_word(word), word_blobs[row])
                for row, word in enumerate(new_words)
            ),
            vocabulary=tuple(vocabulary if vocabulary is not None else new_words),
        )

    async def remove(self, article_id: int) -> bool:
        """Remove an article and everything derived from it; False if there was none."""
        await self._notice_other_writers()
        async with self._lock:
            removed = await article_store.remove_article(self.db, article_id)
            if removed:
                self._context_words.pop(article_id, None)
                # Rows leave the middle and word counts drop: reload in full on next use.
                self._matrix = None
                self._terms = None
        return removed

    async def ask(self, question: str, *, top_k: int = 5) -> Answer:
        """Find the facts that answer a question, best first, and decide whether they do."""
        self._questions_in_flight += 1
        self._no_questions.clear()
        try:
            return await self._ask(question, top_k)
        finally:
            self._questions_in_flight -= 1
            if not self._questions_in_flight:
                self._no_questions.set()

    async def _ask(self, question: str, top_k: int) -> Answer:
        cleaned = clean_question(question)
        language = detect_language(cleaned)
        signals = await self.signals(cleaned)
        if signals is None:
            return Answer(cleaned, language, answered=False)
        scores = answer.final_scores(signals, self.weights)  # once, to rank and to abstain
        ranked = answer.rank(signals, self.weights, limit=top_k, scores=scores)
        facts = await article_store.facts_by_ids(self.db, [r.best_fact_id for r in ranked])
        articles = await article_store.articles_by_ids(self.db, [r.article_id for r in ranked])
        found = [
            FoundFact(facts[r.best_fact_id], articles[r.article_id], r.score)
            for r in ranked
            if r.best_fact_id in facts
        ]
        answered = bool(found) and answer.is_answer(signals, self.weights, scores)
        quotes = answer.quote_count(
            [f.article.id for f in found],
            [f.score for f in found],
            self.weights.second_quote_margin,
        )
        release_free_memory()
        return Answer(cleaned, language, answered=answered, facts=found, quotes=quotes)

    async def signals(
        self, question: str, language: str | None = None
    ) -> answer.SentenceSignals | None:
        """Every ranking signal of every stored sentence for a (cleaned) question.

        ``language`` is the question's language when the caller knows it (else detected).
        """
        # e5 is the slow encoder: it encodes while the store is checked, USE scores, the words
        # are matched against the vocabulary and the keyword search runs.
        e5_task = self._start_e5(question) if self.encoders.loaded else None
        await self._notice_other_writers()
        matrix = await self._fact_matrix()
        if len(matrix.fact_ids) == 0:
            return None
        if e5_task is None:
            await asyncio.to_thread(self.encoders.load)
            e5_task = self._start_e5(question)
        content = content_words(question)
        # One USE call encodes the question and its words.
        use_vectors = await asyncio.to_thread(self.encoders.words, [question, *content])
        use_scores = await asyncio.to_thread(
            answer.encoder_scores, matrix, 0, use_vectors[0], self.weights
        )
        keywords = await search.keyword_scores(self.db, index_terms(question))
        signals = answer.signals_before_e5(
            matrix,
            use_scores,
            keywords,
            answer.question_kinds(question),
            self._languages.get(language or detect_language(question), -1),
        )
        question_words = self._question_words(content, use_vectors[1:], await self._term_matrix())
        e5_vector = await e5_task
        e5_cosines = await scan(matrix.e5, e5_vector[0])
        e5_scores = await asyncio.to_thread(
            answer.encoder_scores, matrix, 1, e5_vector[0], self.weights, e5_cosines
        )
        answer.add_e5(signals, e5_scores)
        await self._soft_match(signals, question_words)
        return signals

    def _start_e5(self, question: str) -> asyncio.Future[Matrix]:
        return asyncio.wrap_future(self.encoders.start_query_e5(question))

    async def translate_terms(self, question: str) -> list[str]:
        """Index terms near the question's words in meaning, in any language (see ``translate``)."""
        await self._notice_other_writers()
        content = content_words(question)
        vectors = await asyncio.to_thread(self.encoders.words, content)
        return self.translate(self._question_words(content, vectors, await self._term_matrix()))

    @staticmethod
    def _question_words(
        content: list[str], vectors: npt.NDArray[np.float32], terms: search.TermRows
    ) -> QuestionWords:
        """The question's content words with their USE vectors and nearest vocabulary words.

        A word the vocabulary holds is its own nearest word (the same text, the same vector), so
        only the others are compared with the whole vocabulary: that scan of every word vector
        was the costliest step of a question after the fact scans.
        """
        if not content or len(terms.ids) == 0:
            no_words = np.zeros((0, vectors.shape[1]), np.float32)
            return QuestionWords([], no_words, np.zeros(0, np.intp), terms)
        known = [terms.row_of_word.get(word) for word in content]
        nearest = np.array([-1 if row is None else row for row in known], np.intp)
        unknown = np.flatnonzero(nearest < 0)
        if len(unknown):
            nearest[unknown] = np.argmax(vectors[unknown] @ terms.vectors.T, axis=1)
        return QuestionWords(content, vectors, nearest, terms)

    def translate(self, question_words: QuestionWords) -> list[str]:
        """Index terms near the question's words in meaning, in any language.

        USE's word vectors align across Arabic and English ("cost" lies next to "تكلفة"), so each
        content word of the question is matched against the stored vocabulary, and close
        neighbours become extra keywords. This lets keyword search cross languages, which plain
        BM25 cannot, and also catches other forms of a word ("trained", "تدريب").
        """
        terms = question_words.terms
        own_stems = {stem(word) for word in question_words.words}
        found: list[str] = []
        similarities = question_words.vectors @ terms.vectors.T
        for scores in similarities:
            best = np.argpartition(-scores, min(len(scores) - 1, 16))[:16]
            best = best[np.argsort(-scores[best])]
            picked = 0
            for i in best:
                if picked == self.weights.translations_per_word:
                    break
                if scores[i] < self.weights.translation_min_similarity:
                    break
                if terms.stems[i] in own_stems or terms.stems[i] in found:
                    continue
                found.append(terms.stems[i])
                picked += 1
        return found

    async def _soft_match(
        self, signals: answer.SentenceSignals, question_words: QuestionWords
    ) -> None:
        """Score the leading sentences by word-level meaning overlap with the question.

        Each question word takes its best similarity to any word of the sentence (USE word
        vectors, so across languages too), weighted by how rare the word is; only the leading
        candidates of the first pass are scored, since this needs their words. The same is
        then measured with each candidate's article title and key names added
        (``_match_with_context``).
        """
        candidates = answer.set_candidates(signals, self.weights)
        texts = await article_store.sentence_texts(
            self.db, [int(signals.sentence_ids[i]) for i in candidates]
        )
        sentence_words = [
            list(dict.fromkeys(words(normalize(texts.get(int(signals.sentence_ids[i]), "")))))
            for i in candidates
        ]
        signals.word_counts[candidates] = [len(found) for found in sentence_words]
        if not question_words.words:
            return
        terms = question_words.terms
        rows = [
            [row for word in found if (row := terms.row_of_word.get(word)) is not None]
            for found in sentence_words
        ]
        nearest = question_words.nearest
        article_total = float((await self._fact_matrix()).layout.article_count)
        rarity = np.log((article_total + 1) / (terms.article_counts[nearest] + 1)) + 0.1
        word_weights = rarity / rarity.sum()
        raw, close, strong = answer.soft_match(
            question_words.vectors,
            word_weights,
            rows,
            terms.vectors,
            self.weights.translation_min_similarity,
            self.weights.strong_similarity,
        )
        signals.soft = answer.spread(raw, candidates, len(signals.first_pass))
        signals.soft_raw[candidates] = raw
        signals.soft_coverage[candidates] = close
        signals.strong_coverage[candidates] = strong
        # The same words by their stems: an exact match, in the same language only.
        question_stems = [stem(word) for word in question_words.words]
        signals.exact_coverage[candidates] = [
            _share_present(question_stems, word_weights, {terms.stems[row] for row in found})
            for found in rows
        ]
        await self._match_with_context(signals, question_words, rows, word_weights, question_stems)

    async def _match_with_context(
        self,
        signals: answer.SentenceSignals,
        question_words: QuestionWords,
        rows: list[list[int]],
        word_weights: npt.NDArray[np.float64],
        question_stems: list[str],
    ) -> None:
        """The candidates' coverages again, their article's title and key names added.

        ``rows`` holds each candidate's own words (vocabulary rows); the question's words are
        weighed by ``word_weights`` and matched by ``question_stems`` as in ``_soft_match``.
        """
        terms = question_words.terms
        candidates = signals.candidates
        candidate_articles = [int(signals.article_ids[i]) for i in candidates]
        context = await self._article_context_rows(candidate_articles, terms)
        with_context = [
            list(dict.fromkeys(found + context.get(article_id, [])))
            for found, article_id in zip(rows, candidate_articles, strict=True)
        ]
        raw, _, strong = answer.soft_match(
            question_words.vectors,
            word_weights,
            with_context,
            terms.vectors,
            self.weights.translation_min_similarity,
            self.weights.strong_similarity,
        )
        signals.context_soft_raw[candidates] = raw
        signals.context_strong_coverage[candidates] = strong
        # A title word the article's body never uses has no vocabulary row, but has a stem.
        signals.context_exact_coverage[candidates] = [
            _share_present(
                question_stems,
                word_weights,
                {terms.stems[row] for row in found} | self._context_stems(article_id),
            )
            for found, article_id in zip(rows, candidate_articles, strict=True)
        ]

    def _context_stems(self, article_id: int) -> set[str]:
        return {stem(word) for word in self._context_words.get(article_id, [])}

    async def _article_context_rows(
        self, article_ids: list[int], terms: search.TermRows
    ) -> dict[int, list[int]]:
        """Vocabulary rows of each article's title and key names (people, companies, products).

        Read once per article and kept: the candidates of every question need them.
        """
        missing = [
            article_id for article_id in set(article_ids) if article_id not in self._context_words
        ]
        if missing:
            for article_id, article in (
                await article_store.articles_by_ids(self.db, missing)
            ).items():
                self._context_words[article_id] = content_words(
                    " ".join([article.title, *article.key_entities])
                )
        return {
            article_id: [
                row
                for word in self._context_words.get(article_id, [])
                if (row := terms.row_of_word.get(word)) is not None
            ]
            for article_id in set(article_ids)
        }

    async def _notice_other_writers(self) -> None:
        """Forget what was loaded from the store when another process has written to it since.

        An admin may add or remove articles from the command line while the bot runs; without
        this the bot would not find the new articles (the matrices only extend with what this
        process stores) until a restart. Called before anything is loaded or used, so the
        version first seen is one no loaded matrix is older than.
        """
        version = await self.db.data_version()
        if version == self._data_version:
            return
        async with self._lock:
            if self._data_version is not None and version != self._data_version:
                log.info("the store was changed by another process: reloading its vectors")
                self._matrix = None
                self._terms = None
                self._context_words.clear()
            self._data_version = version

    # Loading takes the lock that adding and removing hold: an article stored while a load was
    # reading (after a removal, say) would otherwise be missing from the loaded matrix, which
    # only extends with rows stored after it is in place, until the next restart.

    async def _fact_matrix(self) -> answer.FactMatrix:
        if self._matrix is None:
            async with self._lock:
                if self._matrix is None:
                    self._matrix = await self._load_fact_matrix()
        return self._matrix

    async def _load_fact_matrix(self) -> answer.FactMatrix:
        """Every stored fact's vectors as a matrix; the caller holds ``_lock``."""
        # Room for an eighth more facts, so adding articles does not copy them all.
        rows = await search.load_vectors(self.db, headroom=0.125)
        matrix = self._as_matrix(rows)
        await asyncio.to_thread(lambda: matrix.layout)  # once, off the event loop
        return matrix

    def start_upgrade(self) -> None:
        """Start ``upgrade_vectors`` in the background, so the bot serves meanwhile."""
        if self._upgrade is None or self._upgrade.done():
            self._upgrade = asyncio.create_task(self._upgrade_in_background(), name="upgrade")

    async def close(self) -> None:
        """Stop background work (an upgrade keeps the articles it finished)."""
        if self._upgrade is not None:
            self._upgrade.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upgrade
            self._upgrade = None

    async def _upgrade_in_background(self) -> None:
        try:
            await self.upgrade_vectors()
        except Exception:  # the bot keeps answering with the vectors it has
            log.exception("upgrading the stored vectors failed; it resumes at the next start")

    async def upgrade_vectors(self) -> int:
        """Add the title reading to the facts of articles stored before facts were read so.

        Their stored vectors are the facts read alone, so only the titled texts are encoded.
        One article at a time, each written in its own transaction: questions are answered
        meanwhile (with the vectors as they were loaded), and a stop part-way keeps the
        articles done. The loaded matrix is replaced once at the end. Returns how many
        articles were upgraded.
        """
        outdated = await article_store.articles_read_alone(self.db)
        if not outdated:
            return 0
        # A warning, so the command line (which logs only warnings) says why it is busy.
        log.warning(
            "%d articles were stored by an older version: reading their facts after their "
            "titles, one article at a time (minutes for thousands of articles)",
            len(outdated),
        )
        upgraded = 0
        for done, (article_id, title) in enumerate(outdated):
            if done and done % 500 == 0:  # a large store takes minutes: show it is moving
                log.info("read the facts of %d of %d articles", done, len(outdated))
            facts = await article_store.stored_fact_vectors(self.db, article_id)
            vectors = await self._titled_vectors(facts, title)
            async with self._lock:
                upgraded += await article_store.write_titled_vectors(self.db, article_id, vectors)
        async with self._lock:
            if self._matrix is not None:
                self._matrix = await self._load_fact_matrix()
        log.info("read the facts of %d articles after their titles", upgraded)
        return upgraded

    async def _titled_vectors(
        self, facts: list[tuple[int, str, bytes, bytes]], title: str
    ) -> list[tuple[int, bytes, bytes]]:
        """Facts' (id, text, USE, e5) vectors read alone -> (id, USE, e5) of both readings.

        One fact at a time, and only while no question is being answered: a question's e5
        encoding queues behind the e5 work already started, so it waits for at most one fact
        (about 50 ms) instead of a whole article, and then has both cores to itself. Encoding
        texts one by one costs about 7% more than by article (one-off script).
        """
        vectors = []
        for fact_id, text, use, e5 in facts:
            alone = Embeddings(
                search.stored_rows([use]).astype(np.float32),
                search.stored_rows([e5]).astype(np.float32),
            )
            await self._no_questions.wait()
            both = await asyncio.to_thread(self.encoders.add_title_reading, alone, [text], title)
            vectors.append(
                (fact_id, search.vector_blobs(both.use)[0], search.vector_blobs(both.e5)[0])
            )
        return vectors

    async def _term_matrix(self) -> search.TermRows:
        if self._terms is None:
            async with self._lock:
                if self._terms is None:
                    self._terms = await search.load_terms(self.db, headroom=0.125)
        return self._terms

    async def _extend_matrices(self, vocabulary: list[str]) -> None:
        """Append the rows stored since the matrices were loaded (cheaper than a reload).

        ``vocabulary`` is the new article's words, whose article counts went up by one.
        """
        if self._matrix is not None:
            last = int(self._matrix.fact_ids[-1]) if len(self._matrix.fact_ids) else 0
            fresh = self._as_matrix(await search.load_vectors(self.db, after_fact_id=last))
            extended = answer.concatenate(self._matrix, fresh)
            # Derived here, off the event loop, so the next question does not wait for it
            # (0.1 to 0.2 s at 10,000 articles); questions meanwhile use the current matrix.
            await asyncio.to_thread(lambda: extended.layout)
            self._matrix = extended
        if self._terms is not None:
            last = int(self._terms.ids[-1]) if len(self._terms.ids) else 0
            old_rows = [self._terms.row_of_word.get(word) for word in vocabulary]
            self._terms.article_counts[[row for row in old_rows if row is not None]] += 1
            self._terms = search.concatenate_terms(
                self._terms, await search.load_terms(self.db, after_id=last)
            )

    def _as_matrix(self, rows: search.VectorRows) -> answer.FactMatrix:
        groups = np.array(
            [self._languages.setdefault(code, len(self._languages)) for code in rows.languages],
            np.intp,
        )
        return answer.FactMatrix(
            fact_ids=rows.fact_ids,
            sentence_ids=rows.sentence_ids,
            article_ids=rows.article_ids,
            language_group=groups,
            flags=rows.flags,
            use=rows.use,
            e5=rows.e5,
        )


# Below this many rows a scan is too quick to be worth splitting across threads.
_SPLIT_SCAN_ROWS = 20_000


async def scan(vectors: search.Codes, query: answer.FloatArray) -> answer.FloatArray:
    """Every row's dot product with ``query``, split over two threads when the matrix is large.

    Once e5 has encoded the question both cores are free: two halves scanned at once take
    1.1 ms instead of 1.5 at 74,000 facts (3 ms instead of 6 when the rows were float16).
    Two of our threads rather than SimSIMD's own (``threads=2``), which are OpenMP workers:
    e5's and OpenBLAS's OpenMP-style workers kept spinning after each call and slowed the next
    encoding (``news.embed``).
    """
    if len(vectors) < _SPLIT_SCAN_ROWS:
        return await asyncio.to_thread(search.dot_products, vectors, query)
    half = len(vectors) // 2
    first, second = await asyncio.gather(
        asyncio.to_thread(search.dot_products, vectors[:half], query),
        asyncio.to_thread(search.dot_products, vectors[half:], query),
    )
    return np.concatenate([first, second])


def _share_present(items: list[str], weights: npt.NDArray[np.float64], present: set[str]) -> float:
    """The summed weights of the items found in ``present``."""
    found = [weight for item, weight in zip(items, weights, strict=True) if item in present]
    return float(sum(found))


def _is_content_word(word: str) -> bool:
    return len(word) > 1 and not is_stopword(word) and not word.isdigit()


def content_words(text: str) -> list[str]:
    """A text's distinct normalised content words, in order.

    The same words serve a question (the words matched) and an article (the words it adds to
    the translation vocabulary).
    """
    return [w for w in dict.fromkeys(words(normalize(text))) if _is_content_word(w)]


def clean_question(question: str) -> str:
    """Validate and tidy a question: not empty, not too long, no invisible controls."""
    cleaned = " ".join(strip_invisible(question).split())
    if not cleaned or not any(ch.isalnum() for ch in normalize(cleaned)):
        raise UserError(
            "Please ask a question in words, e.g. “what did DeepSeek claim about cost?”",
            key="empty_question",
        )
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise UserError(
            f"That question is too long; please keep it under {MAX_QUESTION_CHARS} characters.",
            key="question_too_long",
            limit=MAX_QUESTION_CHARS,
        )
    return cleaned
