"""Start the bot: open the store, load the encoders, seed sample articles, run the adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

from bot.adapters.base import Adapter
from bot.config import Settings
from bot.delivery import DeliveryWorker
from bot.router import Dispatcher
from bot.scheduler import DigestScheduler
from handlers import build_router
from news.errors import UserError
from news.ingest import from_bytes
from news.knowledge import Knowledge
from storage.chats import get_meta, set_meta
from storage.db import Database

log = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
_EXAMPLES_MARKER = "examples_loaded"


async def load_examples(knowledge: Knowledge, directory: Path) -> int:
    """Add the sample articles once per store (a removed sample is not re-added on restart)."""
    if await get_meta(knowledge.db, _EXAMPLES_MARKER):
        return 0
    added = 0
    for path in sorted(directory.glob("*")):
        if path.suffix.lower() not in (".txt", ".md", ".html"):
            continue
        try:
            result = await knowledge.add(
                from_bytes(path.read_bytes(), path.name), added_by="examples"
            )
        except UserError as error:
            log.warning("sample article %s refused: %s", path.name, error)
            continue
        added += int(result.created)
    await set_meta(knowledge.db, _EXAMPLES_MARKER, "1")
    return added


def build_adapters(
    dispatcher: Dispatcher, settings: Settings, *, console_only: bool
) -> list[Adapter]:
    """The adapters to run: every configured chat platform, else the console."""
    adapters: list[Adapter] = []
    if not console_only and settings.telegram_token:
        from bot.adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(dispatcher, settings))
    if not console_only and settings.discord_token:
        from bot.adapters.discord import DiscordAdapter

        adapters.append(DiscordAdapter(dispatcher, settings))
    if not adapters:
        from bot.adapters.console import ConsoleAdapter

        adapters.append(ConsoleAdapter(dispatcher))
    return adapters


async def run_bot(settings: Settings, *, console_only: bool = False) -> None:
    """Run until Ctrl-C (or, on the console, end of input)."""
    started = time.perf_counter()
    async with Database(settings.db) as db:
        knowledge = Knowledge(db)
        await knowledge.warm_up()  # users never wait for the encoders
        try:
            await _serve(knowledge, db, settings, started, console_only=console_only)
        finally:
            await knowledge.close()


async def _serve(
    knowledge: Knowledge, db: Database, settings: Settings, started: float, *, console_only: bool
) -> None:
    """Load the samples, start the adapters and the digests, and wait for a stop."""
    examples = Path(settings.examples_dir) if settings.examples_dir else EXAMPLES_DIR
    if examples.is_dir():
        added = await load_examples(knowledge, examples)
        if added:  # the matrices loaded by warm_up were extended by each add
            log.info("loaded %d sample articles from %s", added, examples)
    # A store written by an older version is upgraded while the bot answers.
    knowledge.start_upgrade()
    dispatcher = Dispatcher(build_router(), knowledge, settings)
    adapters = build_adapters(dispatcher, settings, console_only=console_only)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    for adapter in adapters:
        await adapter.start()
    worker = DeliveryWorker(
        db, {adapter.platform: adapter for adapter in adapters}, admins=settings.admin_keys
    )
    scheduler = DigestScheduler(knowledge, worker, announce_empty=settings.announce_empty_digests)
    async with worker, scheduler:
        log.info(
            "ready in %.2f s: %s",
            time.perf_counter() - started,
            ", ".join(a.platform for a in adapters),
        )
        waiters = [asyncio.create_task(stop.wait())] + [
            asyncio.create_task(adapter.stopped.wait()) for adapter in adapters
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()
    for adapter in reversed(adapters):
        await adapter.stop()
    log.info("stopped")
