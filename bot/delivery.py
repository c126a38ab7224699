"""Send the outbox: paced for each platform's limits, retried on floods, never dropped or doubled.

Every digest message sits in the outbox (storage/deliveries.py) before it is sent and is marked
sent once the platform accepts it; at start, whatever is still pending is sent. A message too
long for one platform message goes out in parts; those accepted before a failure are recorded,
and a retry (or a restart) sends only the rest. Only a crash between the platform's acceptance
and our recording can repeat a message (or a part), and then only that one.

Pacing follows the platforms' documented limits, a little under them so that no flood error is
provoked: Telegram about 1 message/s per chat, 20/min per group and 30/s overall; Discord 5 per
5 s per channel. A 429 is honoured (``retry_after``) and the message retried; a permanent refusal
(bot removed, chat gone) pauses the subscription and tells the bot admins once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

from bot.adapters.base import Adapter, SendError
from bot.i18n import message
from bot.types import Conversation, Reply, reply_from_json
from storage import deliveries as outbox
from storage import subscriptions as subscription_store
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """A platform's send limits, as minimum spacing."""

    per_second_overall: float
    chat_interval: float  # seconds between two messages to one private chat / channel
    group_window: float  # seconds of the group window
    group_burst: int  # messages allowed per group window

    @staticmethod
    def for_platform(platform: str) -> Limits:
        """Limits with a small margin under the platform's documented ones."""
        if platform == "discord":
            return Limits(
                per_second_overall=45.0, chat_interval=1.05, group_window=5.0, group_burst=5
            )
        return Limits(
            per_second_overall=29.0, chat_interval=1.05, group_window=61.0, group_burst=20
        )


class Pacer:
    """Hands out send slots so that a platform's limits are never exceeded.

    A send waits for its chat's turn (``wait_chat_turn``), then, just before it goes out, for
    the overall turn (``wait_overall_turn``). Overall turns are spaced evenly, and on top of
    that no more than ``per_second_overall`` sends start within any second: a send that woke
    late (a busy event loop, a full semaphore) must not be followed by sends catching up on
    the schedule, which would squeeze a second's worth of sends into less than a second.
    """

    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._next_overall = 0.0
        self._next_chat: dict[str, float] = {}
        self._group_sends: defaultdict[str, deque[float]] = defaultdict(deque)
        self._recent_starts: deque[float] = deque()  # when the sends of the last second began
        self._lock = asyncio.Lock()
        self._window_lock = asyncio.Lock()

    async def wait_chat_turn(self, chat_key: str, is_group: bool) -> None:
        """Sleep until the chat's own limit lets a message to ``chat_key`` go, and reserve it.

        Waited for first, without holding the overall rate: a chat that must wait (a group's
        minute window) does not hold up every other chat.
        """
        async with self._lock:
            chat_slot = max(self._clock(), self._next_chat.get(chat_key, 0.0))
            if is_group:
                window = self._group_sends[chat_key]
                chat_slot = _window_opening(
                    window, chat_slot, self.limits.group_window, self.limits.group_burst
                )
                window.append(chat_slot)
            self._next_chat[chat_key] = chat_slot + self.limits.chat_interval
        await self._sleep_until(chat_slot)

    async def wait_overall_turn(self) -> None:
        """Sleep until the platform-wide rate lets one more send start now, and count it."""
        async with self._lock:
            slot = max(self._clock(), self._next_overall)
            self._next_overall = slot + 1.0 / self.limits.per_second_overall
        await self._sleep_until(slot)
        per_second = int(self.limits.per_second_overall)
        async with self._window_lock:  # in turn, so the check and the count go together
            now = self._clock()
            while (opening := _window_opening(self._recent_starts, now, 1.0, per_second)) > now:
                await self._sleep_until(opening)
                now = self._clock()
            self._recent_starts.append(now)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)

    def back_off(self, seconds: float) -> None:
        """After a flood error, hold every send for ``seconds``."""
        self._next_overall = max(self._next_overall, self._clock() + seconds)


def _window_opening(events: deque[float], moment: float, period: float, limit: int) -> float:
    """The earliest time from ``moment`` on when one more event keeps ``limit`` per ``period``.

    ``events`` (times, oldest first) forgets those that ended their period by ``moment``.
    """
    while events and events[0] <= moment - period:
        events.popleft()
    return moment if len(events) < limit else events[0] + period


def is_group_chat(platform: str, chat_id: str) -> bool:
    """Telegram groups and channels have negative ids; every Discord channel is shared."""
    return platform == "discord" or chat_id.startswith("-")


AdminNotifier = Callable[[str, str], Awaitable[None]]


class DeliveryWorker:
    """Sends pending outbox messages through the adapters; an async context manager."""

    def __init__(
        self,
        db: Database,
        adapters: dict[str, Adapter],
        *,
        admins: frozenset[str] = frozenset(),
        concurrency: int = 8,
        max_backoff: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.admins = admins
        self.concurrency = concurrency
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.pacers = {platform: Pacer(Limits.for_platform(platform)) for platform in adapters}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.waiting = False  # between rounds, waiting to be woken (tests look at it)
        self.sent = 0

    async def __aenter__(self) -> DeliveryWorker:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def start(self) -> None:
        """Start sending (pending messages from before a restart go first)."""
        self._task = asyncio.create_task(self._run(), name="delivery")
        self.wake()

    async def stop(self) -> None:
        """Stop sending; unsent messages stay in the outbox for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    async def drain(self) -> int:
        """Send everything pending now; returns how many messages were sent."""
        before = self.sent
        while True:
            batch = [d for d in await outbox.pending(self.db) if d.platform in self.adapters]
            if not batch:
                return self.sent - before
            await self._send_batch(batch)

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for can swallow a cancellation
            # that lands as the event is set, and stop() then waited forever.
            self.waiting = True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30.0):
                    await self._wake.wait()
            self.waiting = False
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("delivery round failed; retrying shortly")
                await asyncio.sleep(5.0)

    async def _send_batch(self, batch: list[outbox.Delivery]) -> None:
        # One queue per chat keeps a digest's parts in order; chats are served concurrently.
        per_chat: dict[tuple[str, str, str], list[outbox.Delivery]] = {}
        for delivery in batch:
            key = (delivery.platform, delivery.chat_id, delivery.thread_id)
            per_chat.setdefault(key, []).append(delivery)
        # Each chat's parts are sent in order, one task per chat at a time; the semaphore bounds
        # how many sends are in flight, and a chat waiting for its own slot holds no other.
        slots = asyncio.Semaphore(self.concurrency)

        async def serve(chat: list[outbox.Delivery]) -> None:
            for delivery in chat:
                if not await self._deliver(delivery, slots):
                    break  # paused or given up: leave the rest of this chat's parts

        await asyncio.gather(*(serve(chat) for chat in per_chat.values()))

    async def _deliver(self, delivery: outbox.Delivery, slots: asyncio.Semaphore) -> bool:
        """Send one message until it is accepted; False when the chat refused for good.

        Flood errors are retried for as long as they last; other failures up to
        ``max_attempts`` times, after which the message is marked failed and admins are told.
        """
        adapter = self.adapters[delivery.platform]
        pacer = self.pacers[delivery.platform]
        conversation = Conversation(
            delivery.platform,
            delivery.chat_id,
            delivery.thread_id or None,
            is_private=not is_group_chat(delivery.platform, delivery.chat_id),
        )
        reply = reply_from_json(delivery.reply)
        backoff = 1.0
        failures = delivery.attempts
        accepted = list(delivery.sent_ids)  # parts of a long message sent by earlier tries
        while True:
            await pacer.wait_chat_turn(delivery.chat_id, conversation.is_private is False)
            try:
                async with slots:
                    # The overall turn is taken once a slot is free, so the send starts then.
                    await pacer.wait_overall_turn()
                    message_ids = await adapter.send(conversation, reply, skip=len(accepted))
            except SendError as error:
                if error.sent_ids:  # kept, also across a restart, so no part is posted twice
                    accepted.extend(error.sent_ids)
                    await outbox.record_partly_sent(self.db, delivery.id, accepted)
                if error.permanent:
                    await self._pause(delivery, str(error))
                    return False
                await outbox.record_failure(self.db, delivery.id, str(error))
                if error.retry_after is None:
                    failures += 1
                    if failures >= self.max_attempts:
                        await self._give_up(delivery, str(error))
                        return False
                wait = error.retry_after if error.retry_after is not None else backoff
                pacer.back_off(wait)
                log.warning(
                    "send to %s failed (%s); retrying in %.1f s", delivery.chat_id, error, wait
                )
                await asyncio.sleep(wait)
                backoff = min(self.max_backoff, backoff * 2)
                continue
            await outbox.mark_sent(self.db, delivery.id, accepted + message_ids)
            self.sent += 1
            return True

    async def _give_up(self, delivery: outbox.Delivery, reason: str) -> None:
        """A message that keeps failing (not a flood): mark it failed so the queue moves on."""
        log.error("digest message %d failed %d times: %s", delivery.id, self.max_attempts, reason)
        await outbox.mark_failed(self.db, delivery.id, reason)
        await self._tell_admins(delivery, f"a message failed {self.max_attempts} times: {reason}")

    async def _pause(self, delivery: outbox.Delivery, reason: str) -> None:
        log.warning("digest #%d paused: %s", delivery.subscription_id, reason)
        first_time = await subscription_store.pause(self.db, delivery.subscription_id, reason)
        if first_time:
            await self._tell_admins(delivery, reason)

    async def _tell_admins(self, delivery: outbox.Delivery, reason: str) -> None:
        text = message(
            "admin_paused",
            "en",
            id=delivery.subscription_id,
            platform=delivery.platform,
            chat=delivery.chat_id,
            reason=reason,
        )
        for admin in sorted(self.admins):
            platform, _, user_id = admin.partition(":")
            adapter = self.adapters.get(platform)
            if adapter is None:
                continue
            try:
                await adapter.notify_user(user_id, Reply.text(text, language="en"))
            except SendError as error:
                log.warning(
                    "could not tell admin %s about digest #%d: %s",
                    admin,
                    delivery.subscription_id,
                    error,
                )
