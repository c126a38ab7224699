"""Latency of the Telegram adapter: from a pushed update to the reply's sendMessage at the fake.

Usage: python benchmarks/latency_telegram.py [--rounds 1] [--warmup 10] [--write]

Runs the real TelegramAdapter (real python-telegram-bot with AIORateLimiter, long polling; real
store with the sample articles; real encoders) against tests/fakes/telegram_api.FakeTelegramAPI on
127.0.0.1 and asks ~30 questions, in English and Arabic, several ways:

* private  -- a plain question in a private chat until the answer's sendMessage arrives;
* group    -- "@bot question" in a supergroup until the (threaded) reply arrives (a new group
              per question, so the 20-messages-a-minute group limit does not throttle the loop);
* button   -- a press of "More from this article" until the article is sent;
* /help    -- a command that touches no index: the transport's own cost;
* core     -- Dispatcher.handle called directly (no Telegram at all), for comparison.

Prints median, p95 and max per path. The loopback network makes these the bot's own costs
(long-poll wake-up, update parsing, core, rendering, sendMessage), not Telegram's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.telegram import TelegramAdapter
from bot.app import EXAMPLES_DIR, load_examples
from bot.config import Settings
from bot.router import Dispatcher
from bot.types import Conversation, Incoming, User
from handlers import build_router
from news.knowledge import Knowledge
from storage.db import Database
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_latency_common import QUESTIONS, format_table, report

USER = 7
GROUP = -1001234567890


async def run(rounds: int, warmup: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {
        "private: answer": [],
        "group: answer": [],
        "button: article": [],
        "/help": [],
        "core only": [],
    }
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        async with Database(path) as db, FakeTelegramAPI() as api:
            settings = Settings(
                db=str(path),
                telegram_token="123:BENCH",
                telegram_api_url=api.base_url,
                telegram_file_url=api.base_file_url,
                admins="",
                questions_per_minute=1_000_000,
                examples_dir=None,
            )
            knowledge = Knowledge(db)
            await knowledge.warm_up()
            await load_examples(knowledge, EXAMPLES_DIR)
            await knowledge.warm_up()
            # The encoders' first queries are slow (lazy initialisation inside the libraries);
            # pay for that before timing. The core caches no answers, so this is only warm-up.
            for question in QUESTIONS[:warmup]:
                await knowledge.ask(question)
            dispatcher = Dispatcher(build_router(), knowledge, settings)
            async with TelegramAdapter(dispatcher, settings):
                for _ in range(rounds):
                    for question in QUESTIONS:
                        await measure(api, dispatcher, question, timings)
    return timings


async def push_and_wait(api: FakeTelegramAPI, update: dict[str, Any], chat: int) -> dict[str, Any]:
    before = len(api.sent_messages(chat))
    api.push_update(update)
    return (await api.wait_for_messages(before + 1, chat_id=chat, timeout=60))[before]


async def measure(
    api: FakeTelegramAPI, dispatcher: Dispatcher, question: str, timings: dict[str, list[float]]
) -> None:
    started = time.perf_counter()
    answer = await push_and_wait(api, api.text_message(USER, USER, question), USER)
    timings["private: answer"].append(time.perf_counter() - started)

    # A fresh group each time: AIORateLimiter holds one group to Telegram's 20 messages a
    # minute, which a tight loop would hit (that is throttling, not latency).
    group = GROUP - len(timings["group: answer"])
    update = api.text_message(group, USER, f"@{BOT_USERNAME} {question}")
    started = time.perf_counter()
    await push_and_wait(api, update, group)
    timings["group: answer"].append(time.perf_counter() - started)

    keyboard = (answer.get("reply_markup") or {}).get("inline_keyboard") or []
    if keyboard:
        update = api.callback_query(
            USER, USER, answer["message_id"], keyboard[0][0]["callback_data"]
        )
        started = time.perf_counter()
        await push_and_wait(api, update, USER)
        timings["button: article"].append(time.perf_counter() - started)

    started = time.perf_counter()
    await push_and_wait(api, api.text_message(USER, USER, "/help"), USER)
    timings["/help"].append(time.perf_counter() - started)

    msg = Incoming(
        Conversation("telegram", str(USER)),
        User("telegram", str(USER)),
        question,
        sent_at=datetime.now(UTC),
    )
    started = time.perf_counter()
    await dispatcher.handle(msg, bot_username=BOT_USERNAME)
    timings["core only"].append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each question is asked")
    parser.add_argument("--warmup", type=int, default=10, help="untimed questions first")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    timings = asyncio.run(run(args.rounds, args.warmup))
    private, core = timings["private: answer"], timings["core only"]
    overhead = statistics.median(p - c for p, c in zip(private, core, strict=True))
    table = (
        format_table(timings)
        + f"\n\nmedian adapter overhead per question (private - core): {1000 * overhead:.1f} ms"
    )
    command = "python benchmarks/latency_telegram.py" + (" --write" if args.write else "")
    report(table, "telegram-latency", command, args.write)


if __name__ == "__main__":
    main()
