"""The Discord adapter: slash commands, mentions, direct messages and buttons through discord.py.

Every way in ends in the dispatcher: a slash command becomes an ``Incoming`` whose text is
``/name args`` (the same names as the router's commands), a mention or a direct message becomes
plain text addressed to the bot, and a button press becomes ``handle_callback`` with the button's
``custom_id``. Who may do what is decided in the core; the ``default_member_permissions`` of the
admin commands only tidy Discord's command menu.

Slow answers (``/ask``, ``/add``) are deferred first and then edited in; other interactions are
deferred only if the core takes longer than ``defer_after`` seconds, so quick replies and errors
go out as one ordinary (or ephemeral) response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.adapters.base import Adapter, SendError
from bot.config import Settings
from bot.context import FileFetcher
from bot.render import render_discord
from bot.router import Command, Dispatcher
from bot.types import Attachment, Conversation, Incoming, Reply, User
from news.errors import UserError

log = logging.getLogger(__name__)

Interaction = discord.Interaction[discord.Client]

#: Commands whose answer usually takes a second or more: defer before asking the core.
SLOW_COMMANDS = frozenset({"ask", "add"})
#: Discord wants an interaction acknowledged within 3 s; defer well before that.
DEFAULT_DEFER_AFTER = 1.5
DEFAULT_READY_TIMEOUT = 30.0
_FALLBACK_DESCRIPTIONS = {
    "start": "What this bot does",
    "help": "The commands you can use",
    "ask": "Ask about the stored news",
    "add": "Add an article (admins)",
    "remove": "Remove an article (admins)",
    "articles": "Recent articles",
    "article": "One article's key facts",
    "language": "Set this chat's language",
}
_NO_MENTIONS = discord.AllowedMentions.none()
_MAX_BUTTONS = 25


class _NewsClient(discord.Client):
    """A ``discord.Client`` that hands messages and component presses to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter

    async def on_message(self, message: discord.Message) -> None:
        """Pass on a message the bot can see (guild channels, threads, direct messages)."""
        await self.adapter.on_message(message)

    async def on_interaction(self, interaction: Interaction) -> None:
        """Any interaction; slash commands are the tree's, buttons are handled here."""
        if interaction.type is discord.InteractionType.component:
            await self.adapter.on_component(interaction)


class DiscordAdapter(Adapter):
    """Connects the dispatcher to Discord through the gateway and the REST API."""

    platform = "discord"

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        guild_ready_timeout: float | None = None,
        sync_guild_id: int | None = None,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        defer_after: float = DEFAULT_DEFER_AFTER,
    ) -> None:
        """Build the client and its slash commands; nothing connects until :meth:`start`.

        Args:
            dispatcher: the core every message goes through.
            settings: needs ``discord_token``.
            guild_ready_timeout: seconds discord.py waits for more guilds before "ready"
                (discord.py's default, 2 s, when None).
            sync_guild_id: also copy the commands to this guild and sync them there, where
                they show up at once (global commands can take a while to appear).
            ready_timeout: seconds :meth:`start` waits for the gateway to become ready.
            defer_after: seconds after which a not yet answered interaction is deferred.

        """
        super().__init__(dispatcher)
        self.settings = settings
        self.sync_guild_id = sync_guild_id
        self.ready_timeout = ready_timeout
        self.defer_after = defer_after
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = True
        options: dict[str, Any] = {"intents": intents, "allowed_mentions": _NO_MENTIONS}
        if guild_ready_timeout is not None:
            options["guild_ready_timeout"] = guild_ready_timeout
        # The bot never joins voice; discord.py's warnings about voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        self.client = _NewsClient(self, **options)
        self.tree: app_commands.CommandTree[_NewsClient] = app_commands.CommandTree(self.client)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._register_commands()

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, connect to the gateway, wait until ready and sync the slash commands."""
        token = self.settings.discord_token
        if not token:
            raise ValueError("NEWSBOT_DISCORD_TOKEN is not set")
        try:
            await self.client.login(token)
        except BaseException:
            await self.client.close()
            raise
        self._closing = False
        self._task = asyncio.create_task(self.client.connect(reconnect=True), name="discord")
        self._task.add_done_callback(self._connection_ended)
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            error = self._task.exception() if self._task in done else None
            await self.stop()
            if error is not None:
                raise error
            raise TimeoutError(f"Discord was not ready within {self.ready_timeout} s")
        user = self.client.user
        log.info(
            "connected to Discord as %s (%s) in %d guilds",
            user.name if user else "?",
            user.id if user else "?",
            len(self.client.guilds),
        )
        await self._sync_commands()

    async def stop(self) -> None:
        """Close the gateway connection and the HTTP session."""
        self._closing = True
        await self.client.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 5.0)
            self._task = None
        self.stopped.set()

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        if not self._closing and not task.cancelled() and task.exception() is not None:
            log.error("the Discord connection failed", exc_info=task.exception())
        self.stopped.set()

    async def _sync_commands(self) -> None:
        try:
            if self.sync_guild_id is not None:
                guild = discord.Object(id=self.sync_guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException:
            # Mentions and direct messages still work without slash commands.
            log.exception("could not sync the slash commands")
            return
        log.info("synced %d slash commands", len(synced))

    # --- slash commands ------------------------------------------------------------------

    def _register_commands(self) -> None:
        """One slash command per router command, with typed options where the core takes them."""
        for name, command in self.dispatcher.router.commands.items():
            slash = self._slash_command(name, command)
            if command.permission in ("bot_admin", "chat_admin"):
                # Hides the command from members who cannot manage the server; the core still
                # checks every use (bot admins are configured, not derived from Discord roles).
                slash.default_permissions = discord.Permissions(manage_guild=True)
            self.tree.add_command(slash)

    def _slash_command(self, name: str, command: Command) -> app_commands.Command[Any, ..., None]:
        description = (command.description or _FALLBACK_DESCRIPTIONS.get(name) or name)[:100]
        run = self._run_command

        if name == "ask":

            @app_commands.describe(question="Your question, in English or Arabic")
            async def ask(interaction: Interaction, question: str) -> None:
                await run(interaction, "ask", question)

            callback: Callable[..., Coroutine[Any, Any, None]] = ask
        elif name == "add":

            @app_commands.describe(
                text="The article's text",
                url="A link to the article",
                file="The article as a .txt, .md or .html file",
            )
            async def add(
                interaction: Interaction,
                text: str | None = None,
                url: str | None = None,
                file: discord.Attachment | None = None,
            ) -> None:
                await run(interaction, "add", url or text or "", (file,) if file else ())

            callback = add
        elif name == "articles":

            @app_commands.describe(page="Page number, from 1")
            async def articles(
                interaction: Interaction, page: app_commands.Range[int, 1, 100_000] | None = None
            ) -> None:
                await run(interaction, "articles", str(page) if page else "")

            callback = articles
        elif name in ("article", "remove"):

            @app_commands.describe(article_id="The article's number")
            @app_commands.rename(article_id="id")
            async def by_id(
                interaction: Interaction, article_id: app_commands.Range[int, 1, 10**12]
            ) -> None:
                await run(interaction, name, str(article_id))

            callback = by_id
        elif name == "language":

            @app_commands.describe(lang="The language I answer in here")
            @app_commands.choices(
                lang=[
                    app_commands.Choice(name="العربية", value="ar"),
                    app_commands.Choice(name="English", value="en"),
                ]
            )
            async def language(interaction: Interaction, lang: app_commands.Choice[str]) -> None:
                await run(interaction, "language", lang.value)

            callback = language
        elif name in ("start", "help"):

            async def bare(interaction: Interaction) -> None:
                await run(interaction, name, "")

            callback = bare
        else:

            @app_commands.describe(text="What goes after the command")
            async def generic(interaction: Interaction, text: str | None = None) -> None:
                await run(interaction, name, text or "")

            callback = generic
        return app_commands.Command(name=name, description=description, callback=callback)

    async def _run_command(
        self,
        interaction: Interaction,
        name: str,
        args: str,
        files: Sequence[discord.Attachment] = (),
    ) -> None:
        text = f"/{name} {args}".strip() if args else f"/{name}"
        attachments, fetch_file = _attachments(files)
        msg = self._interaction_incoming(interaction, text, attachments)
        log.debug("slash /%s from %s in %s", name, msg.user.key, msg.conversation)

        async def produce() -> Reply | None:
            return await self.dispatcher.handle(
                msg, fetch_file=fetch_file, bot_username=self._bot_username()
            )

        await self._answer(interaction, produce, defer_first=name in SLOW_COMMANDS)

    # --- buttons -------------------------------------------------------------------------

    async def on_component(self, interaction: Interaction) -> None:
        """Handle a button press: its ``custom_id`` is the button's data for the core."""
        data: Mapping[str, object] = interaction.data or {}
        custom_id = data.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            return
        msg = self._interaction_incoming(interaction, "", ())
        log.debug("button %r from %s in %s", custom_id, msg.user.key, msg.conversation)

        async def produce() -> Reply | None:
            return await self.dispatcher.handle_callback(msg, custom_id)

        await self._answer(interaction, produce, defer_first=False)

    # --- answering interactions ----------------------------------------------------------

    async def _answer(
        self,
        interaction: Interaction,
        produce: Callable[[], Coroutine[Any, Any, Reply | None]],
        *,
        defer_first: bool,
    ) -> None:
        """Run the core and answer the interaction, deferring if the answer is slow."""
        task = asyncio.create_task(produce())
        try:
            if defer_first:
                await interaction.response.defer(thinking=True)
            else:
                done, _ = await asyncio.wait({task}, timeout=self.defer_after)
                if not done:
                    await interaction.response.defer(thinking=True)
        except discord.HTTPException:
            # Too late (the token expired) or Discord is down: the work still completes.
            log.warning("could not acknowledge interaction %s", interaction.id, exc_info=True)
            await task
            return
        reply = await task
        try:
            await self._deliver(interaction, reply)
        except discord.HTTPException:
            log.exception("could not answer interaction %s", interaction.id)

    async def _deliver(self, interaction: Interaction, reply: Reply | None) -> None:
        deferred = interaction.response.is_done()
        if reply is None:
            if not deferred:
                await interaction.response.defer()
            if interaction.type is discord.InteractionType.application_command:
                await interaction.delete_original_response()  # the "thinking…" placeholder
            return
        parts = render_discord(reply)
        view = _view(reply)
        last = len(parts) - 1
        for index, part in enumerate(parts):
            extra: dict[str, Any] = {"view": view} if view is not None and index == last else {}
            if index > 0:
                await interaction.followup.send(
                    part, ephemeral=reply.ephemeral, allowed_mentions=_NO_MENTIONS, **extra
                )
            elif not deferred:
                await interaction.response.send_message(
                    part, ephemeral=reply.ephemeral, allowed_mentions=_NO_MENTIONS, **extra
                )
            elif reply.ephemeral:
                # A deferred response keeps the visibility of the defer, so a private answer
                # replaces the public placeholder with a private followup.
                await interaction.delete_original_response()
                await interaction.followup.send(
                    part, ephemeral=True, allowed_mentions=_NO_MENTIONS, **extra
                )
            else:
                await interaction.edit_original_response(
                    content=part, allowed_mentions=_NO_MENTIONS, **extra
                )

    def _interaction_incoming(
        self, interaction: Interaction, text: str, attachments: tuple[Attachment, ...]
    ) -> Incoming:
        private = interaction.guild_id is None
        user_id = str(interaction.user.id)
        return Incoming(
            conversation=_conversation(interaction.channel, interaction.channel_id, private),
            user=User(self.platform, user_id, interaction.user.display_name),
            text=text,
            message_id=str(interaction.id),
            sent_at=interaction.created_at,
            is_admin=self.dispatcher.is_admin(self.platform, user_id),
            is_chat_admin=private or interaction.permissions.manage_guild,
            addressed=True,
            attachments=attachments,
            raw=interaction,
        )

    # --- mentions and direct messages ----------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """Answer direct messages, and guild messages that mention the bot or reply to it."""
        me = self.client.user
        if me is None or message.author.bot or message.author.id == me.id:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        private = message.guild is None
        referenced = _referenced_message(message)
        mentioned = any(user.id == me.id for user in message.mentions)
        replied_to_bot = referenced is not None and referenced.author.id == me.id
        if not (private or mentioned or replied_to_bot):
            return
        text = re.sub(rf"[ \t]*<@!?{me.id}>[ \t]*", " ", message.content).strip()
        attachments, fetch_file = _attachments(message.attachments)
        msg = Incoming(
            conversation=_conversation(message.channel, message.channel.id, private),
            user=User(self.platform, str(message.author.id), message.author.display_name),
            text=text,
            message_id=str(message.id),
            sent_at=message.created_at,
            is_admin=self.dispatcher.is_admin(self.platform, str(message.author.id)),
            is_chat_admin=private or _can_manage_guild(message),
            addressed=True,
            reply_text=referenced.content if referenced is not None else None,
            attachments=attachments,
            raw=message,
        )
        log.debug("message %s from %s in %s", message.id, msg.user.key, msg.conversation)
        reply = await self.dispatcher.handle(
            msg, fetch_file=fetch_file, bot_username=self._bot_username()
        )
        if reply is None:
            return
        try:
            await self._reply_to_message(message, reply)
        except discord.HTTPException:
            log.exception(
                "could not answer message %s in channel %s", message.id, message.channel.id
            )

    async def _reply_to_message(self, message: discord.Message, reply: Reply) -> None:
        parts = render_discord(reply)
        view = _view(reply)
        last = len(parts) - 1
        for index, part in enumerate(parts):
            extra: dict[str, Any] = {"view": view} if view is not None and index == last else {}
            if index == 0:
                await message.reply(
                    part, mention_author=False, allowed_mentions=_NO_MENTIONS, **extra
                )
            else:
                await message.channel.send(part, allowed_mentions=_NO_MENTIONS, **extra)

    # --- unprompted messages -------------------------------------------------------------

    async def send(self, conversation: Conversation, reply: Reply, *, skip: int = 0) -> list[str]:
        """Send a reply to a channel, thread or DM channel (digests); returns the message ids.

        ``skip`` leaves out the reply's first messages (accepted by an earlier try).

        Raises:
            SendError: permanent when the channel is gone or the bot may not post there;
                ``sent_ids`` holds the messages accepted before the failure.

        """
        try:
            channel_id = int(conversation.thread_id or conversation.chat_id)
        except ValueError as error:
            raise SendError(
                f"not a Discord channel id: {conversation.chat_id!r}", permanent=True
            ) from error
        channel = self.client.get_partial_messageable(channel_id)
        parts = render_discord(reply)
        view = _view(reply)
        last = len(parts) - 1
        ids: list[str] = []
        try:
            for index, part in enumerate(parts):
                if index < skip:
                    continue
                extra: dict[str, Any] = {"view": view} if view is not None and index == last else {}
                sent = await channel.send(part, allowed_mentions=_NO_MENTIONS, **extra)
                ids.append(str(sent.id))
        except (discord.Forbidden, discord.NotFound) as error:
            raise SendError(
                f"channel {channel_id}: {error}", permanent=True, sent_ids=tuple(ids)
            ) from error
        except discord.HTTPException as error:
            raise SendError(
                f"channel {channel_id}: {error}", permanent=False, sent_ids=tuple(ids)
            ) from error
        log.debug("sent %d messages to channel %s", len(ids), channel_id)
        return ids

    async def notify_user(self, user_id: str, reply: Reply) -> list[str]:
        """Send a DM: on Discord a user id is not a channel, so open the DM channel first."""
        try:
            user = await self.client.fetch_user(int(user_id))
            channel = await user.create_dm()
        except (ValueError, discord.HTTPException) as error:
            raise SendError(f"cannot open a DM with {user_id}: {error}", permanent=True) from error
        return await self.send(Conversation("discord", str(channel.id)), reply)

    def _bot_username(self) -> str:
        return self.client.user.name if self.client.user else ""


# --- helpers ---------------------------------------------------------------------------------


def _conversation(channel: object, channel_id: int | None, private: bool) -> Conversation:
    """Threads are kept apart from their parent channel, as forum topics are on Telegram."""
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return Conversation("discord", str(channel.parent_id), str(channel.id), is_private=False)
    return Conversation("discord", str(channel_id or ""), None, is_private=private)


def _can_manage_guild(message: discord.Message) -> bool:
    author = message.author
    if isinstance(author, discord.Member):
        return author.guild_permissions.manage_guild
    return False


def _referenced_message(message: discord.Message) -> discord.Message | None:
    reference = message.reference
    if reference is not None and isinstance(reference.resolved, discord.Message):
        return reference.resolved
    return None


def _attachments(
    natives: Sequence[discord.Attachment],
) -> tuple[tuple[Attachment, ...], FileFetcher]:
    """Neutral attachments and the function that downloads them when a handler asks."""
    pairs = [
        (Attachment(filename=a.filename, size=a.size, mime_type=a.content_type), a) for a in natives
    ]

    async def fetch_file(attachment: Attachment) -> bytes:
        if attachment.data is not None:
            return attachment.data
        for ours, native in pairs:
            if ours is attachment or ours == attachment:
                try:
                    return await native.read()
                except discord.HTTPException as error:
                    log.warning("could not download %s: %s", native.url, error)
                    raise UserError(
                        "I could not download that file; please send it again.",
                        key="download_failed",
                    ) from error
        raise UserError("That file is not attached to this message.", key="download_failed")

    return tuple(ours for ours, _ in pairs), fetch_file


def _view(reply: Reply) -> discord.ui.View | None:
    """Build the reply's buttons; presses arrive in ``on_component`` whenever they happen."""
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in reply.buttons[:_MAX_BUTTONS]:
        view.add_item(
            discord.ui.Button(
                label=button.label[:80],
                custom_id=button.data[:100],
                style=discord.ButtonStyle.secondary,
            )
        )
    # A stopped view is sent but not kept in discord.py's view store: presses are handled
    # by on_component for every message, including those sent before a restart.
    view.stop()
    return view
