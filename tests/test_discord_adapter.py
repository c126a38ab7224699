"""End to end: the real discord.py client in DiscordAdapter against FakeDiscord, a real SQLite file.

Each test gets a copy of a store prepared once per module (the sample articles, as the bot loads
them on first start), the real encoders, the real router and a fake Discord with a guild where
user 4000 owns the server (and is the configured bot admin) and user 5000 is a plain member.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot.adapters.base import SendError
from bot.adapters.discord import DiscordAdapter
from bot.app import EXAMPLES_DIR, load_examples
from bot.config import Settings
from bot.render import DISCORD_LIMIT
from bot.router import Dispatcher
from bot.types import Conversation, Paragraph, Reply, Text
from handlers import build_router
from news.ingest import from_text
from news.knowledge import Knowledge
from storage.articles import count_articles
from storage.db import Database
from tests.fakes.discord_api import (
    DEFAULT_BOT_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_OWNER_ID,
    DEFAULT_USER_ID,
    FAKE_TOKEN,
    FakeDiscord,
)

ADMIN_ID = DEFAULT_OWNER_ID  # owns the guild (Manage Server) and is in NEWSBOT_ADMINS
USER_ID = DEFAULT_USER_ID  # a plain member
GPU_QUESTION = "How many GPUs did DeepSeek need to train V3?"
DEEPSEEK_ID = 1  # examples are loaded in name order: deepseek-r1-ar.txt first
MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
EPHEMERAL = 64

CABLE_CAR = (
    "Lumenport opens a cable car over the harbour\n\n"
    "The Lumenport city council approved a 14 kilometre cable car line across the harbour on "
    "Monday, the mayor said. The line will carry 3,000 passengers an hour between the old port "
    "and the university hill. Construction is expected to start in the spring and to cost "
    "about 90 million euros. Critics on the council said the money should go to buses instead."
)


@pytest.fixture(scope="module")
def prepared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the sample articles; adding them costs seconds, so it is built once."""
    path = tmp_path_factory.mktemp("discord") / "prepared.db"

    async def prepare() -> None:
        async with Database(path) as db:
            knowledge = Knowledge(db)
            await knowledge.warm_up()
            assert await load_examples(knowledge, EXAMPLES_DIR) >= 1

    asyncio.run(prepare())
    return path


@dataclass
class Env:
    fake: FakeDiscord
    adapter: DiscordAdapter
    knowledge: Knowledge
    db: Database


@pytest_asyncio.fixture
async def env(prepared_db: Path, tmp_path: Path) -> AsyncIterator[Env]:
    path = tmp_path / "newsbot.db"
    shutil.copy(prepared_db, path)
    settings = Settings(
        db=str(path),
        discord_token=FAKE_TOKEN,
        admins=f"discord:{ADMIN_ID}",
        examples_dir=None,
    )
    async with Database(path) as db, FakeDiscord(token=FAKE_TOKEN) as fake:
        knowledge = Knowledge(db)
        await knowledge.warm_up()
        dispatcher = Dispatcher(build_router(), knowledge, settings)
        adapter = DiscordAdapter(dispatcher, settings, guild_ready_timeout=0.05)
        async with adapter:
            yield Env(fake, adapter, knowledge, db)
        assert adapter.stopped.is_set()


# --- helpers ---------------------------------------------------------------------------------


def delivered(fake: FakeDiscord, token: str) -> list[dict[str, Any]]:
    """What the user sees for one interaction, in order: response, edited original, followups."""
    out = [r["data"] for r in fake.interaction_responses(token) if r["type"] in (4, 7)]
    out += fake.original_response_edits(token)
    out += fake.followups(token)
    return out


async def answer(fake: FakeDiscord, token: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until ``count`` messages answered the interaction and return them."""

    def ready() -> list[dict[str, Any]] | None:
        found = delivered(fake, token)
        return found if len(found) >= count else None

    result = await fake.wait_for(ready)
    assert isinstance(result, list)
    return result


async def slash(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> str:
    """Inject a slash command and return its interaction token."""
    payload = await fake.send_interaction(name, options or {}, **kwargs)
    return str(payload["token"])


def button_ids(message: dict[str, Any]) -> list[str]:
    return [
        component["custom_id"]
        for row in message.get("components") or []
        for component in row["components"]
    ]


# --- tests -----------------------------------------------------------------------------------


async def test_slash_commands_synced_with_admin_defaults(env: Env) -> None:
    commands = {c["name"]: c for c in env.fake.commands()}
    assert set(commands) == set(env.adapter.dispatcher.router.commands)
    assert {"start", "help", "ask", "add", "articles", "article", "remove", "language"} <= set(
        commands
    )
    assert str(commands["add"]["default_member_permissions"]) == MANAGE_GUILD
    assert str(commands["remove"]["default_member_permissions"]) == MANAGE_GUILD
    assert commands["ask"]["default_member_permissions"] is None
    assert all(1 <= len(c["description"]) <= 100 for c in commands.values())
    ask_options = {o["name"]: o for o in commands["ask"]["options"]}
    assert ask_options["question"]["required"] and ask_options["question"]["type"] == 3
    add_options = {o["name"]: o["type"] for o in commands["add"]["options"]}
    assert add_options == {"text": 3, "url": 3, "file": 11}
    assert [o["name"] for o in commands["remove"]["options"]] == ["id"]
    [lang] = commands["language"]["options"]
    assert {c["value"] for c in lang["choices"]} == {"ar", "en"}


async def test_start_and_help(env: Env) -> None:
    token = await slash(env.fake, "start")
    [start] = await answer(env.fake, token)
    assert env.fake.interaction_responses(token)[0]["type"] == 4  # quick: answered at once
    assert "Hello" in start["content"] and "/ask" in start["content"]

    token = await slash(env.fake, "help")
    [user_help] = await answer(env.fake, token)
    assert "/ask" in user_help["content"] and "/add" not in user_help["content"]

    token = await slash(env.fake, "help", user_id=ADMIN_ID)
    [admin_help] = await answer(env.fake, token)
    assert "/add" in admin_help["content"] and "/remove" in admin_help["content"]


async def test_question_deferred_then_answered_with_quote_and_citation(env: Env) -> None:
    token = await slash(env.fake, "ask", {"question": GPU_QUESTION})
    [reply] = await answer(env.fake, token)
    [response] = env.fake.interaction_responses(token)
    assert response["type"] == 5  # deferred ("thinking…") first
    assert env.fake.original_response_edits(token)  # then the answer replaced it
    content = reply["content"]
    assert "2000" in content
    assert "\n> " in content  # the quoted fact
    assert "newsbot sample" in content and f"\\#{DEEPSEEK_ID}" in content  # the citation
    assert button_ids(reply) == [f"article:{DEEPSEEK_ID}"]


async def test_arabic_quote_in_english_answer_is_bidi_isolated(env: Env) -> None:
    token = await slash(env.fake, "ask", {"question": GPU_QUESTION})
    [reply] = await answer(env.fake, token)
    # An English answer quoting an Arabic fact: each Arabic run sits in RLI … PDI.
    assert "\u2067" in reply["content"] and "\u2069" in reply["content"]

    question = "كم وحدة معالجة رسومات احتاجت DeepSeek لتدريب النموذج V3؟"
    token = await slash(env.fake, "ask", {"question": question})
    [reply] = await answer(env.fake, token)
    # An Arabic answer: the Latin runs (DeepSeek-V3 …) sit in LRI … PDI.
    assert "\u2066" in reply["content"] and "\u2069" in reply["content"]


async def test_admin_adds_article_by_text_then_user_asks(env: Env) -> None:
    before = await count_articles(env.db)
    token = await slash(env.fake, "add", {"text": CABLE_CAR}, user_id=ADMIN_ID)
    [added] = await answer(env.fake, token)
    assert env.fake.interaction_responses(token)[0]["type"] == 5
    assert f"Added article \\#{before + 1}" in added["content"]
    assert await count_articles(env.db) == before + 1

    token = await slash(env.fake, "ask", {"question": "How long is the Lumenport cable car line?"})
    [reply] = await answer(env.fake, token)
    assert "14 kilometre" in reply["content"]
    assert f"\\#{before + 1}" in reply["content"]


async def test_admin_adds_article_by_attachment_markdown_escaped(env: Env) -> None:
    before = await count_articles(env.db)
    body = ("title: Is **bold** news <@123> real?\n\n" + CABLE_CAR.split("\n\n", 1)[1]).encode()
    attachment = env.fake.add_attachment("cable.txt", body, content_type="text/plain")
    token = await slash(env.fake, "add", {"file": attachment}, user_id=ADMIN_ID)
    [added] = await answer(env.fake, token)
    content = added["content"]
    assert f"Added article \\#{before + 1}" in content
    # The user's title is shown as typed: no bold, no mention.
    assert "\\*\\*bold\\*\\*" in content and "\\<\\@123\\>" in content
    assert "<@123>" not in content
    stored = env.fake.message(added["id"])
    assert stored is not None and stored["mentions"] == []
    assert await count_articles(env.db) == before + 1

    token = await slash(
        env.fake, "ask", {"question": "How many passengers will the Lumenport line carry?"}
    )
    [reply] = await answer(env.fake, token)
    assert "3,000" in reply["content"] or "3000" in reply["content"]


async def test_non_admin_add_refused_ephemerally(env: Env) -> None:
    before = await count_articles(env.db)
    token = await slash(env.fake, "add", {"text": CABLE_CAR}, user_id=USER_ID)
    [refusal] = await answer(env.fake, token)
    assert "Only the bot's admins" in refusal["content"]
    assert refusal["flags"] & EPHEMERAL
    # The public "thinking…" placeholder of the defer is removed, not edited into a refusal.
    assert env.fake.original_response_edits(token) == []
    assert len(env.fake.deleted_messages()) == 1
    assert await count_articles(env.db) == before


async def test_long_reply_split_into_several_messages(env: Env) -> None:
    sentence = (
        "The {n} report of the Lumenport harbour authority, published after a long review of "
        "shipping, fishing, tourism, ferries, cranes, warehouses, customs and the old lighthouse, "
        "found that the harbour handled {n}00 ships last year and that the council will spend "
        "more money on dredging, new quays, cleaner fuel, safer berths and better roads to the "
        "port than in any year since the harbour was rebuilt after the great storm of 1953."
    )
    body = "Lumenport harbour review\n\n" + " ".join(
        sentence.format(n=n) for n in ("first", "second", "third", "fourth", "fifth", "sixth")
    )
    result = await env.knowledge.add(from_text(body), added_by="test")
    env.fake.fail_next("POST", r"/webhooks/\d+/[^/]+", retry_after=0.05)  # the first followup
    token = await slash(env.fake, "article", {"id": result.article.id})
    first = (await answer(env.fake, token))[0]
    assert first["content"].startswith("**Article")
    # /article is quick, so it is answered at once; the rest of it comes as followups.
    parts = await answer(env.fake, token, 2)
    assert len(parts) >= 2
    assert all(len(p["content"]) <= DISCORD_LIMIT for p in parts)
    assert sum(len(p["content"]) for p in parts) > DISCORD_LIMIT
    assert "sixth" in parts[-1]["content"]
    # The rate-limited followup was retried by discord.py and arrived exactly once.
    followups = [
        r.status
        for r in env.fake.requests
        if r.method == "POST" and r.path.startswith("/webhooks/")
    ]
    assert followups[:2] == [429, 200] and len(followups) == len(parts)
    assert len({p["content"] for p in parts}) == len(parts)


async def test_rate_limited_followup_and_message_retried_once(env: Env) -> None:
    env.fake.fail_next("PATCH", r"/webhooks/\d+/[^/]+/messages/@original", retry_after=0.05)
    token = await slash(env.fake, "ask", {"question": GPU_QUESTION})
    [reply] = await answer(env.fake, token)
    assert "2000" in reply["content"]
    edits = [
        r.status
        for r in env.fake.requests
        if r.method == "PATCH" and r.path.endswith("/messages/@original")
    ]
    assert edits == [429, 200]
    assert len(env.fake.original_response_edits(token)) == 1
    assert env.fake.followups(token) == []

    env.fake.fail_next("POST", r"/channels/\d+/messages", retry_after=0.05)
    mention = await env.fake.send_message_create(content=f"<@{DEFAULT_BOT_ID}> {GPU_QUESTION}")
    [sent] = await env.fake.wait_for(1)
    assert str(sent["message_reference"]["message_id"]) == mention["id"]
    posts = [
        r.status for r in env.fake.requests if r.method == "POST" and r.path.endswith("/messages")
    ]
    assert posts == [429, 200]
    assert len(env.fake.channel_messages()) == 1


async def test_mention_answered_and_other_messages_ignored(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    ignored = await env.fake.send_message_create(content=GPU_QUESTION)
    mention = await env.fake.send_message_create(
        content=f"<@{DEFAULT_BOT_ID}> **{GPU_QUESTION}** <@123>"
    )
    [reply] = await env.fake.wait_for(1)
    assert str(reply["message_reference"]["message_id"]) == mention["id"]
    assert "2000" in reply["content"]
    assert reply["allowed_mentions"]["parse"] == []
    assert button_ids(reply) == [f"article:{DEEPSEEK_ID}"]
    # Events are handled in order and the ignore path never awaits, so by now it was decided.
    handled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("message ")]
    assert any(mention["id"] in line for line in handled)
    assert not any(ignored["id"] in line for line in handled)

    # A reply to the bot's answer is addressed to it, mention or not.
    follow_up = await env.fake.send_message_create(
        content="Which company was it?", reference_message_id=int(reply["id"])
    )
    replies = await env.fake.wait_for(2)
    assert isinstance(replies, list)
    assert str(replies[1]["message_reference"]["message_id"]) == follow_up["id"]

    # In a direct message every message is addressed.
    dm = env.fake.dm_channel_for(USER_ID)
    await env.fake.send_dm(USER_ID, GPU_QUESTION)
    [dm_reply] = await env.fake.wait_for(lambda: env.fake.channel_messages(dm))
    assert "2000" in dm_reply["content"]
    assert all(
        ignored["id"] != str(m.get("message_reference", {}).get("message_id"))
        for m in env.fake.channel_messages()
    )


async def test_button_click_answered(env: Env) -> None:
    token = await slash(env.fake, "ask", {"question": GPU_QUESTION})
    [reply] = await answer(env.fake, token)
    assert button_ids(reply) == [f"article:{DEEPSEEK_ID}"]
    click = await env.fake.send_component_interaction(f"article:{DEEPSEEK_ID}", reply["id"])
    [shown] = await answer(env.fake, click["token"])
    assert env.fake.interaction_responses(click["token"])[0]["type"] == 4
    assert f"Article \\#{DEEPSEEK_ID}" in shown["content"]
    assert "newsbot sample" in shown["content"]


async def test_language_choice_and_dm_slash_command(env: Env) -> None:
    # A plain member may not set a guild channel's language; in their DMs they may.
    token = await slash(env.fake, "language", {"lang": "ar"})
    [refused] = await answer(env.fake, token)
    assert refused["flags"] & EPHEMERAL
    dm = env.fake.dm_channel_for(USER_ID)
    token = await slash(env.fake, "language", {"lang": "ar"}, channel_id=dm)
    [done] = await answer(env.fake, token)
    assert not done.get("flags", 0) & EPHEMERAL
    token = await slash(env.fake, "help", channel_id=dm)
    [arabic_help] = await answer(env.fake, token)
    assert "ما يمكنك فعله" in arabic_help["content"]


async def test_send_unprompted_and_errors(env: Env) -> None:
    channel = Conversation("discord", str(DEFAULT_CHANNEL_ID), is_private=False)
    long_reply = Reply(tuple(Paragraph((Text(f"{n} " + "word " * 150),)) for n in range(5)))
    ids = await env.adapter.send(channel, long_reply)
    sent = env.fake.channel_messages(DEFAULT_CHANNEL_ID)
    assert len(ids) == len(sent) >= 2 and [m["id"] for m in sent] == ids
    assert all(len(m["content"]) <= DISCORD_LIMIT for m in sent)

    dm = Conversation("discord", str(env.fake.dm_channel_for(USER_ID)))
    [dm_id] = await env.adapter.send(dm, Reply.text("digest"))
    assert env.fake.message(dm_id) is not None

    env.fake.forbid_dm(USER_ID)
    with pytest.raises(SendError) as forbidden:
        await env.adapter.send(dm, Reply.text("digest"))
    assert forbidden.value.permanent
    with pytest.raises(SendError) as gone:
        await env.adapter.send(Conversation("discord", "424242"), Reply.text("digest"))
    assert gone.value.permanent
    env.fake.fail_route(
        "POST",
        rf"/channels/{DEFAULT_CHANNEL_ID}/messages",
        status=400,
        body={"message": "Invalid Form Body", "code": 50035},
    )
    with pytest.raises(SendError) as failed:
        await env.adapter.send(channel, Reply.text("digest"))
    assert not failed.value.permanent


async def test_guild_sync_and_clean_stop(prepared_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "newsbot.db"
    shutil.copy(prepared_db, path)
    settings = Settings(db=str(path), discord_token=FAKE_TOKEN, admins="", examples_dir=None)
    async with Database(path) as db, FakeDiscord(token=FAKE_TOKEN) as fake:
        dispatcher = Dispatcher(build_router(), Knowledge(db), settings)
        adapter = DiscordAdapter(
            dispatcher, settings, guild_ready_timeout=0.05, sync_guild_id=DEFAULT_GUILD_ID
        )
        await adapter.start()
        assert {c["name"] for c in fake.commands(DEFAULT_GUILD_ID)} >= {"ask", "add"}
        await adapter.stop()
        assert adapter.stopped.is_set() and adapter.client.is_closed()
        await fake.wait_for(lambda: not fake.connected)

    bad = Settings(db=str(path), discord_token="wrong", admins="", examples_dir=None)
    async with Database(path) as db, FakeDiscord(token=FAKE_TOKEN):
        adapter = DiscordAdapter(Dispatcher(build_router(), Knowledge(db), bad), bad)
        with pytest.raises(discord.LoginFailure):
            await adapter.start()
        assert adapter.client.is_closed()


async def test_notify_user_opens_a_dm(env: Env) -> None:
    """Admins' notices go to a user id, which on Discord needs its DM channel opened first."""
    [message_id] = await env.adapter.notify_user(str(USER_ID), Reply.text("digest #1 paused"))
    stored = env.fake.message(message_id)
    assert stored is not None and "digest \\#1 paused" in stored["content"]
    assert int(stored["channel_id"]) == env.fake.dm_channel_for(USER_ID)
