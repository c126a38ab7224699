"""A fake Telegram Bot API server for tests.

:class:`FakeTelegramAPI` is a small :mod:`aiohttp` server bound to ``127.0.0.1``
that speaks enough of the Bot API for the *real* python-telegram-bot
``Application`` to run against it::

    async with FakeTelegramAPI() as api:
        app = (
            ApplicationBuilder()
            .token("123:TEST")
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        ...
        api.push_update(api.text_message(chat_id=42, user_id=42, text="/start"))
        [reply] = await api.wait_for_messages(1, chat_id=42)

Features: long-polling ``getUpdates``, recording of every call, realistic
``Message`` results, file download, injected failures (429 flood control,
403 kicked), optional enforcement of Telegram's rate limits and light
validation of HTML / MarkdownV2 formatting, message length and callback data.

Notes for test authors:

* PTB posts ``application/x-www-form-urlencoded`` bodies (multipart for
  uploads): ``str`` values verbatim, everything else JSON-encoded. The fake
  decodes them back, so recorded params hold ``chat_id`` as ``int`` and
  ``reply_markup``/``entities``/``commands``/``scope`` as dicts/lists.
* PTB rewrites ``"Bad Request: Foo BAR"`` into ``BadRequest("Foo bar")``
  (prefix stripped, ``str.capitalize``), so match error texts case-insensitively.
* PTB only raises ``RetryAfter`` when ``retry_after`` is non-zero.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self

from aiohttp import web

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
ChatId = int | str

BOT_ID = 1000
BOT_USERNAME = "newsbot_test_bot"
BOT_FIRST_NAME = "NewsBot"
BOT_USER: JSONDict = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_POLL_TIMEOUT = 50.0

# Form fields that are plain strings and must never be JSON-decoded (PTB sends
# ``str`` values verbatim and JSON-encodes everything else).
_STRING_FIELDS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "data",
        "url",
        "action",
        "secret_token",
        "ip_address",
        "language_code",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "query",
        "message_effect_id",
        "business_connection_id",
        "document",
        "photo",
        "video",
        "audio",
        "animation",
        "voice",
        "sticker",
        "thumbnail",
        "custom_emoji_id",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "question",
    ]
)

# Methods subject to ``forbid_chat`` and to ``enforce_limits``.
_SEND_METHODS = frozenset({"sendmessage", "senddocument"})
_CHAT_WRITE_METHODS = _SEND_METHODS | {
    "sendchataction",
    "editmessagetext",
    "editmessagereplymarkup",
}

_HTML_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "tg-time",
    ]
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
_MDV2_ALWAYS_ESCAPE = frozenset("#+-={}.!")


class ApiError(Exception):
    """An error answer of the Bot API (``{"ok": false, ...}``)."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSONDict:
        """Return the JSON body Telegram would send."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """Build a 400 ``Bad Request: <detail>`` error."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class UploadedFile:
    """A file part received in a multipart request (e.g. ``sendDocument``)."""

    field_name: str
    file_name: str
    mime_type: str | None
    content: bytes


@dataclass
class StoredFile:
    """A file known to the fake (registered by a test or uploaded by the bot)."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str | None
    content: bytes
    file_path: str

    def as_document(self) -> JSONDict:
        """Return the ``Document`` JSON object for this file."""
        doc: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "file_size": len(self.content),
        }
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc


@dataclass
class _Failure:
    """An injected failure, see :meth:`FakeTelegramAPI.fail_next`."""

    remaining: int
    error: ApiError
    after: int = 0  # calls let through before the failures start


class _SlidingWindow:
    """At most ``limit`` events within any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._events: deque[float] = deque()

    def retry_after(self, now: float) -> float | None:
        """Seconds to wait before another event is allowed, or ``None`` if allowed now."""
        while self._events and now - self._events[0] >= self.period:
            self._events.popleft()
        if len(self._events) < self.limit:
            return None
        return self.period - (now - self._events[0])

    def record(self, now: float) -> None:
        """Register an accepted event."""
        self._events.append(now)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Telegram measures offsets)."""
    return len(text.encode("utf-16-le")) // 2


def normalize_chat_id(value: Any) -> ChatId:
    """Turn ``"123"``/``123`` into ``123``; keep ``"@channel"`` as a string."""
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def html_to_plain(text: str) -> str:
    """Validate Telegram-flavoured HTML and return the visible text.

    Raises :class:`ApiError` (400 ``can't parse entities``) for unsupported tags
    (e.g. ``<br>``, ``<p>``), unbalanced tags and a stray ``<``.
    """
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:lt])
        offset = len(text[:lt].encode())
        match = _HTML_TAG_RE.match(text, lt)
        if match is None:
            raise bad_request(
                f"can't parse entities: Unexpected character '<' at byte offset {offset}"
            )
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise bad_request(
                f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {offset}'
            )
        if closing:
            if not stack or stack[-1] != name:
                expected = f'"</{stack[-1]}>"' if stack else "no end tag"
                raise bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                    f'expected {expected}, found "</{name}>"'
                )
            stack.pop()
        else:
            if name == "span" and "tg-spoiler" not in attrs:
                raise bad_request(
                    f'can\'t parse entities: Tag "span" must have class "tg-spoiler" '
                    f"at byte offset {offset}"
                )
            stack.append(name)
        pos = match.end()
    if stack:
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return html.unescape("".join(out))


def check_markdown_v2(text: str) -> None:
    """Light MarkdownV2 validation: unescaped reserved characters outside code/links.

    Only characters that never start an entity (``# + - = { } . !``) and stray
    parentheses are checked; this catches the classic "forgot to escape the
    dot" bug without implementing the full grammar.
    """
    i = 0
    in_code = False
    in_pre = False
    in_url = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if text.startswith("```", i) and not in_code:
            in_pre = not in_pre
            i += 3
            continue
        if ch == "`" and not in_pre:
            in_code = not in_code
        elif in_code or in_pre:
            pass
        elif in_url:
            if ch == ")":
                in_url = False
        elif ch == "]" and text.startswith("(", i + 1):
            in_url = True
            i += 2
            continue
        elif ch in _MDV2_ALWAYS_ESCAPE or ch in "()":
            raise bad_request(
                f"can't parse entities: Character '{ch}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        i += 1


class FakeTelegramAPI:
    """In-process fake of the Telegram Bot API (see module docstring).

    Args:
        enforce_limits: Answer 429 when Telegram's flood limits would be exceeded
            by ``sendMessage``/``sendDocument`` (see :attr:`flood_errors`).
        admins: ``chat_id -> user ids`` that are administrators (used by
            ``getChatMember``/``getChatAdministrators``). Mutable later via
            :attr:`admins` or :meth:`set_admins`.
        strict_formatting: Validate ``parse_mode`` HTML/MarkdownV2 texts, text
            length and inline-keyboard callback data like Telegram does (400).
        global_per_second: Overall send limit (``enforce_limits`` only).
        private_per_second: Per private chat limit per second.
        group_per_minute: Per group/channel limit per minute.
        limit_tolerance: Seconds subtracted from each window so that messages
            spaced "exactly" 1 s apart are accepted.
    """

    def __init__(
        self,
        *,
        enforce_limits: bool = False,
        admins: Mapping[int, Iterable[int]] | None = None,
        strict_formatting: bool = True,
        global_per_second: int = 30,
        private_per_second: int = 1,
        group_per_minute: int = 20,
        limit_tolerance: float = 0.05,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.strict_formatting = strict_formatting
        self.admins: dict[int, set[int]] = {
            int(chat): set(users) for chat, users in (admins or {}).items()
        }
        #: Every request received, in order: ``(method, params)`` (failed ones too).
        self.calls: list[tuple[str, JSONDict]] = []
        #: Requests to methods the fake does not implement.
        self.unknown_methods: list[tuple[str, JSONDict]] = []
        #: Successful sending/editing calls: ``(method, params + "message_id")``.
        self.delivered: list[tuple[str, JSONDict]] = []
        #: Number of 429 answers produced by ``enforce_limits``.
        self.flood_errors = 0
        #: Number of injected failures (``fail_next``) that were answered.
        self.injected_failures = 0
        #: Current webhook parameters (``setWebhook``), ``None`` when unset.
        self.webhook: JSONDict | None = None
        #: Bot commands: ``(scope JSON, language_code) -> commands``.
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        #: Files by file_id (registered via :meth:`add_file` or uploaded by the bot).
        self.files: dict[str, StoredFile] = {}
        #: Chats whose write methods answer 403: ``chat_id -> description``.
        self.forbidden_chats: dict[ChatId, str] = {}

        self._global_per_second = global_per_second
        self._private_per_second = private_per_second
        self._group_per_minute = group_per_minute
        self._tolerance = limit_tolerance
        self._global_window = _SlidingWindow(global_per_second, 1.0 - limit_tolerance)
        self._chat_windows: dict[ChatId, _SlidingWindow] = {}

        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_counter = itertools.count(1)
        self._messages: dict[tuple[ChatId, int], JSONDict] = {}
        self._last_message_id: dict[ChatId, int] = {}
        self._chats: dict[ChatId, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._poll_generation = 0
        self._closing = False
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getMyCommands": self._get_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "deleteMessage": self._delete_message,
                "close": self._true,
                "logOut": self._true,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)`` (token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        """Start listening on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        logger.debug("Fake Telegram API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Release pending long polls and stop the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        logger.debug("Fake Telegram API stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ test controls

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for ``getUpdates`` (assigns ``update_id`` if missing)."""
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        for value in update.values():
            if isinstance(value, dict):
                message = value.get("message", value)
                if isinstance(message, dict) and "message_id" in message and "chat" in message:
                    self._store_message(message)
        self._updates.append(update)
        self._updates.sort(key=lambda u: u["update_id"])
        self._notify()
        return update

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (via ``offset``)."""
        return list(self._updates)

    def add_file(
        self, file_id: str, content: bytes, file_name: str, mime_type: str | None = None
    ) -> StoredFile:
        """Register a downloadable file (``getFile`` + download at ``base_file_url``)."""
        number = next(self._file_counter)
        suffix = PurePosixPath(file_name).suffix
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"uniq{number}",
            file_name=file_name,
            mime_type=mime_type,
            content=content,
            file_path=f"documents/file_{number}{suffix}",
        )
        self.files[file_id] = stored
        return stored

    def set_admins(self, chat_id: int, user_ids: Iterable[int]) -> None:
        """Define the administrators of a group chat."""
        self.admins[int(chat_id)] = set(user_ids)

    def fail_next(
        self,
        method: str,
        times: int = 1,
        retry_after: float = 0.5,
        *,
        error_code: int = 429,
        description: str | None = None,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (after letting ``after`` through).

        By default with a 429 flood-control error carrying ``retry_after``
        (fractions allowed; PTB raises ``RetryAfter`` only if it is non-zero).
        Pass ``error_code``/``description`` for other errors (e.g. 400, 500).
        """
        if error_code == 429:
            error = ApiError(
                429,
                description or f"Too Many Requests: retry after {retry_after:g}",
                {"retry_after": retry_after},
            )
        else:
            error = ApiError(error_code, description or f"Error {error_code}")
        self._failures.setdefault(method.lower(), deque()).append(_Failure(times, error, after))

    def forbid_chat(self, chat_id: ChatId, description: str | None = None) -> None:
        """Make sends/edits to ``chat_id`` answer 403 (bot kicked / blocked)."""
        chat = normalize_chat_id(chat_id)
        if description is None:
            if isinstance(chat, int) and chat > 0:
                description = "Forbidden: bot was blocked by the user"
            else:
                description = "Forbidden: bot was kicked from the group chat"
        self.forbidden_chats[chat] = description

    def allow_chat(self, chat_id: ChatId) -> None:
        """Undo :meth:`forbid_chat`."""
        self.forbidden_chats.pop(normalize_chat_id(chat_id), None)

    def reset_calls(self) -> None:
        """Forget recorded calls and deliveries (state such as messages is kept)."""
        self.calls.clear()
        self.unknown_methods.clear()
        self.delivered.clear()

    # ---------------------------------------------------------------- inspection

    def calls_of(self, method: str) -> list[JSONDict]:
        """Params of every call of ``method`` (case-insensitive), including failed ones."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def sent_messages(self, chat_id: ChatId | None = None) -> list[JSONDict]:
        """Successfully delivered ``sendMessage`` payloads (plus the result ``message_id``)."""
        return self._delivered_of("sendMessage", chat_id)

    def sent_documents(self, chat_id: ChatId | None = None) -> list[JSONDict]:
        """Delivered ``sendDocument`` payloads; uploads appear as :class:`UploadedFile`."""
        return self._delivered_of("sendDocument", chat_id)

    def edited_messages(self, chat_id: ChatId | None = None) -> list[JSONDict]:
        """Successful ``editMessageText`` / ``editMessageReplyMarkup`` payloads."""
        return self._delivered_of("editMessageText", chat_id) + self._delivered_of(
            "editMessageReplyMarkup", chat_id
        )

    def get_message(self, chat_id: ChatId, message_id: int) -> JSONDict | None:
        """The current state of a message (after edits), ``None`` if unknown/deleted."""
        return self._messages.get((normalize_chat_id(chat_id), message_id))

    def get_commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """Commands set via ``setMyCommands`` for ``scope`` (default scope if ``None``)."""
        return self.commands.get((self._scope_key(scope), language_code), [])

    async def wait_for_messages(
        self, n: int, chat_id: ChatId | None = None, timeout: float = 5.0
    ) -> list[JSONDict]:
        """Wait until at least ``n`` messages were delivered (to ``chat_id``) and return them.

        Raises:
            AssertionError: on timeout, listing what was delivered.
        """
        if await self._wait_until(lambda: len(self.sent_messages(chat_id)) >= n, timeout):
            return self.sent_messages(chat_id)
        texts = [m.get("text") for m in self.sent_messages(chat_id)]
        raise AssertionError(
            f"expected >= {n} sendMessage to chat {chat_id!r} within {timeout}s, "
            f"got {len(texts)}: {texts!r}"
        )

    async def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[JSONDict]:
        """Wait until ``method`` was called at least ``n`` times; return all its params."""
        if await self._wait_until(lambda: len(self.calls_of(method)) >= n, timeout):
            return self.calls_of(method)
        raise AssertionError(
            f"expected >= {n} calls of {method} within {timeout}s, got {len(self.calls_of(method))}"
        )

    # ------------------------------------------------------------ update builders

    def user(
        self, user_id: int, username: str | None = None, first_name: str | None = None
    ) -> JSONDict:
        """The ``User`` object for ``user_id`` (remembered for later calls)."""
        known = self._users.get(user_id, {})
        user: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or known.get("first_name") or f"User{user_id}",
            "username": username or known.get("username") or f"user{user_id}",
            "language_code": "en",
        }
        self._users[user_id] = user
        return user

    def chat(
        self, chat_id: ChatId, chat_type: str | None = None, title: str | None = None
    ) -> JSONDict:
        """The ``Chat`` object for ``chat_id``.

        The type is inferred when not given: positive ids are private chats,
        ``-100…`` ids supergroups, other negative ids groups, ``@name`` channels.
        """
        chat_id = normalize_chat_id(chat_id)
        known = self._chats.get(chat_id)
        if known is not None and (chat_type is None or known["type"] == chat_type) and not title:
            return known
        if chat_type is None:
            if isinstance(chat_id, str):
                chat_type = "channel"
            elif chat_id > 0:
                chat_type = "private"
            else:
                chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        if chat_type == "private":
            if not isinstance(chat_id, int) or chat_id <= 0:
                raise ValueError(f"private chats need a positive id, got {chat_id!r}")
            user = self._users.get(chat_id) or self.user(chat_id)
            chat: JSONDict = {
                "id": chat_id,
                "type": "private",
                "first_name": user["first_name"],
                "username": user["username"],
            }
        else:
            if isinstance(chat_id, int) and chat_id > 0:
                raise ValueError(f"{chat_type} chats need a negative id, got {chat_id}")
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}"}
            if isinstance(chat_id, str):
                chat["id"] = -1009999999999
                chat["username"] = chat_id.lstrip("@")
        self._chats[chat_id] = chat
        return chat

    def text_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        chat_type: str | None = None,
        username: str | None = None,
        reply_to_bot_message_id: int | None = None,
        message_thread_id: int | None = None,
        *,
        first_name: str | None = None,
        chat_title: str | None = None,
    ) -> JSONDict:
        """Build (not push) an Update with a text message from a user.

        Texts starting with ``/`` get a ``bot_command`` entity covering the
        command word (including an optional ``@botname``).
        """
        message = self._user_message(
            chat_id,
            user_id,
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            chat_title=chat_title,
            reply_to_bot_message_id=reply_to_bot_message_id,
            message_thread_id=message_thread_id,
        )
        message["text"] = text
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        return {"update_id": next(self._update_ids), "message": message}

    def document_message(
        self,
        chat_id: int,
        user_id: int,
        file_id: str,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_type: str | None = None,
        username: str | None = None,
        reply_to_bot_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> JSONDict:
        """Build (not push) an Update with a document. Register bytes with :meth:`add_file`."""
        message = self._user_message(
            chat_id,
            user_id,
            chat_type=chat_type,
            username=username,
            reply_to_bot_message_id=reply_to_bot_message_id,
            message_thread_id=message_thread_id,
        )
        stored = self.files.get(file_id)
        document: JSONDict = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id if stored else f"uniq-{file_id}",
            "file_name": file_name,
        }
        if mime_type or (stored and stored.mime_type):
            document["mime_type"] = mime_type or (stored.mime_type if stored else None)
        if stored is not None:
            document["file_size"] = len(stored.content)
        message["document"] = document
        if caption is not None:
            message["caption"] = caption
            entities = _command_entities(caption)
            if entities:
                message["caption_entities"] = entities
        return {"update_id": next(self._update_ids), "message": message}

    def callback_query(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        data: str,
        username: str | None = None,
    ) -> JSONDict:
        """Build (not push) an Update for an inline button press on a bot message."""
        chat_key = normalize_chat_id(chat_id)
        message = self._messages.get((chat_key, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self.chat(chat_key),
                "from": dict(BOT_USER),
                "text": "",
            }
        query: JSONDict = {
            "id": str(next(self._callback_ids)),
            "from": self.user(user_id, username),
            "message": dict(message),
            "chat_instance": str(abs(hash(chat_key)) % 10**12),
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}

    # -------------------------------------------------------------- HTTP layer

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await self._parse_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error_response(bad_request(f"can't parse request: {exc}"))
        self.calls.append((method, params))
        logger.debug("fake telegram <- %s %r", method, params)
        self._notify()

        key = method.lower()
        handler = self._handlers.get(key)
        if handler is None:
            self.unknown_methods.append((method, params))
            logger.warning("fake telegram: unknown method %s", method)
            return self._error_response(ApiError(404, "Not Found: method not found"))
        try:
            self._check_injected_failure(key)
            chat_id = normalize_chat_id(params["chat_id"]) if "chat_id" in params else None
            if key in _CHAT_WRITE_METHODS and chat_id in self.forbidden_chats:
                raise ApiError(403, self.forbidden_chats[chat_id])
            limited_chat = chat_id if self.enforce_limits and key in _SEND_METHODS else None
            if limited_chat is not None:
                self._check_limits(limited_chat)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            if limited_chat is not None:
                self._record_send(limited_chat)
        except ApiError as exc:
            return self._error_response(exc)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        file_path = request.match_info["file_path"]
        self.calls.append(("<download>", {"file_path": file_path}))
        for stored in self.files.values():
            if stored.file_path == file_path:
                return web.Response(body=stored.content)
        return web.Response(status=404, text="Not Found")

    @staticmethod
    def _error_response(error: ApiError) -> web.Response:
        logger.debug("fake telegram -> %s %s", error.error_code, error.description)
        return web.json_response(error.to_json(), status=error.error_code)

    async def _parse_params(self, request: web.Request) -> JSONDict:
        """Parse query string + JSON / urlencoded / multipart body into typed values."""
        params: JSONDict = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        if not request.can_read_body:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                params[name] = UploadedFile(
                    field_name=name,
                    file_name=value.filename,
                    mime_type=value.content_type,
                    content=value.file.read(),
                )
            else:
                params[name] = _decode_form_value(name, str(value))
        return params

    # ------------------------------------------------------------ internals

    def _notify(self) -> None:
        """Wake everyone waiting in :meth:`_wait_until`."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    def _check_injected_failure(self, key: str) -> None:
        queue = self._failures.get(key)
        if not queue:
            return
        failure = queue[0]
        if failure.after > 0:
            failure.after -= 1
            return
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        self.injected_failures += 1
        raise failure.error

    def _chat_window(self, chat_id: ChatId) -> _SlidingWindow:
        window = self._chat_windows.get(chat_id)
        if window is None:
            if isinstance(chat_id, int) and chat_id > 0:
                window = _SlidingWindow(self._private_per_second, 1.0 - self._tolerance)
            else:
                window = _SlidingWindow(self._group_per_minute, 60.0 - self._tolerance)
            self._chat_windows[chat_id] = window
        return window

    def _check_limits(self, chat_id: ChatId) -> None:
        now = time.monotonic()
        waits = [
            w
            for w in (
                self._global_window.retry_after(now),
                self._chat_window(chat_id).retry_after(now),
            )
            if w is not None
        ]
        if waits:
            self.flood_errors += 1
            retry_after = max(0.05, math.ceil(max(waits) * 100) / 100)
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after:g}",
                {"retry_after": retry_after},
            )

    def _record_send(self, chat_id: ChatId) -> None:
        now = time.monotonic()
        self._global_window.record(now)
        self._chat_window(chat_id).record(now)

    def _delivered_of(self, method: str, chat_id: ChatId | None) -> list[JSONDict]:
        wanted = None if chat_id is None else normalize_chat_id(chat_id)
        return [
            params
            for name, params in self.delivered
            if name == method
            and (wanted is None or normalize_chat_id(params.get("chat_id")) == wanted)
        ]

    def _next_message_id(self, chat_id: ChatId) -> int:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    def _store_message(self, message: JSONDict, chat_id: ChatId | None = None) -> None:
        if chat_id is None:
            chat_id = normalize_chat_id(message["chat"]["id"])
        message_id = int(message["message_id"])
        self._messages[(chat_id, message_id)] = message
        if message_id > self._last_message_id.get(chat_id, 0):
            self._last_message_id[chat_id] = message_id
        self._chats.setdefault(chat_id, message["chat"])

    def _user_message(
        self,
        chat_id: int,
        user_id: int,
        *,
        chat_type: str | None,
        username: str | None,
        first_name: str | None = None,
        chat_title: str | None = None,
        reply_to_bot_message_id: int | None,
        message_thread_id: int | None,
    ) -> JSONDict:
        user = self.user(user_id, username, first_name)
        chat = self.chat(chat_id, chat_type, chat_title)
        message: JSONDict = {
            "message_id": self._next_message_id(normalize_chat_id(chat_id)),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
        }
        if message_thread_id is not None:
            chat["is_forum"] = True
            message["message_thread_id"] = message_thread_id
            message["is_topic_message"] = True
        if reply_to_bot_message_id is not None:
            replied = self._messages.get((normalize_chat_id(chat_id), reply_to_bot_message_id))
            message["reply_to_message"] = (
                _without_reply(replied)
                if replied
                else {
                    "message_id": reply_to_bot_message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": dict(BOT_USER),
                    "text": "",
                }
            )
        self._store_message(message)
        return message

    def _bot_message(self, params: JSONDict, **content: Any) -> JSONDict:
        """Create, store and return a Message sent by the bot."""
        chat_id = self._require_chat(params)
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chats.get(chat_id) or self.chat(chat_id),
            "from": dict(BOT_USER),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        reply_to = params.get("reply_to_message_id")
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
        if reply_to is not None:
            replied = self._messages.get((chat_id, int(reply_to)))
            if replied is None:
                raise bad_request("message to be replied not found")
            message["reply_to_message"] = _without_reply(replied)
        message.update({k: v for k, v in content.items() if v is not None})
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._store_message(message, chat_id)
        return message

    @staticmethod
    def _require_chat(params: JSONDict) -> ChatId:
        if params.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        return normalize_chat_id(params["chat_id"])

    def _format_text(self, raw: Any, parse_mode: Any, limit: int, *, caption: bool) -> str:
        """Validate a text/caption like Telegram and return its visible form."""
        text = "" if raw is None else str(raw)
        visible = text
        if self.strict_formatting and parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                visible = html_to_plain(text)
            elif mode == "markdownv2":
                check_markdown_v2(text)
        if not caption and not visible.strip():
            raise bad_request("message text is empty")
        if self.strict_formatting and utf16_len(visible) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return visible

    def _check_reply_markup(self, markup: Any) -> None:
        if not self.strict_formatting or not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
                if not str(button.get("text", "")).strip():
                    raise bad_request("text buttons are unallowed in the inline keyboard")

    def _editable_message(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake")
        chat_id = self._require_chat(params)
        message = self._messages.get((chat_id, int(params.get("message_id", 0))))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != BOT_ID:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    # --------------------------------------------------------- method handlers

    def _true(self, params: JSONDict) -> bool:
        return True

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = min(MAX_POLL_TIMEOUT, max(0.0, float(params.get("timeout") or 0)))
        allowed = params.get("allowed_updates") or None

        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # terminates an older pending poll with 409

        def available() -> list[JSONDict]:
            updates = self._updates
            if allowed:
                updates = [u for u in updates if any(k in u for k in allowed)]
            return updates[:limit]

        await self._wait_until(
            lambda: bool(available()) or self._closing or generation != self._poll_generation,
            timeout,
        )
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        return available()

    def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook = dict(params)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands must be a list")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands[key] = commands
        return True

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = self._format_text(
            params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH, caption=False
        )
        self._check_reply_markup(params.get("reply_markup"))
        message = self._bot_message(params, text=text, entities=params.get("entities"))
        self.delivered.append(("sendMessage", {**params, "message_id": message["message_id"]}))
        return message

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._editable_message(params)
        text = self._format_text(
            params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH, caption=False
        )
        markup = params.get("reply_markup")
        self._check_reply_markup(markup)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self.delivered.append(("editMessageText", dict(params)))
        return message

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._editable_message(params)
        markup = params.get("reply_markup")
        self._check_reply_markup(markup)
        if message.get("reply_markup") == markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        self.delivered.append(("editMessageReplyMarkup", dict(params)))
        return message

    def _answer_callback_query(self, params: JSONDict) -> bool:
        if not params.get("callback_query_id"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        return True

    def _send_chat_action(self, params: JSONDict) -> bool:
        self._require_chat(params)
        if not params.get("action"):
            raise bad_request("wrong parameter action in request")
        return True

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id = self._require_chat(params)
        user_id = int(params.get("user_id") or 0)
        if user_id == BOT_ID:
            user = dict(BOT_USER)
        else:
            user = self._users.get(user_id) or self.user(user_id)
        if isinstance(chat_id, int) and user_id in self.admins.get(chat_id, set()):
            return _administrator(user)
        return {"status": "member", "user": user}

    def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat_id = self._require_chat(params)
        if isinstance(chat_id, int) and chat_id > 0:
            raise bad_request("there are no administrators in the private chat")
        admins = self.admins.get(chat_id, set()) if isinstance(chat_id, int) else set()
        return [_administrator(self._users.get(uid) or self.user(uid)) for uid in sorted(admins)]

    def _send_document(self, params: JSONDict) -> JSONDict:
        document = params.get("document")
        caption = params.get("caption")
        visible_caption = None
        if caption:
            visible_caption = self._format_text(
                caption, params.get("parse_mode"), MAX_CAPTION_LENGTH, caption=True
            )
        if isinstance(document, UploadedFile):
            stored = self.add_file(
                f"sent{len(self.files) + 1}",
                document.content,
                document.file_name,
                document.mime_type,
            )
        elif isinstance(document, str) and document in self.files:
            stored = self.files[document]
        elif isinstance(document, str) and document:
            stored = self.add_file(document, b"", PurePosixPath(document).name or "file")
        else:
            raise bad_request("there is no document in the request")
        message = self._bot_message(params, document=stored.as_document(), caption=visible_caption)
        self.delivered.append(
            (
                "sendDocument",
                {**params, "message_id": message["message_id"], "file_id": stored.file_id},
            )
        )
        return message

    def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._require_chat(params)
        key = (chat_id, int(params.get("message_id") or 0))
        if key not in self._messages:
            raise bad_request("message to delete not found")
        del self._messages[key]
        self.delivered.append(("deleteMessage", dict(params)))
        return True


# ---------------------------------------------------------------- helpers


def _decode_form_value(name: str, value: str) -> Any:
    """Decode one urlencoded/multipart field the way PTB encoded it."""
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entity for a leading ``/command[@bot]`` word, else ``[]``."""
    if not text.startswith("/"):
        return []
    word = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(word)}]


def _without_reply(message: JSONDict) -> JSONDict:
    """Copy of a message suitable as ``reply_to_message`` (no nested reply)."""
    copy = dict(message)
    copy.pop("reply_to_message", None)
    return copy


def _administrator(user: JSONDict) -> JSONDict:
    """A ``ChatMemberAdministrator`` object with typical moderator rights."""
    return {
        "status": "administrator",
        "user": user,
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": False,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": False,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_pin_messages": True,
    }
