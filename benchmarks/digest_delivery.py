"""Digest delivery at scale: N Telegram chats due at the same minute, through Telegram's limits.

Usage: python benchmarks/digest_delivery.py [--chats 1000] [--groups 100] [--topics 0]

Runs the real pipeline -- DigestScheduler.tick() (compose each digest, queue it in the outbox)
and DeliveryWorker (paced sends through the real TelegramAdapter: python-telegram-bot with its
AIORateLimiter) -- against tests/fakes/telegram_api.FakeTelegramAPI(enforce_limits=True) on
127.0.0.1, which answers 429 whenever Telegram's limits would be exceeded: 30 messages a second
overall, 1 a second per private chat, 20 a minute per group. The store is a real SQLite file
with one short article, so each digest is one message.

Prints one table: messages delivered, seconds (queueing, sending, both), the limit's minimum
(messages / 30 per second), the ratio of the sending time to it, the fake's 429 count, and
duplicates (chats that received more messages than their digest has parts). Goal: within 10%
of the minimum, no 429s, no duplicates.

``--topics N`` adds one forum supergroup with N subscribed topics (N messages to one chat id, of
which Telegram allows 20 a minute) and reports when the last *other* chat was served: whether
one busy group holds up everybody else.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.telegram import TelegramAdapter
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.router import Dispatcher
from bot.scheduler import DigestScheduler
from handlers import build_router
from news.ingest import from_text
from news.knowledge import Knowledge
from storage import subscriptions as subscription_store
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegramAPI, normalize_chat_id

OVERALL_LIMIT = 30  # messages per second, Telegram's documented overall limit
ARTICLE = (
    "title: Tram line to the airport approved\n"
    "source: City Times\n\n"
    "The Port Elwood council approved a 9 kilometre tram line to the airport on Saturday. "
    "The line will cost 210 million dollars, said transport chief Marta Ilves."
)
DUE = datetime(2025, 3, 30, 9, 0, tzinfo=UTC)
FORUM = -1_008_500_000


class StampingTelegramAPI(FakeTelegramAPI):
    """The fake Bot API, noting when each accepted message arrived."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[tuple[float, int]] = []

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._send_message(params)
        self.arrivals.append((time.perf_counter(), int(params["chat_id"])))
        return message


def chat_ids(total: int, groups: int) -> list[int]:
    """Private chats (positive ids) with supergroups (-100...) spread evenly among them."""
    private = [(n / max(1, total - groups), 10_000 + n) for n in range(total - groups)]
    shared = [((n + 0.5) / groups, -1_009_000_000 - n) for n in range(groups)]
    return [chat for _, chat in sorted(private + shared)]


async def prepare(path: Path, chats: list[int], topics: int) -> None:
    async with Database(path) as db:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        await knowledge.add(from_text(ARTICLE), added_by="benchmark")
        # The forum subscribed first, so its messages are at the head of the outbox.
        targets = [(FORUM, str(topic)) for topic in range(1, topics + 1)]
        targets += [(chat, "") for chat in chats]
        for chat, thread in targets:
            await subscription_store.subscribe(
                db,
                platform="telegram",
                chat_id=str(chat),
                thread_id=thread,
                schedule="daily 09:00",
                timezone="UTC",
                keywords=(),
                language="en",
                created_by="benchmark",
                last_article_id=0,
                last_period="2025-03-29",
            )


async def run(total: int, groups: int, topics: int) -> None:
    chats = chat_ids(total, groups)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        await prepare(path, chats, topics)
        async with StampingTelegramAPI(enforce_limits=True) as api, Database(path) as db:
            knowledge = Knowledge(db)
            await knowledge.warm_up()
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                db=str(path),
                telegram_token="123:BENCH",
                telegram_api_url=api.base_url,
                telegram_file_url=api.base_file_url,
                examples_dir=None,
            )
            adapter = TelegramAdapter(Dispatcher(build_router(), knowledge, settings), settings)
            await adapter.start()
            try:
                worker = DeliveryWorker(db, {"telegram": adapter})
                scheduler = DigestScheduler(knowledge, worker, clock=lambda: DUE)
                started = time.perf_counter()
                queued = await scheduler.tick()
                queued_at = time.perf_counter()
                sent = await worker.drain()
                finished = time.perf_counter()
            finally:
                await adapter.stop()
            cursor = await db.connection.execute(
                "SELECT chat_id, COUNT(*), SUM(status = 'sent') FROM deliveries GROUP BY chat_id"
            )
            parts = {int(row[0]): (int(row[1]), int(row[2])) for row in await cursor.fetchall()}

    received = Counter(normalize_chat_id(m["chat_id"]) for m in api.sent_messages())
    duplicates = sum(1 for chat, count in received.items() if count > parts.get(chat, (0, 0))[0])
    everyone = chats + ([FORUM] if topics else [])
    missing = sum(1 for chat in everyone if received.get(chat, 0) < parts.get(chat, (1, 0))[0])
    others_done = max(at for at, chat in api.arrivals if chat != FORUM) - queued_at
    unsent = sum(count - done for count, done in parts.values())
    messages = sum(received.values())
    multi_part = sum(1 for count, _ in parts.values() if count > 1)
    minimum = messages / OVERALL_LIMIT
    sending = finished - queued_at
    total_time = finished - started

    rows = [
        ("chats (private + groups)", f"{len(chats)} ({len(chats) - groups} + {groups})"),
        ("forum topics in one group", f"{topics}"),
        ("digests queued", f"{queued}"),
        ("messages delivered", f"{messages} (sent by worker: {sent})"),
        ("chats with >1 message queued", f"{multi_part}"),
        ("queueing (tick) s", f"{queued_at - started:.2f}"),
        ("sending s", f"{sending:.2f}"),
        ("total s", f"{total_time:.2f}"),
        ("last non-forum chat served s", f"{others_done:.2f}"),
        ("limit minimum s (msgs/30)", f"{minimum:.2f}"),
        ("forum's own minimum s (20/min)", f"{60.0 * ((topics - 1) // 20):.2f}"),
        ("ratio sending / minimum", f"{sending / minimum:.3f}"),
        ("ratio total / minimum", f"{total_time / minimum:.3f}"),
        ("429s (api.flood_errors)", f"{api.flood_errors}"),
        ("duplicates (chats)", f"{duplicates}"),
        ("missing (chats)", f"{missing}"),
        ("outbox rows not sent", f"{unsent}"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100, help="how many of them are groups")
    parser.add_argument("--topics", type=int, default=0, help="subscribed topics of one forum")
    args = parser.parse_args()
    asyncio.run(run(args.chats, min(args.groups, args.chats), args.topics))


if __name__ == "__main__":
    main()
