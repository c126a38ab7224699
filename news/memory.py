"""Give freed heap memory back to the operating system (glibc; elsewhere this does nothing).

The e5 engine allocates and frees its working buffers on every encoding; glibc keeps the freed
pages, fragmented, so a serving process grew by about 60 MB over its first 1,000 questions at
10,000 articles (553 -> 614 MB). Trimming after each question and each added article (under a
millisecond) holds it steady (BENCHMARKS.md, "latency"); large blocks are kept out of the heap
altogether (see ``_MMAP_THRESHOLD_BYTES``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

# glibc serves allocations above this size with their own mapped pages, returned to the system
# when freed. By default the threshold rises (up to 32 MB) each time such a block is freed, so
# the matrices' large temporaries end up in the heap, where freed space fragments: a store of
# 10,000 articles grew from 554 to 604 MB over three added articles. Fixed at 1 MB it stayed
# at 525 MB (and started 20 MB lower); a question's own arrays are smaller and unaffected.
_MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def _find_trim(libc: ctypes.CDLL | None) -> Callable[[int], int] | None:
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    return trim


def _fix_mmap_threshold(libc: ctypes.CDLL | None) -> None:
    mallopt = getattr(libc, "mallopt", None)  # glibc only; elsewhere nothing to tune
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


_c_library = _libc()
_trim = _find_trim(_c_library)
_fix_mmap_threshold(_c_library)


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``)."""
    if _trim is not None:
        _trim(0)
