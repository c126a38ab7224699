"""XQuAD-R helpers shared by the retrieval evaluation and the weight fitting.

Stores are built through the real ``Knowledge.add`` (extraction, FTS5, vectors in SQLite) and
questions go through the real ``Knowledge.ask``. Only the encoders are wrapped, in a cache on disk
keyed by text, so that building the same pool twice does not pay for encoding twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from news.embed import E5_DIM, USE_DIM, Embeddings, Encoders
from news.ingest import ArticleDraft
from news.knowledge import Knowledge
from storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("NEWSBOT_EVAL_DIR", ROOT.parent / "shared" / "eval"))
XQUAD_DIR = EVAL_DIR / "xquad-r"
CACHE_DIR = Path(os.environ.get("NEWSBOT_BENCH_CACHE", ROOT / "benchmarks" / ".cache"))


class CachedEncoders(Encoders):
    """The real encoders, with every vector also kept in an on-disk cache (benchmarks only)."""

    def __init__(self, cache_file: Path) -> None:
        super().__init__()
        self.cache_file = cache_file
        self._cache: dict[tuple[bool, str], tuple[np.ndarray, np.ndarray]] = {}
        self._dirty = False
        if cache_file.exists():
            data = np.load(cache_file, allow_pickle=False)
            keys = json.loads(str(data["keys"]))
            # Read each array once; rows are copied so no row keeps a whole array alive.
            use, e5 = data["use"], data["e5"]
            for i, (is_query, digest) in enumerate(keys):
                self._cache[(bool(is_query), digest)] = (use[i].copy(), e5[i].copy())

    def save(self) -> None:
        if not self._dirty:
            return
        keys = list(self._cache)
        use = np.stack([self._cache[k][0] for k in keys]) if keys else np.zeros((0, USE_DIM))
        e5 = np.stack([self._cache[k][1] for k in keys]) if keys else np.zeros((0, E5_DIM))
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=json.dumps(keys), use=use.astype(np.float32), e5=e5.astype(np.float32))
        tmp.replace(self.cache_file)
        self._dirty = False

    def query_e5(self, text: str) -> np.ndarray:
        return self._encode([text], is_query=True).e5

    @property
    def loaded(self) -> bool:
        return True  # cached vectors need no model; a miss loads them (``_encode``)

    def start_query_e5(self, text: str) -> Future[np.ndarray]:
        done: Future[np.ndarray] = Future()
        done.set_result(self.query_e5(text))
        return done

    def _encode(self, texts: list[str], *, is_query: bool) -> Embeddings:
        keys = [(is_query, hashlib.sha1(t.encode()).hexdigest()) for t in texts]
        missing = [t for t, k in zip(texts, keys, strict=True) if k not in self._cache]
        if missing:
            fresh = super()._encode(missing, is_query=is_query)
            for i, text in enumerate(missing):
                key = (is_query, hashlib.sha1(text.encode()).hexdigest())
                self._cache[key] = (fresh.use[i], fresh.e5[i])
            self._dirty = True
        use = np.stack([self._cache[k][0] for k in keys]).astype(np.float32)
        e5 = np.stack([self._cache[k][1] for k in keys]).astype(np.float32)
        return Embeddings(use.reshape(len(texts), USE_DIM), e5.reshape(len(texts), E5_DIM))


@dataclass
class Paragraph:
    article_index: int
    paragraph_index: int
    title: str
    context: str
    breaks: list[tuple[int, int]]


@dataclass
class Question:
    qid: str
    text: str
    article_index: int
    paragraph_index: int
    # Index into the sentence_breaks of the question's OWN language's paragraph. Translations
    # split and order sentences differently (10% of the questions' answers sit in a sentence of
    # another index in Arabic than in English), so a pool in another language must use
    # ``Pool.target``, which takes the gold from the stored language's file.
    gold_sentence: int


@dataclass
class Pool:
    """A store built from some paragraphs, with a map from stored sentence to gold sentence."""

    knowledge: Knowledge
    sentence_gold: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    stored_paragraphs: set[tuple[int, int]] = field(default_factory=set)  # (article, paragraph)
    language_of_article: dict[int, str] = field(default_factory=dict)

    def target(self, question: Question) -> tuple[int, int, int] | None:
        """The gold sentence as stored: (article, paragraph, sentence index) in the language
        the article is stored in; None when the question's paragraph is not stored."""
        if (question.article_index, question.paragraph_index) not in self.stored_paragraphs:
            return None
        language = self.language_of_article[question.article_index]
        gold = gold_sentences(language)[question.qid]
        return (question.article_index, question.paragraph_index, gold)


def load(language: str) -> dict:
    return json.loads((XQUAD_DIR / f"{language}.json").read_text(encoding="utf-8"))


def paragraphs(data: dict) -> list[Paragraph]:
    found = []
    for ai, article in enumerate(data["data"]):
        for pi, paragraph in enumerate(article["paragraphs"]):
            breaks = [(int(a), int(b)) for a, b in paragraph["sentence_breaks"]]
            found.append(Paragraph(ai, pi, article["title"], paragraph["context"], breaks))
    return found


def questions(data: dict) -> list[Question]:
    found = []
    for ai, article in enumerate(data["data"]):
        for pi, paragraph in enumerate(article["paragraphs"]):
            breaks = paragraph["sentence_breaks"]
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["answer_start"]
                gold = next(
                    (i for i, (a, b) in enumerate(breaks) if a <= start <= b),
                    len(breaks) - 1,
                )
                found.append(Question(qa["id"], qa["question"], ai, pi, gold))
    return found


@cache
def gold_sentences(language: str) -> dict[str, int]:
    """Each question id's gold sentence index in that language's paragraphs."""
    return {question.qid: question.gold_sentence for question in questions(load(language))}


def _best_overlap(start: int, end: int, breaks: list[tuple[int, int]]) -> int:
    overlaps = [max(0, min(end, b) - max(start, a)) for a, b in breaks]
    return int(np.argmax(overlaps))


async def build_pool(
    db_path: Path,
    encoders: Encoders,
    sources: list[tuple[str, list[Paragraph]]],
) -> Pool:
    """Store the given paragraphs (each its own article) through ``Knowledge.add``."""
    fresh = not db_path.exists()
    db = await Database(db_path).open()
    knowledge = Knowledge(db, encoders)
    pool = Pool(knowledge)
    key_of_article: dict[int, tuple[str, Paragraph]] = {}
    for language, items in sources:
        for paragraph in items:
            draft = ArticleDraft(
                title=paragraph.title,
                body=paragraph.context,
                language=language,  # type: ignore[arg-type]
                source="XQuAD-R",
            )
            result = await knowledge.add(draft) if fresh else None
            if result is None:
                from storage.articles import find_by_hash

                article = await find_by_hash(db, draft.content_hash)
                assert article is not None, "stale cache: delete benchmarks/.cache"
                article_id = article.id
            else:
                article_id = result.article.id
            key_of_article[article_id] = (language, paragraph)
            pool.stored_paragraphs.add((paragraph.article_index, paragraph.paragraph_index))
            pool.language_of_article[paragraph.article_index] = language
    cursor = await db.connection.execute("SELECT id, article_id, text, start, end FROM sentences")
    for sentence_id, article_id, _text, start, end in await cursor.fetchall():
        language, paragraph = key_of_article[article_id]
        # The stored body is the paragraph's context verbatim, so offsets agree with the breaks.
        gold = _best_overlap(start, end, paragraph.breaks)
        pool.sentence_gold[sentence_id] = (paragraph.article_index, paragraph.paragraph_index, gold)
    return pool


@dataclass
class Outcome:
    question: Question
    answered: bool
    rank: int | None  # 1-based rank of the gold sentence among the returned sentences
    quotes: int = 0  # how many of the leading sentences the reply quotes (``Answer.quotes``)

    @property
    def quoted_answer(self) -> bool:
        """Answered, with the gold sentence among the quoted ones."""
        return self.answered and self.rank is not None and self.rank <= self.quotes


async def run_questions(pool: Pool, items: list[Question], top_k: int = 5) -> list[Outcome]:
    outcomes = []
    for question in items:
        answer = await pool.knowledge.ask(question.text, top_k=top_k)
        rank = None
        target = pool.target(question)
        for position, found in enumerate(answer.facts, start=1):
            if pool.sentence_gold.get(found.fact.sentence_id) == target:
                rank = position
                break
        outcomes.append(Outcome(question, answer.answered, rank, answer.quotes))
    return outcomes


def recall(outcomes: list[Outcome], k: int) -> float:
    return sum(1 for o in outcomes if o.rank is not None and o.rank <= k) / max(1, len(outcomes))


def mrr(outcomes: list[Outcome]) -> float:
    return sum(1 / o.rank for o in outcomes if o.rank) / max(1, len(outcomes))
