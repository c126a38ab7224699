"""Self-tests of :mod:`tests.fakes.telegram_api`, driving the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, EndPointNotFound, Forbidden, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .telegram_api import BOT_ID, BOT_USERNAME, FakeTelegramAPI

TOKEN = "123456:TEST-TOKEN"
USER_ID = 42
GROUP_ID = -1001234567890

AnyApp = Application[Any, Any, Any, Any, Any, Any]
AnyHandler = BaseHandler[Any, Any, Any]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


def build_app(api: FakeTelegramAPI, rate_limiter: AIORateLimiter | None = None) -> AnyApp:
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    return builder.build()


@asynccontextmanager
async def running_app(
    api: FakeTelegramAPI,
    handlers: Sequence[AnyHandler],
    rate_limiter: AIORateLimiter | None = None,
    poll_timeout: int = 1,
) -> AsyncIterator[AnyApp]:
    """Run a polling Application against the fake; always shut it down."""
    app = build_app(api, rate_limiter)
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def reply_hello(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_user is not None
    await update.effective_message.reply_text(f"Hello {update.effective_user.first_name}!")


@pytest.mark.asyncio
async def test_start_command_is_answered(api: FakeTelegramAPI) -> None:
    async with running_app(api, [CommandHandler("start", reply_hello)]) as app:
        assert app.bot.id == BOT_ID
        assert app.bot.username == BOT_USERNAME
        api.push_update(api.text_message(USER_ID, USER_ID, "/start"))
        [sent] = await api.wait_for_messages(1, chat_id=USER_ID, timeout=3)

    assert sent["chat_id"] == USER_ID
    assert sent["text"] == f"Hello User{USER_ID}!"
    assert sent["message_id"] == 2  # the /start message got id 1 in this chat
    assert [m for m, _ in api.calls][:2] == ["getMe", "deleteWebhook"]
    assert api.pending_updates == []  # confirmed by the final getUpdates(offset=...)
    assert api.unknown_methods == []


@pytest.mark.asyncio
async def test_command_with_botname_in_group(api: FakeTelegramAPI) -> None:
    async with running_app(api, [CommandHandler("start", reply_hello)]):
        update = api.text_message(GROUP_ID, USER_ID, f"/start@{BOT_USERNAME} now")
        assert update["message"]["chat"]["type"] == "supergroup"
        assert update["message"]["entities"] == [
            {"type": "bot_command", "offset": 0, "length": len(f"/start@{BOT_USERNAME}")}
        ]
        api.push_update(update)
        await api.wait_for_messages(1, chat_id=GROUP_ID, timeout=3)
    assert api.sent_messages(USER_ID) == []


@pytest.mark.asyncio
async def test_flood_control_is_retried_once_delivered(api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", times=2, retry_after=0.2)
    limiter = AIORateLimiter(max_retries=3)
    async with running_app(api, [CommandHandler("start", reply_hello)], rate_limiter=limiter):
        api.push_update(api.text_message(USER_ID, USER_ID, "/start"))
        await api.wait_for_messages(1, chat_id=USER_ID, timeout=4)
        await asyncio.sleep(0.3)  # give a (wrong) duplicate the chance to show up

    assert len(api.sent_messages(USER_ID)) == 1
    assert len(api.calls_of("sendMessage")) == 3
    assert api.injected_failures == 2


@pytest.mark.asyncio
async def test_flood_error_surfaces_without_rate_limiter(api: FakeTelegramAPI) -> None:
    api.fail_next("sendMessage", retry_after=1.5)
    async with build_app(api).bot as bot:
        with pytest.raises(RetryAfter, match=r"Retry in (1\.5|0:00:01\.5)"):
            await bot.send_message(USER_ID, "hi")
        await bot.send_message(USER_ID, "hi")
    assert len(api.sent_messages()) == 1


@pytest.mark.asyncio
async def test_document_download(api: FakeTelegramAPI) -> None:
    content = b"<rss><channel><title>t</title></channel></rss>" * 10
    api.add_file("doc-1", content, "feeds.opml", "text/x-opml")
    received: list[bytes] = []

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        document = update.effective_message.document
        assert document is not None and document.file_name == "feeds.opml"
        file = await document.get_file()
        received.append(bytes(await file.download_as_bytearray()))
        await update.effective_message.reply_text(f"got {len(received[0])} bytes")

    handler = MessageHandler(filters.Document.ALL, on_document)
    async with running_app(api, [handler]):
        api.push_update(
            api.document_message(
                USER_ID, USER_ID, "doc-1", "feeds.opml", "text/x-opml", caption="/import"
            )
        )
        [reply] = await api.wait_for_messages(1, timeout=3)

    assert received == [content]
    assert reply["text"] == f"got {len(content)} bytes"
    assert api.calls_of("getFile") == [{"file_id": "doc-1"}]


@pytest.mark.asyncio
async def test_bot_uploads_document(api: FakeTelegramAPI) -> None:
    async with build_app(api).bot as bot:
        message = await bot.send_document(
            USER_ID,
            b"a,b\n1,2\n",
            filename="export.csv",
            caption="<b>Export</b>",
            parse_mode="HTML",
        )
        assert message.document is not None and message.document.file_name == "export.csv"
        assert message.caption == "Export"
        file = await bot.get_file(message.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"
    [sent] = api.sent_documents(USER_ID)
    assert sent["document"].file_name == "export.csv"
    assert sent["document"].content == b"a,b\n1,2\n"


@pytest.mark.asyncio
async def test_shutdown_is_fast_with_pending_long_poll(api: FakeTelegramAPI) -> None:
    async with running_app(api, [], poll_timeout=30):
        await api.wait_for_calls("getUpdates", 1)
        await asyncio.sleep(0.1)  # the long poll is now pending on the server
        started = time.monotonic()
    assert time.monotonic() - started < 2.0


@pytest.mark.asyncio
async def test_stopping_fake_releases_long_poll() -> None:
    api = FakeTelegramAPI()
    await api.start()
    async with aiohttp.ClientSession() as session:
        poll = asyncio.create_task(
            session.post(f"{api.base_url}{TOKEN}/getUpdates", data={"timeout": "30"})
        )
        await api.wait_for_calls("getUpdates", 1)
        started = time.monotonic()
        await api.stop()
        response = await asyncio.wait_for(poll, 3)
        assert await response.json() == {"ok": True, "result": []}
    assert time.monotonic() - started < 2.0


@pytest.mark.asyncio
async def test_callback_query_edit_flow(api: FakeTelegramAPI) -> None:
    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sub", callback_data="sub:1")]])
        await update.effective_message.reply_text("Pick", reply_markup=keyboard)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text(f"Subscribed ({query.data})")

    handlers = [CommandHandler("menu", menu), CallbackQueryHandler(on_button)]
    async with running_app(api, handlers):
        api.push_update(api.text_message(USER_ID, USER_ID, "/menu"))
        [menu_message] = await api.wait_for_messages(1, timeout=3)
        assert menu_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "sub:1"
        api.push_update(api.callback_query(USER_ID, USER_ID, menu_message["message_id"], "sub:1"))
        await api.wait_for_calls("editMessageText", 1, timeout=3)

    [answer] = api.calls_of("answerCallbackQuery")
    assert answer["text"] == "ok"
    stored = api.get_message(USER_ID, menu_message["message_id"])
    assert stored is not None and stored["text"] == "Subscribed (sub:1)"
    assert "reply_markup" not in stored  # editMessageText without markup drops the keyboard


@pytest.mark.asyncio
async def test_errors_forbidden_validation_and_unknown(api: FakeTelegramAPI) -> None:
    api.forbid_chat(GROUP_ID)
    async with build_app(api).bot as bot:
        with pytest.raises(Forbidden, match="kicked"):
            await bot.send_message(GROUP_ID, "hi")
        with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
            await bot.send_message(USER_ID, "a<br>b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="reserved"):
            await bot.send_message(USER_ID, "v1.2", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(USER_ID, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="x" * 65)]])
            await bot.send_message(USER_ID, "hi", reply_markup=markup)
        message = await bot.send_message(USER_ID, "same")
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("same", USER_ID, message.message_id)
        assert await bot.delete_message(USER_ID, message.message_id)
        with pytest.raises(BadRequest, match="not found"):
            await bot.delete_message(USER_ID, message.message_id)
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("fooBar", api_kwargs={"x": 1})
    assert [m for m, _ in api.unknown_methods] == ["fooBar"]
    assert api.sent_messages(GROUP_ID) == []


@pytest.mark.asyncio
async def test_commands_admins_and_chat_action(api: FakeTelegramAPI) -> None:
    api.set_admins(GROUP_ID, {USER_ID})
    async with build_app(api).bot as bot:
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        member = await bot.get_chat_member(GROUP_ID, USER_ID)
        assert member.status == "administrator"
        other = await bot.get_chat_member(GROUP_ID, 7)
        assert other.status == "member"
        admins = await bot.get_chat_administrators(GROUP_ID)
        assert [a.user.id for a in admins] == [USER_ID]
        assert await bot.send_chat_action(USER_ID, "typing")
    assert api.get_commands() == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    [action] = api.calls_of("sendChatAction")
    assert action == {"chat_id": USER_ID, "action": "typing"}


@pytest.mark.asyncio
async def test_enforced_limits() -> None:
    async with FakeTelegramAPI(enforce_limits=True) as api:
        async with build_app(api).bot as bot:
            await bot.send_message(USER_ID, "one")
            with pytest.raises(RetryAfter):
                await bot.send_message(USER_ID, "two")
            await bot.send_message(USER_ID + 1, "other chat is fine")
        assert api.flood_errors == 1
        assert [m["text"] for m in api.sent_messages()] == ["one", "other chat is fine"]


@pytest.mark.asyncio
async def test_enforced_limits_with_rate_limiter_delivers_everything() -> None:
    async with FakeTelegramAPI(enforce_limits=True) as api:
        limiter = AIORateLimiter(max_retries=5)
        async with build_app(api, limiter).bot as bot:
            await asyncio.gather(*(bot.send_message(USER_ID, f"m{i}") for i in range(2)))
        assert sorted(m["text"] for m in api.sent_messages()) == ["m0", "m1"]
        assert api.flood_errors >= 1  # AIORateLimiter has no per-private-chat limit


@pytest.mark.asyncio
async def test_json_and_form_bodies_are_parsed(api: FakeTelegramAPI) -> None:
    url = f"{api.base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"chat_id": 5, "text": "json"}) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["chat"]["id"] == 5
        form = {"chat_id": "5", "text": "123", "reply_markup": '{"inline_keyboard": []}'}
        async with session.post(url, data=form) as response:
            assert (await response.json())["result"]["text"] == "123"
    first, second = api.sent_messages(5)
    assert first["text"] == "json"
    assert second == {
        "chat_id": 5,
        "text": "123",
        "reply_markup": {"inline_keyboard": []},
        "message_id": 2,
    }
