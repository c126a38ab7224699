"""Shared chat behaviour, tested once and platform-neutrally: routing, permissions, rate limits,
the one error boundary, languages and rendering of answers. A real SQLite store, real encoders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.render import render_plain
from bot.router import Dispatcher, Router
from bot.types import Attachment, Conversation, Incoming, Reply, User
from handlers import build_router
from news.errors import UserError
from news.knowledge import Knowledge
from storage.articles import count_articles
from storage.db import Database
from tests.conftest import BRIDGE, LIBRARY_AR, build_store, copy_db

PRIVATE = Conversation("test", "1", is_private=True)
GROUP = Conversation("test", "-100", is_private=False)
ALICE = User("test", "1", "alice")
ADMIN = User("test", "99", "admin")


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory, encoders) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("router") / "store.db"
    asyncio.run(build_store(path, [BRIDGE, LIBRARY_AR], encoders))
    return path


@pytest.fixture
async def dispatcher(built_store: Path, tmp_path: Path, encoders) -> AsyncIterator[Dispatcher]:  # type: ignore[no-untyped-def]
    db_path = copy_db(built_store, tmp_path / "store.db")
    settings = Settings(db=str(db_path), admins="test:99", questions_per_minute=3)
    async with Database(db_path) as db:
        yield Dispatcher(build_router(), Knowledge(db, encoders), settings)


def message(
    text: str, *, user: User = ALICE, conversation: Conversation = PRIVATE, addressed: bool = True
) -> Incoming:
    return Incoming(conversation, user, text, addressed=addressed)


async def say(dispatcher: Dispatcher, text: str, **kwargs: object) -> str:
    msg = message(text, **kwargs)  # type: ignore[arg-type]
    admin = dispatcher.is_admin(msg.user.platform, msg.user.id)
    msg = Incoming(msg.conversation, msg.user, msg.text, addressed=msg.addressed, is_admin=admin)
    reply = await dispatcher.handle(msg)
    assert reply is not None
    return render_plain(reply, isolate_runs=False)


async def test_help_lists_admin_commands_only_for_admins(dispatcher: Dispatcher) -> None:
    user_help = await say(dispatcher, "/help")
    admin_help = await say(dispatcher, "/help", user=ADMIN)
    assert "/ask" in user_help and "/add" not in user_help
    assert "/add" in admin_help and "/remove" in admin_help


async def test_start_greets_in_english_and_arabic(dispatcher: Dispatcher) -> None:
    assert "Hello" in await say(dispatcher, "/start")
    await say(dispatcher, "/language ar")
    assert "مرحبًا" in await say(dispatcher, "/start")


async def test_plain_text_in_private_chat_is_a_question(dispatcher: Dispatcher) -> None:
    text = await say(dispatcher, "How much did the bridge repairs cost?")
    assert "42 million" in text
    assert "Harbor Bridge reopens after repairs" in text  # the citation


async def test_group_text_not_addressed_is_ignored(dispatcher: Dispatcher) -> None:
    msg = message("How much did the repairs cost?", conversation=GROUP, addressed=False)
    assert await dispatcher.handle(msg) is None
    msg = message("/ask How much did the repairs cost?", conversation=GROUP, addressed=False)
    assert await dispatcher.handle(msg) is not None


async def test_command_for_another_bot_is_ignored(dispatcher: Dispatcher) -> None:
    msg = message("/help@other_bot", conversation=GROUP, addressed=False)
    assert await dispatcher.handle(msg, bot_username="newsbot") is None


async def test_non_admin_add_is_refused_and_nothing_stored(dispatcher: Dispatcher) -> None:
    before = await count_articles(dispatcher.knowledge.db)
    text = await say(
        dispatcher, "/add title: Sneaky\n\nThis article should never be stored by anyone at all."
    )
    assert "Only the bot's admins" in text
    assert await count_articles(dispatcher.knowledge.db) == before


async def test_admin_add_then_anyone_asks(dispatcher: Dispatcher) -> None:
    article = (
        "title: Ferry service returns\n\nThe island ferry resumed service on Friday after a storm. "
        "The operator said 14 crossings a day are planned for the summer."
    )
    added = await say(dispatcher, f"/add {article}", user=ADMIN)
    assert "Added article #" in added
    again = await say(dispatcher, f"/add {article}", user=ADMIN)
    assert "already stored" in again
    answer = await say(dispatcher, "How many ferry crossings a day are planned?")
    assert "14 crossings" in answer


async def test_chat_settings_need_a_chat_admin_in_groups(dispatcher: Dispatcher) -> None:
    refused = await say(dispatcher, "/language ar", conversation=GROUP)
    assert "Only this chat's admins" in refused
    msg = Incoming(GROUP, ALICE, "/language ar", is_chat_admin=True)
    reply = await dispatcher.handle(msg)
    assert reply is not None and "العربية" in render_plain(reply)


async def test_rate_limit_answers_politely(dispatcher: Dispatcher) -> None:
    for _ in range(3):
        await say(dispatcher, "How much did the bridge repairs cost?")
    text = await say(dispatcher, "How much did the bridge repairs cost?")
    assert "Please wait" in text and "ask again" in text  # "a second" or "N seconds"
    # Another user is not limited by alice's questions.
    other = await say(dispatcher, "How much did the bridge repairs cost?", user=User("test", "2"))
    assert "42 million" in other


async def test_unknown_command_and_usage_errors(dispatcher: Dispatcher) -> None:
    assert "do not know the command /frobnicate" in await say(dispatcher, "/frobnicate")
    assert "/ask" in await say(dispatcher, "/ask")
    assert "article number" in await say(dispatcher, "/remove abc", user=ADMIN)
    assert "no article #999" in await say(dispatcher, "/article 999")


async def test_unexpected_error_is_logged_and_user_gets_an_apology(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router()

    @router.command("boom")
    async def boom(msg: Incoming, ctx: object) -> Reply:
        raise RuntimeError("secret internal detail")

    @router.command("oops")
    async def oops(msg: Incoming, ctx: object) -> Reply:
        raise UserError("That number is not valid.")

    broken = Dispatcher(router, dispatcher.knowledge, dispatcher.settings)
    with caplog.at_level(logging.ERROR):
        reply = await broken.handle(message("/boom"))
    assert reply is not None
    text = render_plain(reply)
    assert "Sorry" in text and "secret internal detail" not in text and "Traceback" not in text
    assert "secret internal detail" in caplog.text  # the traceback went to the log
    reply = await broken.handle(message("/oops"))
    assert reply is not None and "That number is not valid." in render_plain(reply)


async def test_arabic_question_gets_arabic_framing(dispatcher: Dispatcher) -> None:
    text = await say(dispatcher, "كم كتابًا تضم المكتبة الجديدة؟")
    assert "خمسين ألف كتاب" in text
    assert "إليك ما وجدته" in text or "بحسب" in text


async def test_questions_made_of_syntax_get_a_clear_answer(dispatcher: Dispatcher) -> None:
    for text in ['"', "*", "NEAR(", "AND", "-", "😀😀", "\u202e\u2066", "x" * 10_000]:
        reply = await say(dispatcher, f"/ask {text}")
        assert reply.strip()
        assert "Sorry" not in reply  # never the apology for an internal error


async def test_a_file_sent_alone_is_an_article_to_add(dispatcher: Dispatcher) -> None:
    data = (
        b"title: Tram line extended\n\nThe city extended its tram line by 6 kilometres to the "
        b"airport, the transport authority said on Tuesday."
    )
    attachment = Attachment("tram.txt", len(data), "text/plain", data)
    refused = await dispatcher.handle(Incoming(PRIVATE, ALICE, "", attachments=(attachment,)))
    assert refused is not None and "Only the bot's admins" in render_plain(refused)
    added = await dispatcher.handle(
        Incoming(PRIVATE, ADMIN, "", is_admin=True, attachments=(attachment,))
    )
    assert added is not None and "Added article #" in render_plain(added)
