"""Latency of the Discord adapter: from an injected event to the reply arriving at the fake.

Usage: python benchmarks/latency_discord.py [--rounds 1] [--warmup 10] [--write]

Runs the real DiscordAdapter (real discord.py, real store with the sample articles, real
encoders) against tests/fakes/discord_api.FakeDiscord on 127.0.0.1 and asks ~30 questions, in
English and Arabic, three ways:

* slash  -- INTERACTION_CREATE for /ask until the answer replaces the "thinking" placeholder
            (also: until the defer, i.e. what the user sees as "newsbot is thinking…");
* mention -- MESSAGE_CREATE "@newsbot question" in a guild channel until the reply is posted;
* button  -- a press of "More from this article" until the article is shown.

Prints median, p95 and max per path. The loopback network makes these the bot's own costs
(gateway parsing, core, rendering, REST), not Discord's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.discord import DiscordAdapter
from bot.app import EXAMPLES_DIR, load_examples
from bot.config import Settings
from bot.router import Dispatcher
from handlers import build_router
from news.knowledge import Knowledge
from storage.db import Database
from tests.fakes.discord_api import DEFAULT_BOT_ID, FAKE_TOKEN, FakeDiscord

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_latency_common import QUESTIONS, format_table, report


async def run(rounds: int, warmup: int = 10) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {
        "slash: defer": [],
        "slash: answer": [],
        "mention: reply": [],
        "button: article": [],
    }
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.db"
        settings = Settings(
            db=str(path),
            discord_token=FAKE_TOKEN,
            admins="",
            questions_per_minute=1_000_000,
            examples_dir=None,
        )
        async with Database(path) as db, FakeDiscord(token=FAKE_TOKEN) as fake:
            knowledge = Knowledge(db)
            await knowledge.warm_up()
            await load_examples(knowledge, EXAMPLES_DIR)
            await knowledge.warm_up()
            # The encoders' first queries are slow (lazy initialisation inside the libraries);
            # pay for that before timing. The core caches no answers, so this is only warm-up.
            for question in QUESTIONS[:warmup]:
                await knowledge.ask(question)
            adapter = DiscordAdapter(
                Dispatcher(build_router(), knowledge, settings), settings, guild_ready_timeout=0.05
            )
            async with adapter:
                for _ in range(rounds):
                    for question in QUESTIONS:
                        await measure(fake, question, timings)
    return timings


async def measure(fake: FakeDiscord, question: str, timings: dict[str, list[float]]) -> None:
    started = time.perf_counter()
    payload = await fake.send_interaction("ask", {"question": question})
    token = payload["token"]
    await fake.wait_for(lambda: fake.interaction_responses(token))
    timings["slash: defer"].append(time.perf_counter() - started)
    [answer] = await fake.wait_for(lambda: fake.original_response_edits(token))
    timings["slash: answer"].append(time.perf_counter() - started)

    before = len(fake.channel_messages())
    started = time.perf_counter()
    await fake.send_message_create(content=f"<@{DEFAULT_BOT_ID}> {question}")
    await fake.wait_for(before + 1)
    timings["mention: reply"].append(time.perf_counter() - started)

    buttons = [c for row in answer.get("components") or [] for c in row["components"]]
    if buttons:
        started = time.perf_counter()
        click = await fake.send_component_interaction(buttons[0]["custom_id"], answer["id"])
        await fake.wait_for(lambda: fake.interaction_responses(click["token"]))
        timings["button: article"].append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each question is asked")
    parser.add_argument("--warmup", type=int, default=10, help="untimed questions first")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    timings = asyncio.run(run(args.rounds, args.warmup))
    command = "python benchmarks/latency_discord.py" + (" --write" if args.write else "")
    report(format_table(timings), "discord-latency", command, args.write)


if __name__ == "__main__":
    main()
