"""Digest scheduling: a one-minute tick (an APScheduler job) that queues what is due.

The subscriptions table is the only record of schedules; no job store sits beside it. Each tick
reads every active subscription, finds its most recent scheduled period and, if that period is
not the one it last completed, composes the digest and queues its messages in the outbox in the
same transaction that records the period as done. A period missed while the bot was down is thus
queued once when it comes back, and never twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery import DeliveryWorker
from bot.i18n import message
from bot.types import Reply, reply_to_json
from handlers.digest import digest_replies
from news import digest as digest_news
from news.knowledge import Knowledge
from news.schedule import latest_period, schedule_from_text
from storage import deliveries as outbox
from storage import subscriptions as subscription_store
from storage.articles import last_article_id

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


class DigestScheduler:
    """Queues due digests every minute and wakes the delivery worker; an async context manager."""

    def __init__(
        self,
        knowledge: Knowledge,
        worker: DeliveryWorker,
        *,
        clock: Clock = utc_clock,
        announce_empty: bool = False,
        tick_seconds: float = 60.0,
    ) -> None:
        self.knowledge = knowledge
        self.worker = worker
        self.clock = clock
        self.announce_empty = announce_empty
        self.tick_seconds = tick_seconds
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._tick_lock = asyncio.Lock()

    async def __aenter__(self) -> DigestScheduler:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Tick once now (to make up digests missed while down), then every minute."""
        await self.tick()
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            id="digest-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop ticking."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def tick(self) -> int:
        """Queue every due digest; returns how many periods were queued."""
        async with self._tick_lock:
            queued = 0
            now = self.clock()
            for subscription in await subscription_store.active_subscriptions(self.knowledge.db):
                try:
                    queued += await self._queue_if_due(subscription, now)
                except Exception:
                    log.exception("could not queue digest #%d", subscription.id)
            if queued:
                log.info("queued %d digest(s)", queued)
            self.worker.wake()
            return queued

    async def _queue_if_due(
        self, subscription: subscription_store.Subscription, now: datetime
    ) -> int:
        zone = ZoneInfo(subscription.timezone)
        period = latest_period(schedule_from_text(subscription.schedule), zone, now)
        if period.key == subscription.last_period:
            return 0
        newest = await last_article_id(self.knowledge.db)
        items = await digest_news.compose(
            self.knowledge, subscription.last_article_id, subscription.keywords, newest
        )
        if items:
            replies = digest_replies(items, subscription.language, subscription.platform)
        elif self.announce_empty:
            replies = [Reply.text(message("digest_nothing", subscription.language))]
        else:
            replies = []  # nothing new means no message, but the period still counts as done
        done = await outbox.enqueue_period(
            self.knowledge.db,
            subscription_id=subscription.id,
            period=period.key,
            platform=subscription.platform,
            chat_id=subscription.chat_id,
            thread_id=subscription.thread_id,
            parts=[reply_to_json(reply) for reply in replies],
            last_article_id=newest,
        )
        return int(done and bool(replies))
