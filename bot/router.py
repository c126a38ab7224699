"""Route platform-neutral messages to handlers; check permissions and rate limits; catch errors.

Errors are caught in one place (python-telegram-bot's error handler, discord.py's ``invoke``).

A ``Router`` collects commands (one per handler module, aiogram's habit); the ``Dispatcher``
combines routers and runs a message through them. A ``UserError`` becomes a polite reply in the
chat's language; anything else is logged with its traceback and the user gets a short apology.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

from bot.config import Settings
from bot.context import Context, FileFetcher
from bot.i18n import has_message, message
from bot.ratelimit import RateLimiter
from bot.types import Incoming, Reply
from news.errors import UserError
from news.knowledge import Knowledge
from news.text import detect_language, is_arabic_word
from storage.chats import chat_language

log = logging.getLogger(__name__)

Handler = Callable[[Incoming, Context], Awaitable[Reply | None]]
Permission = Literal["anyone", "bot_admin", "chat_admin"]
_COMMAND = re.compile(
    r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+|$)(?P<args>.*)$", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class Command:
    """A command: its handler, who may use it, and its line in /help."""

    name: str
    handler: Handler
    permission: Permission = "anyone"
    help_key: str | None = None
    rate_limited: bool = False
    description: str = ""


class Router:
    """Commands and callbacks of one handler module."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.callbacks: dict[str, Handler] = {}
        self.text_handler: Handler | None = None

    def command(
        self,
        name: str,
        *,
        permission: Permission = "anyone",
        help_key: str | None = None,
        rate_limited: bool = False,
        description: str = "",
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``/name``."""

        def register(handler: Handler) -> Handler:
            self.commands[name] = Command(
                name, handler, permission, help_key, rate_limited, description
            )
            return handler

        return register

    def callback(self, prefix: str) -> Callable[[Handler], Handler]:
        """Register a handler for button presses whose data starts with ``prefix:``."""

        def register(handler: Handler) -> Handler:
            self.callbacks[prefix] = handler
            return handler

        return register

    def text(self, handler: Handler) -> Handler:
        """Register the handler for plain text addressed to the bot."""
        self.text_handler = handler
        return handler

    def include(self, other: Router) -> None:
        """Merge another router's commands and callbacks into this one."""
        self.commands.update(other.commands)
        self.callbacks.update(other.callbacks)
        self.text_handler = other.text_handler or self.text_handler


def may_use(command: Command, msg: Incoming) -> bool:
    """Whether the sender may run the command (checked here, whatever menu a platform shows)."""
    if command.permission == "bot_admin":
        return msg.is_admin
    if command.permission == "chat_admin":
        return msg.is_admin or msg.is_chat_admin or msg.conversation.is_private
    return True


class Dispatcher:
    """Runs messages through the combined router."""

    def __init__(self, router: Router, knowledge: Knowledge, settings: Settings) -> None:
        self.router = router
        self.knowledge = knowledge
        self.settings = settings
        self.question_limit = RateLimiter(settings.questions_per_minute, 60.0)

    def is_admin(self, platform: str, user_id: str) -> bool:
        """Whether ``platform:user_id`` is a configured bot admin."""
        return f"{platform}:{user_id}" in self.settings.admin_keys

    async def handle(
        self, msg: Incoming, *, fetch_file: FileFetcher | None = None, bot_username: str = ""
    ) -> Reply | None:
        """The reply to a message, or None when the message is not for the bot."""
        command_name, args = self._parse(msg.text, bot_username)
        if command_name is None and not msg.addressed:
            return None
        language = await self._language(msg, args if command_name else msg.text)
        ctx = Context(
            self.knowledge,
            self.settings,
            args=args,
            language=language,
            command=command_name,
            bot_username=bot_username,
        )
        ctx.extras["commands"] = self.router.commands
        if fetch_file is not None:
            ctx.fetch_file = fetch_file
        if command_name is None and msg.attachments and not msg.text.strip():
            # A file sent on its own is an article to add (refused politely for non-admins).
            command_name = "add"
        if command_name is None:
            if self.router.text_handler is None or not msg.text.strip():
                return None
            command = Command("ask", self.router.text_handler, rate_limited=True)
            ctx.args = msg.text.strip()
        else:
            found = self.router.commands.get(command_name.lower())
            if found is None:
                return Reply.text(
                    message("unknown_command", language, command=command_name),
                    language=language,
                    ephemeral=True,
                )
            command = found
        return await self.invoke(command, msg, ctx)

    async def handle_callback(self, msg: Incoming, data: str) -> Reply | None:
        """The reply to a button press carrying ``data`` (``prefix:payload``)."""
        prefix, _, payload = data.partition(":")
        handler = self.router.callbacks.get(prefix)
        if handler is None:
            return None
        language = await self._language(msg, "")
        ctx = Context(
            self.knowledge, self.settings, args=payload, language=language, command=prefix
        )
        return await self.invoke(Command(prefix, handler), msg, ctx)

    async def invoke(self, command: Command, msg: Incoming, ctx: Context) -> Reply | None:
        """Run a handler with the permission check, rate limit and the one error boundary."""
        try:
            if not may_use(command, msg):
                key = "not_admin" if command.permission == "bot_admin" else "not_chat_admin"
                raise UserError(message(key, "en"), key=key)
            if command.rate_limited:
                wait = self.question_limit.check(msg.user.key)
                if wait > 0:
                    raise UserError("rate limited", key="rate_limited", seconds=max(1, round(wait)))
            return await command.handler(msg, ctx)
        except UserError as error:
            return Reply.text(
                user_error_text(error, ctx.language), language=ctx.language, ephemeral=True
            )
        except Exception:
            log.exception("handler for /%s failed on %s", command.name, msg.conversation)
            return Reply.text(
                message("apology", ctx.language), language=ctx.language, ephemeral=True
            )

    def _parse(self, text: str, bot_username: str) -> tuple[str | None, str]:
        match = _COMMAND.match(text.strip())
        if not match:
            return None, text
        addressed_to = match.group("bot")
        if addressed_to and bot_username and addressed_to.lower() != bot_username.lower():
            return None, text  # a command for another bot in the same group
        return match.group("name"), match.group("args").strip()

    async def _language(self, msg: Incoming, text: str) -> str:
        stored = await chat_language(
            self.knowledge.db, msg.conversation.platform, msg.conversation.chat_id
        )
        if stored:
            return stored
        if any(is_arabic_word(word) for word in text.split()):
            return detect_language(text)
        if text.strip():
            return "en"
        return self.settings.default_language


def user_error_text(error: UserError, language: str) -> str:
    """A UserError in the chat's language when the catalogue has it, else its own English text."""
    if error.key and has_message(error.key, language):
        return message(error.key, language, **error.params)
    return str(error)


def with_admin_flags(msg: Incoming, dispatcher: Dispatcher) -> Incoming:
    """``msg`` with ``is_admin`` set from the configured admins."""
    return replace(
        msg, is_admin=msg.is_admin or dispatcher.is_admin(msg.user.platform, msg.user.id)
    )
