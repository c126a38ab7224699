"""Give freed heap memory back to the operating system after each question.

The e5 engine allocates and frees its working buffers on every encoding; glibc keeps the freed
pages, fragmented, so a serving process grew by about 60 MB over its first 1,000 questions at
10,000 articles (553 -> 614 MB). Trimming after each question holds it near 590 MB for about
0.5 ms (BENCHMARKS.md, "latency"). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _find_trim()


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``)."""
    if _trim is not None:
        _trim(0)
