"""The delivery pacer's spacing, on a virtual clock (no real waiting, no timings).

Sends run as concurrent tasks, as in the delivery worker; the clock moves only when every task
is waiting (to the earliest wake-up) or when a test stalls the event loop. Every start time is
therefore exact and the checks are deterministic.
"""

from __future__ import annotations

import asyncio
import itertools

from bot.delivery import Limits, Pacer

TELEGRAM = Limits.for_platform("telegram")
PER_SECOND = int(TELEGRAM.per_second_overall)


class VirtualClock:
    """A clock for a pacer, with a sleep that waits for it and a driver that moves it."""

    def __init__(self) -> None:
        self.now = 100.0
        self._wakes: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        self._wakes.append(target)
        while self.now < target:
            await asyncio.sleep(0)

    async def run(self, tasks: list[asyncio.Task[None]], stalls: dict[float, float]) -> None:
        """Move the clock to each next wake-up until the tasks are done.

        ``stalls`` maps a moment to how long the event loop was blocked there (a long
        handler, a slow disk): the clock jumps past it while nobody runs.
        """
        pending_stalls = sorted(stalls.items())
        while not all(task.done() for task in tasks):
            for _ in range(50):  # let every task run on to its next wait
                await asyncio.sleep(0)
            self._wakes = [wake for wake in self._wakes if wake > self.now]
            if not self._wakes:
                continue
            next_wake = min(self._wakes)
            if pending_stalls and pending_stalls[0][0] <= next_wake:
                moment, blocked = pending_stalls.pop(0)
                self.now = max(self.now, moment) + blocked
            else:
                self.now = next_wake


async def _start_times(
    sends: int, stalls: dict[float, float], chats: int | None = None
) -> list[float]:
    """When each send began, for ``sends`` concurrent sends to ``chats`` private chats."""
    clock = VirtualClock()
    pacer = Pacer(TELEGRAM, clock=clock, sleep=clock.sleep)
    starts: list[float] = []

    async def send(index: int) -> None:
        await pacer.wait_chat_turn(f"chat-{index % (chats or sends)}", is_group=False)
        await pacer.wait_overall_turn()
        starts.append(clock.now)

    tasks = [asyncio.create_task(send(index)) for index in range(sends)]
    await clock.run(tasks, stalls)
    await asyncio.gather(*tasks)
    return sorted(starts)


def _shortest_second(starts: list[float]) -> float:
    """The shortest time in which one more send than the per-second limit started."""
    return min(b - a for a, b in zip(starts, starts[PER_SECOND:], strict=False))


async def test_sends_are_spaced_at_the_overall_rate() -> None:
    starts = await _start_times(120, stalls={})
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / TELEGRAM.per_second_overall - 1e-9
    # And no slower: 120 sends in 119 intervals at the rate.
    assert starts[-1] - starts[0] <= 119 / TELEGRAM.per_second_overall + 1e-9


async def test_a_stalled_event_loop_is_not_followed_by_a_burst() -> None:
    # While the loop is blocked, several sends' slots pass; they all wake at once after it.
    # Without the per-second window they then started together, and the next second held
    # more sends than the platform allows.
    starts = await _start_times(200, stalls={100.3: 0.2, 102.0: 0.5, 104.1: 0.1})
    assert len(starts) == 200
    assert _shortest_second(starts) >= 1.0 - 1e-9
    # Only what the window requires is delayed: the run ends within the stalls' time.
    assert starts[-1] - starts[0] <= 199 / TELEGRAM.per_second_overall + 0.8 + 1e-9


async def test_a_chat_waits_its_own_interval_and_a_group_its_minute_window() -> None:
    clock = VirtualClock()
    pacer = Pacer(TELEGRAM, clock=clock, sleep=clock.sleep)
    private = []
    for _ in range(3):
        task = asyncio.create_task(pacer.wait_chat_turn("42", is_group=False))
        await clock.run([task], stalls={})
        private.append(clock.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(private)] == [TELEGRAM.chat_interval] * 2
    group = []
    for _ in range(TELEGRAM.group_burst + 1):
        task = asyncio.create_task(pacer.wait_chat_turn("-100", is_group=True))
        await clock.run([task], stalls={})
        group.append(clock.now)
    # The window's last message goes in the first minute window, the next one a window later.
    assert group[-1] - group[0] >= TELEGRAM.group_window - 1e-9
