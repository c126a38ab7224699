"""Self-tests of tests.fakes.discord_api.FakeDiscord driven by the real discord.py client."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_api import (
    DEFAULT_BOT_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_USER_ID,
    FAKE_TOKEN,
    FakeDiscord,
)

BotFactory = Callable[..., Awaitable[commands.Bot]]


def _intents(**overrides: bool) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    for key, value in overrides.items():
        setattr(intents, key, value)
    return intents


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


@pytest_asyncio.fixture
async def start_bot(fake: FakeDiscord) -> AsyncIterator[BotFactory]:
    started: list[tuple[commands.Bot, asyncio.Task[None]]] = []

    async def factory(
        setup: Callable[[commands.Bot], None] | None = None, **intent_overrides: bool
    ) -> commands.Bot:
        bot = commands.Bot(
            command_prefix="!",
            intents=_intents(**intent_overrides),
            guild_ready_timeout=0.05,
        )
        if setup is not None:
            setup(bot)
        await bot.login(FAKE_TOKEN)
        task = asyncio.create_task(bot.connect())
        started.append((bot, task))
        await asyncio.wait_for(bot.wait_until_ready(), 2.0)
        return bot

    yield factory
    for bot, task in started:
        await asyncio.wait_for(bot.close(), 3.0)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 3.0)


@pytest.mark.asyncio
async def test_patch_and_restore() -> None:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as fake:
        assert f"http://127.0.0.1:{fake.port}/api/v10" == discord.http.Route.BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == (
            f"ws://127.0.0.1:{fake.port}/gateway"
        )
    assert base == discord.http.Route.BASE
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY is gateway


@pytest.mark.asyncio
async def test_ready_populates_cache(fake: FakeDiscord, start_bot: BotFactory) -> None:
    t0 = time.monotonic()
    bot = await start_bot()
    assert time.monotonic() - t0 < 1.5
    assert bot.user is not None and bot.user.id == DEFAULT_BOT_ID and bot.user.bot
    assert bot.application_id == DEFAULT_BOT_ID
    guild = bot.get_guild(DEFAULT_GUILD_ID)
    assert guild is not None and not guild.unavailable
    channel = guild.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    assert guild.me is not None
    perms = channel.permissions_for(guild.me)
    assert perms.send_messages and perms.embed_links and perms.attach_files
    assert not perms.administrator
    identify = fake.identifies[-1]
    assert identify["intents"] & (1 << 15)  # message_content
    assert ("GET", "/users/@me", None) in fake.calls
    assert ("GET", "/oauth2/applications/@me", None) in fake.calls
    assert fake.gateway_connects == ["/gateway?v=10&encoding=json&compress=zlib-stream"]
    # heartbeats are answered (discord.py sends one right after HELLO)
    assert any(p.get("op") == 1 for p in fake.gateway_received)


@pytest.mark.asyncio
async def test_members_intent_chunking_is_fast(fake: FakeDiscord, start_bot: BotFactory) -> None:
    t0 = time.monotonic()
    bot = await start_bot(members=True)
    assert time.monotonic() - t0 < 1.5
    guild = bot.get_guild(DEFAULT_GUILD_ID)
    assert guild is not None and guild.chunked
    assert guild.get_member(DEFAULT_USER_ID) is not None


@pytest.mark.asyncio
async def test_on_message_reply_to_mention(fake: FakeDiscord, start_bot: BotFactory) -> None:
    seen: list[discord.Message] = []

    def setup(bot: commands.Bot) -> None:
        @bot.event
        async def on_message(message: discord.Message) -> None:
            seen.append(message)
            if message.author.bot or bot.user not in message.mentions:
                return
            await message.reply(f"pong: {message.clean_content}")

    await start_bot(setup)
    sent = await fake.send_message_create(
        DEFAULT_CHANNEL_ID, DEFAULT_USER_ID, f"<@{DEFAULT_BOT_ID}> hello"
    )
    [reply] = await fake.wait_for(lambda: fake.channel_messages(DEFAULT_CHANNEL_ID))
    assert reply["content"].startswith("pong:")
    assert str(reply["message_reference"]["message_id"]) == sent["id"]
    # The bot's own message is echoed back through the gateway, like on Discord.
    await fake.wait_for(lambda: len(seen) == 2)
    assert seen[0].guild is not None and seen[0].author.id == DEFAULT_USER_ID
    assert seen[1].author.id == DEFAULT_BOT_ID
    assert len(fake.channel_messages()) == 1


@pytest.mark.asyncio
async def test_message_content_intent_enforced(fake: FakeDiscord, start_bot: BotFactory) -> None:
    contents: list[str] = []

    def setup(bot: commands.Bot) -> None:
        @bot.event
        async def on_message(message: discord.Message) -> None:
            contents.append(message.content)

    await start_bot(setup, message_content=False)
    await fake.send_message_create(content="plain text")
    await fake.send_message_create(content=f"<@{DEFAULT_BOT_ID}> mentioned")
    await fake.send_dm(DEFAULT_USER_ID, "a dm")
    await fake.wait_for(lambda: len(contents) == 3)
    assert contents == ["", f"<@{DEFAULT_BOT_ID}> mentioned", "a dm"]


def _add_slash_commands(bot: commands.Bot) -> None:
    @bot.tree.command(name="ping", description="Ping the bot")
    @app_commands.describe(text="Text to echo")
    async def ping(interaction: discord.Interaction, text: str, times: int = 1) -> None:
        await interaction.response.send_message(f"pong {text} x{times}", ephemeral=True)

    @bot.tree.command(name="slow", description="Deferred answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("follow-up done")
        await interaction.edit_original_response(content="edited original")


@pytest.mark.asyncio
async def test_slash_command_sync_and_response(fake: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot(_add_slash_commands)
    synced = await bot.tree.sync()
    assert {c.name for c in synced} == {"ping", "slow"}
    assert all(c.id for c in synced)
    registered = fake.commands()
    assert {c["name"] for c in registered} == {"ping", "slow"}
    put = [c for c in fake.calls if c.method == "PUT"]
    assert put and put[0].path == f"/applications/{DEFAULT_BOT_ID}/commands"

    inter = await fake.send_interaction("ping", {"text": "hi", "times": "3"})
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))
    assert resp["type"] == 4
    assert resp["data"]["content"] == "pong hi x3"
    assert resp["data"]["flags"] & 64  # ephemeral


@pytest.mark.asyncio
async def test_guild_sync_and_dm_interaction(fake: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot(_add_slash_commands)
    guild = discord.Object(DEFAULT_GUILD_ID)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)
    assert {c["name"] for c in fake.commands(DEFAULT_GUILD_ID)} == {"ping", "slow"}
    inter = await fake.send_interaction("ping", {"text": "guild"})
    assert inter["data"]["guild_id"] == str(DEFAULT_GUILD_ID)
    await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))

    dm = await fake.send_interaction(
        "ping", {"text": "dm"}, channel_id=fake.dm_channel_for(DEFAULT_USER_ID)
    )
    assert "guild_id" not in dm and dm["context"] == 1
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(dm["token"]))
    assert resp["data"]["content"] == "pong dm x1"


@pytest.mark.asyncio
async def test_resolved_options_and_subcommands(fake: FakeDiscord, start_bot: BotFactory) -> None:
    def setup(bot: commands.Bot) -> None:
        news = app_commands.Group(name="news", description="News commands")

        @news.command(name="whois", description="Describe a member")
        async def whois(interaction: discord.Interaction, member: discord.Member) -> None:
            admin = interaction.permissions.administrator
            await interaction.response.send_message(f"{member.name} admin={admin}")

        @news.command(name="upload", description="Upload a feed file")
        async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()
            await interaction.response.send_message(f"{file.filename}: {data.decode()}")

        bot.tree.add_command(news)

    bot = await start_bot(setup)
    await bot.tree.sync()
    inter = await fake.send_interaction("news whois", {"member": DEFAULT_BOT_ID})
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))
    assert resp["data"]["content"] == "newsbot admin=False"
    inter = await fake.send_interaction(
        "news whois", {"member": DEFAULT_BOT_ID}, member_permissions=8
    )
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))
    assert resp["data"]["content"] == "newsbot admin=True"
    att = fake.add_attachment("feed.csv", b"a,b")
    inter = await fake.send_interaction("news upload", {"file": att})
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))
    assert resp["data"]["content"] == "feed.csv: a,b"


@pytest.mark.asyncio
async def test_deferred_response_then_followup(fake: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot(_add_slash_commands)
    await bot.tree.sync()
    inter = await fake.send_interaction("slow")
    token = inter["token"]
    await fake.wait_for(lambda: fake.original_response_edits(token))
    [resp] = fake.interaction_responses(token)
    assert resp["type"] == 5
    [followup] = fake.followups(token)
    assert followup["content"] == "follow-up done"
    [edit] = fake.original_response_edits(token)
    assert edit["content"] == "edited original"


@pytest.mark.asyncio
async def test_double_acknowledge_is_rejected(fake: FakeDiscord, start_bot: BotFactory) -> None:
    errors: list[BaseException] = []

    def setup(bot: commands.Bot) -> None:
        @bot.tree.command(name="twice", description="Responds twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("one")
            try:
                # Bypass discord.py's local guard to hit the API twice.
                interaction.response._response_type = None
                await interaction.response.send_message("two")
            except discord.HTTPException as exc:
                errors.append(exc)

    bot = await start_bot(setup)
    await bot.tree.sync()
    await fake.send_interaction("twice")
    await fake.wait_for(lambda: errors)
    assert isinstance(errors[0], discord.HTTPException) and errors[0].code == 40060


@pytest.mark.asyncio
async def test_component_interaction(fake: FakeDiscord, start_bot: BotFactory) -> None:
    clicks: list[int] = []

    class Confirm(discord.ui.View):
        @discord.ui.button(label="OK", custom_id="confirm-ok")
        async def ok(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            clicks.append(interaction.user.id)
            await interaction.response.edit_message(content="confirmed", view=None)

    bot = await start_bot()
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("Confirm?", view=Confirm())
    [posted] = fake.channel_messages()
    assert posted["components"][0]["components"][0]["custom_id"] == "confirm-ok"

    inter = await fake.send_component_interaction("confirm-ok", message.id)
    [resp] = await fake.wait_for(lambda: fake.interaction_responses(inter["token"]))
    assert clicks == [DEFAULT_USER_ID]
    assert resp["type"] == 7 and resp["data"]["content"] == "confirmed"
    stored = fake.message(message.id)
    assert stored is not None and stored["content"] == "confirmed"


@pytest.mark.asyncio
async def test_rate_limited_send_is_retried_once(fake: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot()
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    fake.fail_next("POST", r"/channels/\d+/messages", times=1, retry_after=0.2)
    t0 = time.monotonic()
    msg = await channel.send("after rate limit")
    assert time.monotonic() - t0 >= 0.2
    posts = [c for c in fake.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert len(posts) == 2  # the 429 and the retry
    assert [r.status for r in fake.requests if r.method == "POST"][-2:] == [429, 200]
    [sent] = fake.channel_messages(DEFAULT_CHANNEL_ID)
    assert sent["content"] == "after rate limit" and int(sent["id"]) == msg.id


@pytest.mark.asyncio
async def test_forbidden_channel_and_validation(fake: FakeDiscord, start_bot: BotFactory) -> None:
    bot = await start_bot()
    channel = bot.get_channel(DEFAULT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.status == 400 and too_long.value.code == 50035
    fake.forbid_channel(DEFAULT_CHANNEL_ID)
    with pytest.raises(discord.Forbidden) as forbidden:
        await channel.send("hello")
    assert forbidden.value.code == 50001
    assert fake.channel_messages() == []


@pytest.mark.asyncio
async def test_attachments_files_and_dm(fake: FakeDiscord, start_bot: BotFactory) -> None:
    def setup(bot: commands.Bot) -> None:
        @bot.event
        async def on_message(message: discord.Message) -> None:
            if message.author.bot or not message.attachments:
                return
            data = await message.attachments[0].read()
            await message.author.send(
                f"got {len(data)} bytes",
                file=discord.File(io.BytesIO(data[::-1]), "reversed.txt"),
            )

    await start_bot(setup)
    att = fake.add_attachment("feed.txt", b"hello world", content_type="text/plain")
    await fake.send_message_create(content="here", attachments=[att])
    dm_channel = fake.dm_channel_for(DEFAULT_USER_ID)
    [dm] = await fake.wait_for(lambda: fake.channel_messages(dm_channel))
    assert dm["content"] == "got 11 bytes"
    assert dm["files"][0]["filename"] == "reversed.txt"
    assert dm["files"][0]["data"] == b"dlrow olleh"
    assert ("POST", "/users/@me/channels", {"recipient_id": DEFAULT_USER_ID}) in fake.calls


@pytest.mark.asyncio
async def test_resume_after_disconnect(fake: FakeDiscord, start_bot: BotFactory) -> None:
    resumed = asyncio.Event()
    contents: list[str] = []

    def setup(bot: commands.Bot) -> None:
        @bot.event
        async def on_resumed() -> None:
            resumed.set()

        @bot.event
        async def on_message(message: discord.Message) -> None:
            contents.append(message.content)

    await start_bot(setup)
    await fake.drop_connections()
    await fake.send_message_create(content="while disconnected")  # queued, replayed
    await asyncio.wait_for(resumed.wait(), 3.0)
    assert any(p.get("op") == 6 for p in fake.gateway_received)
    await fake.wait_for(lambda: contents == ["while disconnected"])
    assert len(fake.identifies) == 1


@pytest.mark.asyncio
async def test_clean_close(fake: FakeDiscord) -> None:
    client = discord.Client(intents=_intents(), guild_ready_timeout=0.05)
    await client.login(FAKE_TOKEN)
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.wait_until_ready(), 2.0)
    t0 = time.monotonic()
    await asyncio.wait_for(client.close(), 2.0)
    await asyncio.wait_for(task, 2.0)
    assert time.monotonic() - t0 < 1.0
    assert client.is_closed()
    await fake.wait_for(lambda: not fake.connected, timeout=2.0)


@pytest.mark.asyncio
async def test_unknown_route_and_content_type(fake: FakeDiscord) -> None:
    headers = {"Authorization": f"Bot {FAKE_TOKEN}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.api_base}/no/such/route", headers=headers) as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with session.get(f"{fake.api_base}/users/@me") as resp:
            assert resp.status == 401
    assert ("GET", "/no/such/route", None) in fake.unknown_routes


@pytest.mark.asyncio
async def test_bad_token_fails_login(fake: FakeDiscord) -> None:
    fake.token = "the-right-token"
    client = discord.Client(intents=_intents())
    with pytest.raises(discord.LoginFailure):
        await client.login("wrong")
    await client.close()
