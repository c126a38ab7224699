"""End-to-end tests of the Telegram adapter: the real python-telegram-bot, the real dispatcher,
handlers, encoders and a real SQLite file, against the fake Bot API server on 127.0.0.1.

A test reads like a chat: push an update to the fake, wait for what the bot sent. Nothing of our
own is mocked. "Nothing was sent" is checked with a barrier rather than a sleep: updates of one
chat are handled in order, so once the reply to a later message has arrived, an earlier message
that was going to be answered would have been.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.adapters.base import SendError
from bot.adapters.telegram import TelegramAdapter, file_url_for
from bot.app import load_examples
from bot.config import Settings
from bot.render import TELEGRAM_LIMIT
from bot.router import Dispatcher
from bot.types import Button, Conversation, Incoming, Reply, User
from handlers import build_router
from news.knowledge import Knowledge
from storage.articles import count_articles
from storage.db import Database

from .fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOKEN = "123:ABC"
ADMIN = 42
USER = 7
GROUP = -1001234567890
WAIT = 30.0  # generous upper bound for a reply; never a measured duration
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"

BRIDGE = (
    "title: Harbor Bridge reopens after repairs\n\n"
    "The city of Port Elwood reopened the Harbor Bridge on Monday after eight months of repairs. "
    "The repairs cost 42 million dollars, according to mayor Dana Whitfield. "
    "About 30,000 cars cross the bridge every day. "
    "Engineers replaced 120 steel cables and repainted the towers."
)
ORCHARD = (
    b"title: Valley orchards expect a record apple harvest\n"
    b"source: Farm Weekly\n\n"
    b"Growers in the Greenfield valley expect to pick 85,000 tonnes of apples this autumn, "
    b"a record. The cooperative's chairman, Omar Haddad, said the mild spring protected the "
    b"blossoms. Prices are expected to fall slightly because of the large supply."
)
MARKUP_ARTICLE = (
    "title: Tips <b>bold</b> & <i>tricks</i> for ferry travel\n\n"
    "The Northern Ferry Company added four night crossings between Arlow and Bexmoor in May. "
    "Tickets for the night crossings cost 18 euros."
)


@dataclass
class Bot:
    """A running adapter and its surroundings."""

    api: FakeTelegramAPI
    adapter: TelegramAdapter
    db: Database
    settings: Settings

    def say(self, text: str, user: int = USER, chat: int | None = None, **extra: Any) -> int:
        """Push a text message; returns its message id."""
        update = self.api.text_message(chat if chat is not None else user, user, text, **extra)
        self.api.push_update(update)
        return int(update["message"]["message_id"])

    async def replies(self, n: int, chat: int = USER) -> list[dict[str, Any]]:
        """Wait for at least ``n`` messages sent to ``chat``; return them all."""
        return await self.api.wait_for_messages(n, chat_id=chat, timeout=WAIT)

    async def ask(self, text: str, user: int = USER) -> dict[str, Any]:
        """Send ``text`` in ``user``'s private chat and return the next message the bot sends."""
        before = len(self.api.sent_messages(user))
        self.say(text, user)
        return (await self.replies(before + 1, user))[before]


def _settings(db: Path, api: FakeTelegramAPI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db": str(db),
        "telegram_token": TOKEN,
        "telegram_api_url": api.base_url,
        "telegram_file_url": api.base_file_url,
        "admins": f"telegram:{ADMIN}",
        "questions_per_minute": 100,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the sample articles, built once per module (encoding costs seconds)."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"

    async def build() -> None:
        async with Database(path) as db:
            assert await load_examples(Knowledge(db), EXAMPLES) == 4

    asyncio.run(build())
    return path


def _copy_db(seeded: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(seeded) + suffix)
        if source.exists():
            shutil.copy(source, str(target) + suffix)
    return target


@pytest_asyncio.fixture
async def bot(seeded_db: Path, tmp_path: Path) -> AsyncIterator[Bot]:
    path = _copy_db(seeded_db, tmp_path / "newsbot.db")
    async with FakeTelegramAPI() as api, Database(path) as db:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        settings = _settings(path, api)
        adapter = TelegramAdapter(
            Dispatcher(build_router(), knowledge, settings), settings, poll_timeout=5
        )
        await adapter.start()
        try:
            yield Bot(api, adapter, db, settings)
        finally:
            await adapter.stop()
        assert adapter.stopped.is_set()
        assert api.unknown_methods == []


# --------------------------------------------------------------------------- commands


async def test_start_and_help_list_the_commands_the_user_may_use(bot: Bot) -> None:
    start = await bot.ask("/start")
    assert start["parse_mode"] == "HTML"
    assert "Hello" in start["text"]
    assert "/ask" in start["text"] and "/add" not in start["text"]

    user_help = await bot.ask("/help")
    assert "/articles" in user_help["text"] and "/add" not in user_help["text"]

    admin_help = await bot.ask("/help", user=ADMIN)
    assert "/add" in admin_help["text"] and "/remove" in admin_help["text"]
    assert "reply_parameters" not in admin_help  # private chats are not threaded replies


async def test_command_menus_are_published_per_scope_and_language(bot: Bot) -> None:
    default = [c["command"] for c in bot.api.get_commands()]
    assert {"start", "help", "ask", "articles", "article"} <= set(default)
    assert "add" not in default and "language" not in default

    admin_scope = {"type": "chat", "chat_id": ADMIN}
    admin_menu = [c["command"] for c in bot.api.get_commands(admin_scope)]
    assert {"add", "remove", "ask", "language"} <= set(admin_menu)

    private = [c["command"] for c in bot.api.get_commands({"type": "all_private_chats"})]
    assert "language" in private and "add" not in private

    arabic = bot.api.get_commands(language_code="ar")
    assert [c["command"] for c in arabic] == default
    assert any("\u0600" <= ch <= "\u06ff" for c in arabic for ch in c["description"])
    assert all(c["description"] for c in bot.api.get_commands())


# --------------------------------------------------------------------------- questions


async def test_question_is_answered_with_quote_and_citation(bot: Bot) -> None:
    reply = await bot.ask("How many GPUs did DeepSeek need to train V3?")
    assert reply["parse_mode"] == "HTML"
    assert "2000" in reply["text"]
    assert "#1" in reply["text"] and "DeepSeek-R1" in reply["text"]
    [[button]] = reply["reply_markup"]["inline_keyboard"]
    assert button["callback_data"] == "article:1"


async def test_arabic_and_latin_runs_are_bidi_isolated(bot: Bot) -> None:
    english = await bot.ask("How many GPUs did DeepSeek need to train V3?")
    # An English reply quoting an Arabic sentence: the Arabic runs are isolated (RLI … PDI).
    assert RLI in english["text"] and PDI in english["text"]

    arabic = await bot.ask("ما هو ترخيص DeepSeek-R1؟")
    # An Arabic reply: the Latin names inside it are isolated (LRI … PDI).
    assert LRI in arabic["text"] and PDI in arabic["text"]
    assert "DeepSeek" in arabic["text"]


async def test_markup_in_user_text_is_escaped(bot: Bot) -> None:
    reply = await bot.ask("What did <b>DeepSeek</b> & NVIDIA <i>claim</i>?")
    # The fake validates parse_mode=HTML like Telegram (a stray tag would be a 400), and the
    # question's own tags never reach the HTML.
    assert reply["parse_mode"] == "HTML"
    assert "<b>DeepSeek</b>" not in reply["text"] and "<i>claim</i>" not in reply["text"]

    [message_id] = await bot.adapter.send(
        Conversation("telegram", str(USER)), Reply.text("a <b>b</b> & c < d")
    )
    sent = bot.api.sent_messages(USER)[-1]
    assert sent["message_id"] == int(message_id)
    assert sent["text"] == "a &lt;b&gt;b&lt;/b&gt; &amp; c &lt; d"
    assert bot.api.get_message(USER, int(message_id))["text"] == "a <b>b</b> & c < d"


# --------------------------------------------------------------------------- adding articles


async def test_admin_adds_article_by_text_and_a_user_gets_it(bot: Bot) -> None:
    before = await count_articles(bot.db)
    added = await bot.ask(f"/add {BRIDGE}", user=ADMIN)
    assert "Added article #5" in added["text"]
    assert "Harbor Bridge reopens after repairs" in added["text"]
    assert await count_articles(bot.db) == before + 1

    answer = await bot.ask("How many cars cross the Harbor Bridge every day?")
    assert "30,000" in answer["text"]
    assert "Harbor Bridge reopens after repairs" in answer["text"] and "#5" in answer["text"]


async def test_admin_adds_article_by_document_upload(bot: Bot) -> None:
    bot.api.add_file("orchard-1", ORCHARD, "orchard.txt", "text/plain")
    update = bot.api.document_message(
        ADMIN, ADMIN, "orchard-1", "orchard.txt", "text/plain", caption="/add"
    )
    bot.api.push_update(update)
    [added] = await bot.replies(1, ADMIN)
    assert "Added article #5" in added["text"]
    assert "Valley orchards expect a record apple harvest" in added["text"]
    assert bot.api.calls_of("getFile") == [{"file_id": "orchard-1"}]

    answer = await bot.ask("How many tonnes of apples do Greenfield growers expect?")
    assert "85,000" in answer["text"] and "Farm Weekly" in answer["text"]


async def test_add_as_reply_uses_the_replied_message_and_escapes_the_title(bot: Bot) -> None:
    chat = -1009876543210
    article = bot.say(MARKUP_ARTICLE, user=USER, chat=chat)  # someone posts an article
    command = bot.say("/add", user=ADMIN, chat=chat, reply_to_bot_message_id=article)
    [added] = await bot.replies(1, chat)
    assert added["reply_parameters"]["message_id"] == command
    assert "Added article #5" in added["text"]
    assert "Tips &lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;tricks&lt;/i&gt;" in added["text"]
    assert "<b>bold</b>" not in added["text"]


async def test_non_admin_add_is_refused_and_nothing_is_stored(bot: Bot) -> None:
    before = await count_articles(bot.db)
    refused = await bot.ask(f"/add {BRIDGE}")
    assert "Only the bot's admins" in refused["text"]

    bot.api.add_file("doc-x", ORCHARD, "orchard.txt", "text/plain")
    bot.api.push_update(
        bot.api.document_message(USER, USER, "doc-x", "orchard.txt", caption="/add")
    )
    refused_file = (await bot.replies(2))[1]
    assert "Only the bot's admins" in refused_file["text"]
    assert bot.api.calls_of("getFile") == []  # a refused file is not even downloaded
    assert await count_articles(bot.db) == before


# --------------------------------------------------------------------------- sending


async def test_long_reply_is_split_into_several_messages(bot: Bot) -> None:
    paragraphs = [f"Paragraph {i}: " + "news " * 80 for i in range(40)]  # ~17,000 characters
    reply = Reply.text(*paragraphs)
    reply = Reply(reply.blocks, buttons=(Button("More", "article:1"),))
    ids = await bot.adapter.send(Conversation("telegram", str(USER)), reply)

    sent = bot.api.sent_messages(USER)
    assert len(sent) == len(ids) > 3
    assert [str(m["message_id"]) for m in sent] == ids
    assert all(len(m["text"]) <= TELEGRAM_LIMIT for m in sent)
    text = "\n\n".join(m["text"] for m in sent)
    assert all(f"Paragraph {i}:" in text for i in range(40))
    assert text.index("Paragraph 3:") < text.index("Paragraph 39:")
    assert [("reply_markup" in m) for m in sent] == [False] * (len(sent) - 1) + [True]


async def test_flood_control_is_retried_and_the_reply_arrives_once(bot: Bot) -> None:
    bot.api.fail_next("sendMessage", times=2, retry_after=0.1)
    first = await bot.ask("/help")
    second = await bot.ask("/start")  # barrier: a duplicate of the first would come before
    assert "/ask" in first["text"] and "Hello" in second["text"]
    assert len(bot.api.sent_messages(USER)) == 2
    assert len(bot.api.calls_of("sendMessage")) == 4
    assert bot.api.injected_failures == 2


async def test_a_reply_refused_with_a_server_error_is_sent_again_once(bot: Bot) -> None:
    bot.api.fail_next("sendMessage", error_code=500, description="Internal Server Error")
    first = await bot.ask("/help")
    second = await bot.ask("/start")  # barrier: a duplicate of the first would come before
    assert "/ask" in first["text"] and "Hello" in second["text"]
    assert len(bot.api.sent_messages(USER)) == 2
    assert bot.api.injected_failures == 1


async def test_a_long_reply_failing_part_way_goes_on_from_the_part_that_failed(bot: Bot) -> None:
    paragraphs = [f"Paragraph {i}: " + "news " * 80 for i in range(40)]  # several messages
    reply = Reply.text(*paragraphs)
    bot.api.fail_next("sendMessage", error_code=502, description="Bad Gateway", after=1)
    incoming = Incoming(Conversation("telegram", str(USER)), User("telegram", str(USER)), "/x")
    await bot.adapter._reply(incoming, reply)
    text = "\n\n".join(m["text"] for m in bot.api.sent_messages(USER))
    assert all(text.count(f"Paragraph {i}:") == 1 for i in range(40))  # each once, none lost


async def test_a_reply_telegram_rejects_is_not_sent_again(bot: Bot) -> None:
    bot.api.fail_next("sendMessage", error_code=400, description="Bad Request: message is too long")
    bot.say("/help")
    await bot.api.wait_for_calls("sendMessage", 1, timeout=WAIT)
    second = await bot.ask("/articles")  # barrier: a second try of /help would come before
    assert "Articles" in second["text"]
    assert len(bot.api.calls_of("sendMessage")) == 2  # the refused /help, then /articles


async def test_send_maps_errors_to_send_error(bot: Bot) -> None:
    conversation = Conversation("telegram", str(USER))
    bot.api.forbid_chat(USER)
    with pytest.raises(SendError) as blocked:
        await bot.adapter.send(conversation, Reply.text("digest"))
    assert blocked.value.permanent
    bot.api.allow_chat(USER)

    bot.api.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
    with pytest.raises(SendError) as gone:
        await bot.adapter.send(conversation, Reply.text("digest"))
    assert gone.value.permanent

    calls = len(bot.api.calls_of("sendMessage"))
    bot.api.fail_next("sendMessage", times=6, retry_after=0.01)  # the first try and 5 retries
    with pytest.raises(SendError) as flooded:
        await bot.adapter.send(conversation, Reply.text("digest"))
    assert not flooded.value.permanent and flooded.value.retry_after is not None
    assert len(bot.api.calls_of("sendMessage")) == calls + 6

    assert await bot.adapter.send(conversation, Reply.text("digest"))


# --------------------------------------------------------------------------- groups


async def test_group_answers_only_mentions_replies_and_commands(bot: Bot) -> None:
    question = "How many GPUs did DeepSeek need to train V3?"
    bot.say(question, chat=GROUP)  # not addressed to the bot: ignored
    bot.say("/help@some_other_bot", chat=GROUP)  # another bot's command: ignored
    mention = bot.say(f"@{BOT_USERNAME} {question}", chat=GROUP)
    [answer] = await bot.replies(1, GROUP)
    assert "2000" in answer["text"]
    assert answer["reply_parameters"]["message_id"] == mention

    follow_up = bot.say(
        "What license is DeepSeek-R1 under?",
        chat=GROUP,
        reply_to_bot_message_id=answer["message_id"],
    )
    command = bot.say(f"/help@{BOT_USERNAME}", chat=GROUP)
    _, license_answer, help_reply = await bot.replies(3, GROUP)
    assert license_answer["reply_parameters"]["message_id"] == follow_up
    assert "DeepSeek-R1" in license_answer["text"]
    assert help_reply["reply_parameters"]["message_id"] == command
    assert len(bot.api.sent_messages(GROUP)) == 3


async def test_forum_topic_replies_stay_in_the_topic(bot: Bot) -> None:
    bot.say(f"@{BOT_USERNAME} /help", chat=GROUP, message_thread_id=77)
    [reply] = await bot.replies(1, GROUP)
    assert reply["message_thread_id"] == 77
    assert "/ask" in reply["text"]


async def test_chat_admin_commands_check_the_member_status(bot: Bot) -> None:
    bot.api.set_admins(GROUP, {USER})
    bot.say("/language en", user=USER + 1, chat=GROUP)
    bot.say("/language en", user=USER, chat=GROUP)
    refused, accepted = await bot.replies(2, GROUP)
    assert "Only this chat's admins" in refused["text"]
    assert "English" in accepted["text"] and "Only" not in accepted["text"]
    asked = {params["user_id"] for params in bot.api.calls_of("getChatMember")}
    assert asked == {USER, USER + 1}

    bot.say(f"/help@{BOT_USERNAME}", user=USER + 2, chat=GROUP)  # anyone's command: no lookup
    await bot.replies(3, GROUP)
    assert len(bot.api.calls_of("getChatMember")) == 2

    # An anonymous admin posts as the group, through Telegram's GroupAnonymousBot.
    update = bot.api.text_message(GROUP, 1087968824, "/language en", first_name="Group")
    update["message"]["from"]["is_bot"] = True
    update["message"]["sender_chat"] = update["message"]["chat"]
    bot.api.push_update(update)
    anonymous = (await bot.replies(4, GROUP))[3]
    assert "English" in anonymous["text"] and "Only" not in anonymous["text"]
    assert len(bot.api.calls_of("getChatMember")) == 2


# --------------------------------------------------------------------------- buttons


async def test_button_press_is_answered(bot: Bot) -> None:
    answer = await bot.ask("How many GPUs did DeepSeek need to train V3?")
    data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data == "article:1"
    bot.api.push_update(bot.api.callback_query(USER, USER, answer["message_id"], data))
    details = (await bot.replies(2))[1]
    assert "Article #1" in details["text"] and "<blockquote>" in details["text"]
    [answered] = await bot.api.wait_for_calls("answerCallbackQuery", 1, timeout=WAIT)
    assert answered["callback_query_id"]


async def test_button_error_is_shown_as_an_alert(bot: Bot) -> None:
    answer = await bot.ask("/start")
    bot.api.push_update(bot.api.callback_query(USER, USER, answer["message_id"], "article:99"))
    [alert] = await bot.api.wait_for_calls("answerCallbackQuery", 1, timeout=WAIT)
    assert "no article #99" in alert["text"] and alert["show_alert"] is True
    await bot.ask("/help")  # barrier
    assert len(bot.api.sent_messages(USER)) == 2


async def test_paging_button_edits_the_list_in_place(bot: Bot) -> None:
    listing = await bot.ask("/articles")
    assert "#4" in listing["text"]
    bot.api.push_update(bot.api.callback_query(USER, USER, listing["message_id"], "articles:1"))
    await bot.api.wait_for_calls("answerCallbackQuery", 1, timeout=WAIT)
    await bot.ask("/help")  # barrier
    assert len(bot.api.sent_messages(USER)) == 2  # the same page again: no new message


# --------------------------------------------------------------------------- helpers


async def test_typing_indicator(bot: Bot) -> None:
    bot.adapter.typing_delay = 0.0
    task = bot.adapter._typing(USER, None)
    try:
        [action] = await bot.api.wait_for_calls("sendChatAction", 1, timeout=WAIT)
    finally:
        task.cancel()
    assert action == {"chat_id": USER, "action": "typing"}


def test_file_url_is_derived_from_the_api_url() -> None:
    assert file_url_for("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url_for("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode(seeded_db: Path, tmp_path: Path) -> None:
    path = _copy_db(seeded_db, tmp_path / "newsbot.db")
    port = _free_port()
    async with FakeTelegramAPI() as api, Database(path) as db:
        settings = _settings(
            path,
            api,
            telegram_webhook_url="https://bot.example.org/telegram/hook",
            telegram_webhook_secret="s3cret",
            telegram_webhook_port=port,
        )
        adapter = TelegramAdapter(Dispatcher(build_router(), Knowledge(db), settings), settings)
        await adapter.start()
        try:
            assert api.webhook is not None
            assert api.webhook["url"] == "https://bot.example.org/telegram/hook"
            assert api.webhook["secret_token"] == "s3cret"
            assert api.webhook["allowed_updates"] == ["message", "callback_query"]
            assert not api.calls_of("getUpdates")

            update = api.text_message(USER, USER, "/start")
            url = f"http://127.0.0.1:{port}/telegram/hook"
            async with aiohttp.ClientSession() as session:
                headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                async with session.post(url, data=json.dumps(update), headers=headers) as response:
                    assert response.status == 403
                headers = {
                    "X-Telegram-Bot-Api-Secret-Token": "s3cret",
                    "Content-Type": "application/json",
                }
                async with session.post(url, data=json.dumps(update), headers=headers) as response:
                    assert response.status == 200
            [reply] = await api.wait_for_messages(1, chat_id=USER, timeout=WAIT)
            assert "Hello" in reply["text"]
        finally:
            await adapter.stop()
