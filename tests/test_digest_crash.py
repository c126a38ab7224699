"""The bot killed (SIGKILL) in the middle of delivering digests to many chats, then restarted.

A real ``python -m bot run`` subprocess talks to a fake Bot API running in this test's process.
Sixty chats are subscribed and due when the bot starts. After twenty digests have been accepted,
the fake holds every further ``sendMessage`` of that process: it neither answers nor records it,
so the messages in flight at the kill are, from Telegram's side, never delivered. The test kills
the bot only once no request is being answered and every accepted message is marked sent in the
outbox: the one window where the outbox design allows a repeat (a crash between the platform's
acceptance and our marking) is thus closed on purpose, and every chat must end with its digest
exactly once.

The two runs use different bot tokens (the fake accepts any), which tells the fake which process
a request comes from: a request of the killed process still in a socket buffer is held as well.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from news.ingest import from_text
from news.knowledge import Knowledge
from storage import subscriptions as subscription_store
from storage.db import Database

from .fakes.telegram_api import FakeTelegramAPI, JSONDict, normalize_chat_id

ROOT = Path(__file__).resolve().parents[1]
FIRST_TOKEN = "111:FIRSTRUN"
SECOND_TOKEN = "222:SECONDRUN"
PRIVATE_CHATS = [8000 + n for n in range(45)]
GROUPS = [-1008000000 - n for n in range(15)]
CHATS = PRIVATE_CHATS + GROUPS
HOLD_AFTER = 20
DEADLINE = 120.0  # generous upper bound for a condition to come true; never a measured duration

ARTICLE = (
    "title: Tram line to the airport approved\n"
    "source: City Times\n\n"
    "The Port Elwood council approved a 9 kilometre tram line to the airport on Saturday. "
    "The line will cost 210 million dollars, said transport chief Marta Ilves."
)
TITLE = "Tram line to the airport approved"


class HoldingTelegramAPI(FakeTelegramAPI):
    """Once ``hold_after`` digests were accepted, holds the first run's further sends forever.

    A held request is neither answered nor recorded (not in ``calls``, not delivered); it is let
    go with a 502 only after its process is dead.
    """

    def __init__(self, watched: set[int], hold_after: int, hold_token: str) -> None:
        super().__init__()
        self.watched = watched
        self.hold_after = hold_after
        self.hold_token = hold_token
        self.holding = False
        self.held = 0
        self.answering = 0  # sendMessage requests being handled (not held) right now
        self._release = asyncio.Event()

    def digests_delivered(self) -> list[JSONDict]:
        return [
            m
            for m in self.sent_messages()
            if normalize_chat_id(m["chat_id"]) in self.watched and TITLE in m["text"]
        ]

    async def _handle_method(self, request: web.Request) -> web.Response:
        if (
            self.holding
            and request.match_info["token"] == self.hold_token
            and request.match_info["method"].lower() == "sendmessage"
        ):
            self.held += 1
            self._notify()
            await self._release.wait()
            return web.json_response({"ok": False, "error_code": 502}, status=502)
        sending = request.match_info["method"].lower() == "sendmessage"
        self.answering += sending
        try:
            return await super()._handle_method(request)
        finally:
            self.answering -= sending

    def _send_message(self, params: JSONDict) -> JSONDict:
        message = super()._send_message(params)
        if len(self.digests_delivered()) >= self.hold_after:
            self.holding = True  # from the next request of the first run on
        return message

    def release(self) -> None:
        """Answer the held requests (their process is gone; nobody reads the answer)."""
        self._release.set()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one article (encoding it costs a second or two, so it is built once)."""
    path = tmp_path_factory.mktemp("crash_store") / "store.db"

    async def build() -> None:
        async with Database(path) as db:
            assert (await Knowledge(db).add(from_text(ARTICLE), added_by="tests")).created

    asyncio.run(build())
    return path


async def subscribe_all(path: Path) -> dict[int, int]:
    """Every chat subscribed, its last digest long ago, so all are due when the bot starts."""
    ids: dict[int, int] = {}
    async with Database(path) as db:
        for chat in CHATS:
            created, _ = await subscription_store.subscribe(
                db,
                platform="telegram",
                chat_id=str(chat),
                thread_id="",
                schedule="daily 09:00",
                timezone="Europe/Berlin",
                keywords=(),
                language="en",
                created_by="tests",
                last_article_id=0,
                last_period="2025-01-01",
            )
            ids[chat] = created.id
    return ids


def query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the bot's store from outside (WAL lets a reader in while the bot writes)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def outbox_counts(path: Path) -> dict[str, int]:
    return dict(query(path, "SELECT status, COUNT(*) FROM deliveries GROUP BY status"))


def launch(path: Path, api: FakeTelegramAPI, token: str, log: Path, examples: Path) -> Any:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_DB=str(path),
        NEWSBOT_TELEGRAM_TOKEN=token,
        NEWSBOT_TELEGRAM_API_URL=api.base_url,
        NEWSBOT_EXAMPLES_DIR=str(examples),
        NEWSBOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def until(
    condition: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, what: str
) -> None:
    """Wait (polling) until ``condition`` holds; fail at once if the bot died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"bot exited ({process.returncode}) before {what}:\n{log.read_text()}")
        if loop.time() > deadline:
            pytest.fail(f"no {what} within {DEADLINE} s:\n{log.read_text()}")
        await asyncio.sleep(0.05)


async def test_sigkill_mid_delivery_then_restart_delivers_every_digest_once(
    store: Path, tmp_path: Path
) -> None:
    path = tmp_path / "newsbot.db"
    shutil.copyfile(store, path)
    ids = await subscribe_all(path)
    examples = tmp_path / "no-examples"
    examples.mkdir()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    async with HoldingTelegramAPI(set(CHATS), HOLD_AFTER, FIRST_TOKEN) as api:
        first = launch(path, api, FIRST_TOKEN, first_log, examples)
        try:
            # Mid-delivery: some digests accepted and marked sent, the next sends held.
            def mid_delivery() -> bool:
                accepted = len(api.digests_delivered())
                marked = outbox_counts(path).get("sent", 0)
                settled = api.answering == 0 and marked == accepted
                return api.held > 0 and accepted >= HOLD_AFTER and settled

            await until(mid_delivery, first, first_log, "the hold point")
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 30)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        api.release()
        assert first.returncode == -signal.SIGKILL

        accepted_before = len(api.digests_delivered())
        at_kill = outbox_counts(path)
        # All sixty digests were queued at start; part of them sent, the rest still pending.
        assert sum(at_kill.values()) == len(CHATS)
        assert at_kill["sent"] == accepted_before and HOLD_AFTER <= accepted_before < len(CHATS)
        assert at_kill["pending"] == len(CHATS) - accepted_before

        second = launch(path, api, SECOND_TOKEN, second_log, examples)
        try:

            def all_delivered() -> bool:
                chats = {normalize_chat_id(m["chat_id"]) for m in api.digests_delivered()}
                return chats == set(CHATS) and outbox_counts(path) == {"sent": len(CHATS)}

            await until(all_delivered, second, second_log, "every digest")
            second.send_signal(signal.SIGTERM)
            returncode = await asyncio.to_thread(second.wait, 60)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
        assert returncode == 0, second_log.read_text()
        assert "stopped" in second_log.read_text()

    # Exactly once per chat: as many messages as the digest has parts, each recorded in the
    # outbox with the id Telegram gave it.
    delivered: dict[int, list[JSONDict]] = {chat: [] for chat in CHATS}
    for message in api.digests_delivered():
        delivered[normalize_chat_id(message["chat_id"])].append(message)  # type: ignore[index]
    for chat in CHATS:
        parts = query(
            path,
            "SELECT period, part, status, message_ids FROM deliveries "
            "WHERE subscription_id = ? ORDER BY part",
            ids[chat],
        )
        assert len(delivered[chat]) == len(parts) == 1, (chat, delivered[chat], parts)
        assert [p[3] for p in parts] == [str(m["message_id"]) for m in delivered[chat]]
        assert all(p[2] == "sent" for p in parts)
    assert len({p[0] for p in query(path, "SELECT period FROM deliveries")}) == 1
    # The second run delivered the rest, and made up nothing twice.
    assert len(api.digests_delivered()) == len(CHATS)
    assert query(path, "SELECT COUNT(*) FROM subscriptions WHERE active = 1") == [(len(CHATS),)]
