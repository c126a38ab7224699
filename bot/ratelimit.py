"""A per-user sliding-window rate limit for questions."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class RateLimiter:
    """Allow at most ``limit`` events per ``window`` seconds per key."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)

    def check(self, key: str) -> float:
        """Record an event; return 0 if allowed, else the seconds to wait (event not recorded)."""
        now = self._clock()
        events = self._events[key]
        while events and now - events[0] >= self.window:
            events.popleft()
        if self.limit > 0 and len(events) >= self.limit:
            return self.window - (now - events[0])
        events.append(now)
        return 0.0
