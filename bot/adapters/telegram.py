"""The Telegram adapter: python-telegram-bot's ``Application``, driven by hand.

Updates arrive by long polling (or by webhook when a public URL and a secret are configured), are
translated into platform-neutral :class:`~bot.types.Incoming` messages and run through the
:class:`~bot.router.Dispatcher`; its :class:`~bot.types.Reply` is rendered as Telegram HTML and
sent back, split at Telegram's length limit, with buttons as an inline keyboard.

Updates are processed concurrently, but those of one chat one at a time and in order, so a slow
``/add`` in one chat never holds up a question in another, and an article added in a chat is
stored before that chat's next question is answered.

This is the only module that imports :mod:`telegram`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
    Update,
)
from telegram import Chat as TgChat
from telegram import User as TgUser
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode, UpdateType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.base import Adapter, SendError
from bot.config import Settings
from bot.context import FileFetcher
from bot.i18n import MESSAGES
from bot.render import render_plain, render_telegram
from bot.router import Command, Dispatcher
from bot.types import Attachment, Conversation, Incoming, Reply, User

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

ALLOWED_UPDATES: tuple[str, ...] = (UpdateType.MESSAGE, UpdateType.CALLBACK_QUERY)
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for inline button data
CALLBACK_ALERT_LIMIT = 200  # characters an answerCallbackQuery text may have
CHAT_ADMIN_CACHE_SECONDS = 60.0
TYPING_REFRESH_SECONDS = 4.5  # Telegram shows a chat action for about 5 s

# Commands whose handling is slow enough to deserve a "typing…" indicator (plus plain questions).
_SLOW_COMMANDS = frozenset({"ask", "add"})
# Button prefixes whose reply replaces the message the button was on (paging), not a new message.
_EDIT_IN_PLACE = frozenset({"articles"})
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,32})(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s|$)")
_MENU_NAME = re.compile(r"[a-z0-9_]{1,32}")
_CHAT_ADMIN_STATUSES = frozenset({ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER})

# Menu texts for commands that carry no ``description`` of their own, and Arabic menu texts.
# A catalogue key ``menu_<command>`` in bot/i18n.py, when present, takes precedence.
_MENU_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "start": "Start: what I can do",
        "help": "The commands you can use",
        "ask": "Ask about the stored news",
        "articles": "Recent articles",
        "article": "One article's key facts",
        "language": "Set this chat's language (ar or en)",
        "add": "Add an article (admins)",
        "remove": "Remove an article (admins)",
    },
    "ar": {
        "start": "البداية: ما يمكنني فعله",
        "help": "الأوامر المتاحة لك",
        "ask": "اسأل عن الأخبار المخزّنة",
        "articles": "أحدث المقالات",
        "article": "أهم حقائق مقال",
        "language": "لغة هذه المحادثة (ar أو en)",
        "add": "إضافة مقال (للمشرفين)",
        "remove": "حذف مقال (للمشرفين)",
    },
}


def file_url_for(api_url: str) -> str:
    """Derive the Bot API file URL from ``api_url`` (``…/bot`` → ``…/file/bot``)."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    log.warning("cannot derive the file URL from %s; using %s", api_url, DEFAULT_FILE_URL)
    return DEFAULT_FILE_URL


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the type becomes timedelta; both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _send_error(error: TelegramError) -> SendError:
    """Map a Telegram error to a :class:`SendError` saying whether retrying can help."""
    if isinstance(error, RetryAfter):
        return SendError(str(error), permanent=False, retry_after=_retry_after_seconds(error))
    if isinstance(error, Forbidden):  # blocked by the user, kicked from the group
        return SendError(str(error), permanent=True)
    if isinstance(error, ChatMigrated):  # group became a supergroup: the old id is gone
        return SendError(f"chat migrated to {error.new_chat_id}", permanent=True)
    if isinstance(error, BadRequest) and "chat not found" in error.message.lower():
        return SendError(str(error), permanent=True)
    # Anything else (a network error, a message Telegram refused) says nothing about the chat,
    # so the caller may retry later rather than drop the chat.
    return SendError(str(error), permanent=False)


# Seconds before each new try of an interactive reply (``TelegramAdapter._reply``).
_REPLY_RETRY_DELAYS = (1.0, 3.0)


def _surely_not_posted(error: TelegramError) -> bool:
    """Whether Telegram certainly did not post the message whose sending raised ``error``.

    PTB raises NetworkError for a 5xx answer (no cause: Telegram answered, with an error) and
    for transport errors (caused by httpx's); of these only a failed connection means the
    request never left. BadRequest and TimedOut are NetworkErrors too: a message Telegram
    refuses will be refused again, and one that timed out may have been posted.
    """
    if not isinstance(error, NetworkError) or isinstance(error, BadRequest | TimedOut):
        return False
    return error.__cause__ is None or isinstance(error.__cause__, httpx.ConnectError)


class _ChatLocks:
    """One lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of chat ``key``; waiters get it in arrival order."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class TelegramAdapter(Adapter):
    """Serves the dispatcher on Telegram through python-telegram-bot.

    Args:
        dispatcher: Runs messages through the handlers.
        settings: Token, Bot API URLs, webhook settings and admins.
        poll_timeout: Seconds a long poll (``getUpdates``) waits for updates.
        typing_delay: Seconds a slow request may take before "typing…" is shown; the indicator
            costs a request that counts against Telegram's per-group limit, so fast answers
            go without it.

    """

    platform = "telegram"

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        poll_timeout: float = 30.0,
        typing_delay: float = 0.5,
    ) -> None:
        super().__init__(dispatcher)
        if not settings.telegram_token:
            raise ValueError("NEWSBOT_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.poll_timeout = poll_timeout
        self.typing_delay = typing_delay
        self.bot_username = ""
        self.bot_id = 0
        self.application = self._build(settings.telegram_token)
        self._chat_locks = _ChatLocks()
        self._chat_admins: dict[tuple[int, int], tuple[float, bool]] = {}

    # ------------------------------------------------------------------ lifecycle

    def _build(self, token: str) -> AnyApplication:
        settings = self.settings
        application: AnyApplication = (
            ApplicationBuilder()
            .token(token)
            .base_url(settings.telegram_api_url)
            .base_file_url(settings.telegram_file_url or file_url_for(settings.telegram_api_url))
            .rate_limiter(AIORateLimiter(max_retries=5))
            .concurrent_updates(32)
            .build()
        )
        content = filters.TEXT | filters.CAPTION | filters.Document.ALL
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & content, self._on_message)
        )
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_error_handler(self._on_error)
        return application

    @property
    def webhook_mode(self) -> bool:
        """Whether updates come by webhook (URL and secret configured) instead of polling."""
        return bool(self.settings.telegram_webhook_url and self.settings.telegram_webhook_secret)

    async def start(self) -> None:
        """Log in, publish the command menus and start receiving updates."""
        try:
            await self._start()
        except BaseException:
            await self.stop()  # a half-started application still holds connections
            raise

    async def _start(self) -> None:
        application = self.application
        await application.initialize()
        self.bot_username = application.bot.username
        self.bot_id = application.bot.id
        await self.publish_commands()
        await application.start()
        updater = application.updater
        assert updater is not None  # built with the default updater
        if self.webhook_mode:
            url = self.settings.telegram_webhook_url or ""
            await updater.start_webhook(
                listen="0.0.0.0",  # behind the reverse proxy that terminates TLS
                port=self.settings.telegram_webhook_port,
                url_path=urlparse(url).path.lstrip("/"),
                webhook_url=url,
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
            log.info("telegram: @%s receiving updates by webhook at %s", self.bot_username, url)
        else:
            await updater.start_polling(
                poll_interval=0.0,
                timeout=timedelta(seconds=self.poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
            log.info("telegram: @%s receiving updates by long polling", self.bot_username)

    async def stop(self) -> None:
        """Stop receiving updates, finish the ones in hand and close the connection."""
        application = self.application
        try:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        finally:
            self.stopped.set()

    # ------------------------------------------------------------------ command menus

    def _menu(self, commands: Sequence[Command], language: str) -> list[BotCommand]:
        menu = []
        for command in commands:
            if not _MENU_NAME.fullmatch(command.name):
                continue  # Telegram accepts only lowercase names in the menu
            catalogue = MESSAGES.get(language, {}).get(f"menu_{command.name}")
            fallback = _MENU_TEXT[language].get(command.name)
            if language == "en":
                text = catalogue or command.description or fallback or command.name
            else:
                text = catalogue or fallback or command.description or command.name
            menu.append(BotCommand(command.name, text[:256]))
        return menu

    async def publish_commands(self) -> None:
        """Set the command menus (``setMyCommands``) in English and Arabic.

        Everyone sees the commands anyone may use; private chats and group admins also see the
        chat-admin ones; each configured bot admin's private chat shows every command.
        """
        commands = list(self.dispatcher.router.commands.values())
        anyone = [c for c in commands if c.permission == "anyone"]
        chat_admin = [c for c in commands if c.permission in ("anyone", "chat_admin")]
        scopes: list[tuple[BotCommandScope, list[Command]]] = [
            (BotCommandScopeDefault(), anyone),
            (BotCommandScopeAllPrivateChats(), chat_admin),
            (BotCommandScopeAllChatAdministrators(), chat_admin),
        ]
        for key in sorted(self.settings.admin_keys):
            platform, _, user_id = key.partition(":")
            if platform == self.platform and user_id.lstrip("-").isdigit():
                scopes.append((BotCommandScopeChat(int(user_id)), commands))
        bot = self.application.bot

        async def publish(scope: BotCommandScope, chosen: list[Command], language: str) -> None:
            try:
                await bot.set_my_commands(
                    self._menu(chosen, language),
                    scope=scope,
                    language_code=None if language == "en" else language,
                )
            except TelegramError as error:  # e.g. an admin who never opened a chat with the bot
                log.warning("telegram: setMyCommands for %s failed: %s", scope.type, error)

        await asyncio.gather(
            *(
                publish(scope, chosen, language)
                for scope, chosen in scopes
                for language in ("en", "ar")
            )
        )

    # ------------------------------------------------------------------ incoming

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.from_user is None:
            return
        anonymous_admin = (
            message.sender_chat is not None and message.sender_chat.id == message.chat.id
        )
        if message.from_user.is_bot and not anonymous_admin:  # other bots; never ourselves
            return
        async with self._chat_locks.hold(str(message.chat.id)):
            msg = await self.to_incoming(update)
            if msg is None:
                return
            command = self._command_name(msg.text)
            slow = command in _SLOW_COMMANDS if command else msg.addressed
            thread = msg.conversation.thread_id
            typing = (
                self._typing(message.chat.id, int(thread) if thread else None) if slow else None
            )
            try:
                reply = await self.dispatcher.handle(
                    msg, fetch_file=self._file_fetcher(message), bot_username=self.bot_username
                )
            finally:
                if typing is not None:
                    typing.cancel()
            if reply is not None:
                await self._reply(msg, reply)

    async def to_incoming(self, update: Update) -> Incoming | None:
        """Translate a message update into an :class:`Incoming`; None when it has no sender."""
        message = update.message
        if message is None or message.from_user is None:
            return None
        chat, sender = message.chat, message.from_user
        private = chat.type == ChatType.PRIVATE
        text = message.text or message.caption or ""
        addressed = private
        if not private:
            text, mentioned = self._strip_mention(text)
            addressed = mentioned or self._replies_to_bot(message)
        replied = message.reply_to_message
        reply_text = None
        if (
            replied is not None
            and not self._replies_to_bot(message)
            and not _is_topic_root(replied)
        ):
            reply_text = replied.text or replied.caption
        attachments: tuple[Attachment, ...] = ()
        if message.document is not None:
            document = message.document
            attachments = (
                Attachment(
                    filename=document.file_name or "document",
                    size=document.file_size or 0,
                    mime_type=document.mime_type,
                ),
            )
        thread = message.message_thread_id if message.is_topic_message else None
        return Incoming(
            conversation=Conversation(
                platform=self.platform,
                chat_id=str(chat.id),
                thread_id=str(thread) if thread is not None else None,
                is_private=private,
            ),
            user=User(self.platform, str(sender.id), sender.full_name),
            text=text,
            message_id=str(message.message_id),
            sent_at=message.date.astimezone(UTC),
            is_admin=self.dispatcher.is_admin(self.platform, str(sender.id)),
            is_chat_admin=await self._is_chat_admin(message, text),
            addressed=addressed,
            reply_text=reply_text,
            attachments=attachments,
            raw=update,
        )

    def _command_name(self, text: str) -> str | None:
        match = _COMMAND.match(text.strip())
        if match is None:
            return None
        bot = match.group("bot")
        if bot and self.bot_username and bot.lower() != self.bot_username.lower():
            return None
        return match.group("name").lower()

    def _strip_mention(self, text: str) -> tuple[str, bool]:
        """Remove ``@botusername`` (not ``/cmd@bot``) from ``text``; say whether it was there."""
        if not self.bot_username:
            return text, False
        pattern = re.compile(rf"(?<![\w/@])@{re.escape(self.bot_username)}\b[:,]?", re.IGNORECASE)
        stripped, count = pattern.subn("", text)
        return (stripped.strip(), True) if count else (text, False)

    def _replies_to_bot(self, message: Message) -> bool:
        replied = message.reply_to_message
        return (
            replied is not None
            and not _is_topic_root(replied)
            and replied.from_user is not None
            and replied.from_user.id == self.bot_id
        )

    async def _is_chat_admin(self, message: Message, text: str) -> bool:
        """Whether the sender administers the chat; asked of Telegram only when it matters."""
        chat = message.chat
        if chat.type == ChatType.PRIVATE:
            return True
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous group admin, posting as the group
        name = self._command_name(text)
        command = self.dispatcher.router.commands.get(name) if name else None
        if command is None or command.permission != "chat_admin" or message.from_user is None:
            return False
        return await self._chat_member_is_admin(chat, message.from_user)

    async def _chat_member_is_admin(self, chat: TgChat, user: TgUser) -> bool:
        key = (chat.id, user.id)
        now = time.monotonic()
        cached = self._chat_admins.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            member = await self.application.bot.get_chat_member(chat.id, user.id)
        except TelegramError as error:
            log.warning("telegram: getChatMember(%s, %s) failed: %s", chat.id, user.id, error)
            return False
        is_admin = member.status in _CHAT_ADMIN_STATUSES
        if len(self._chat_admins) > 10_000:  # forget expired entries now and then
            self._chat_admins = {k: v for k, v in self._chat_admins.items() if v[0] > now}
        self._chat_admins[key] = (now + CHAT_ADMIN_CACHE_SECONDS, is_admin)
        return is_admin

    def _file_fetcher(self, message: Message) -> FileFetcher:
        """Make the fetcher that downloads the message's document when a handler asks for it."""
        document = message.document

        async def fetch(attachment: Attachment) -> bytes:
            if attachment.data is not None:
                return attachment.data
            if document is None:
                raise RuntimeError("this message has no file")
            file = await self.application.bot.get_file(document.file_id)
            return bytes(await file.download_as_bytearray())

        return fetch

    def _typing(self, chat_id: int, thread_id: int | None) -> asyncio.Task[None]:
        async def keep_typing() -> None:
            await asyncio.sleep(self.typing_delay)
            while True:
                try:
                    await self.application.bot.send_chat_action(
                        chat_id, ChatAction.TYPING, message_thread_id=thread_id
                    )
                except TelegramError as error:
                    log.debug("telegram: typing action in %s failed: %s", chat_id, error)
                    return
                await asyncio.sleep(TYPING_REFRESH_SECONDS)

        return asyncio.create_task(keep_typing(), name=f"typing-{chat_id}")

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        message = query.message if isinstance(query.message, Message) else None
        if message is None or not query.data:
            await self._answer(query)  # too old to know where to answer: just stop the spinner
            return
        async with self._chat_locks.hold(str(message.chat.id)):
            msg = self.callback_incoming(query, message, update)
            reply = await self.dispatcher.handle_callback(msg, query.data)
            if reply is None:
                await self._answer(query)
                return
            if reply.ephemeral:
                alert = render_plain(reply)
                if len(alert) <= CALLBACK_ALERT_LIMIT:
                    await self._answer(query, alert)
                    return
            await self._answer(query)
            prefix = query.data.partition(":")[0]
            if prefix in _EDIT_IN_PLACE and await self._edit(message, reply):
                return
            try:
                await self._send(msg.conversation, reply)
            except TelegramError as error:
                log.warning("telegram: reply to a button in %s failed: %s", msg.conversation, error)

    def callback_incoming(self, query: CallbackQuery, message: Message, update: Update) -> Incoming:
        """Translate a button press on ``message`` into an :class:`Incoming`."""
        chat, sender = message.chat, query.from_user
        private = chat.type == ChatType.PRIVATE
        thread = message.message_thread_id if message.is_topic_message else None
        return Incoming(
            conversation=Conversation(
                platform=self.platform,
                chat_id=str(chat.id),
                thread_id=str(thread) if thread is not None else None,
                is_private=private,
            ),
            user=User(self.platform, str(sender.id), sender.full_name),
            text="",
            message_id=str(message.message_id),
            sent_at=message.date.astimezone(UTC),
            is_admin=self.dispatcher.is_admin(self.platform, str(sender.id)),
            is_chat_admin=private,
            addressed=True,
            raw=update,
        )

    async def _answer(self, query: CallbackQuery, text: str | None = None) -> None:
        try:
            await query.answer(text, show_alert=bool(text))
        except TelegramError as error:  # the query expired: the reply is still worth sending
            log.debug("telegram: answerCallbackQuery failed: %s", error)

    async def _edit(self, message: Message, reply: Reply) -> bool:
        """Replace ``message`` with a one-message reply; False when it must be sent instead."""
        texts = render_telegram(reply)
        if len(texts) != 1:
            return False
        try:
            await message.edit_text(
                texts[0],
                parse_mode=ParseMode.HTML,
                reply_markup=self._keyboard(reply),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return True  # the same page again: nothing to change
            log.warning("telegram: editing %s failed: %s", message.message_id, error)
            return False
        except TelegramError as error:
            log.warning("telegram: editing %s failed: %s", message.message_id, error)
            return False
        return True

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: error while handling update %s", update_id, exc_info=context.error)

    # ------------------------------------------------------------------ outgoing

    async def _reply(self, msg: Incoming, reply: Reply) -> None:
        """Answer ``msg``: in groups as a reply to it, always in its topic.

        A message Telegram surely did not post (it answered with a server error, or the
        connection was never made) is sent again, twice at most, and the reply goes on from
        it; the messages it accepted are not sent again. A timeout is not retried: Telegram may
        have posted the message, and posting nothing twice comes first. Flood control (429) is
        retried by the rate limiter.
        """
        reply_to = None if msg.conversation.is_private else int(msg.message_id)
        sent: list[str] = []
        for delay in (*_REPLY_RETRY_DELAYS, None):
            try:
                await self._send(
                    msg.conversation, reply, reply_to=reply_to, skip=len(sent), sent=sent
                )
                return
            except TelegramError as error:
                if delay is None or not _surely_not_posted(error):
                    log.warning("telegram: replying in %s failed: %s", msg.conversation, error)
                    return
                log.info("telegram: replying in %s failed (%s); retrying", msg.conversation, error)
                await asyncio.sleep(delay)

    async def send(self, conversation: Conversation, reply: Reply, *, skip: int = 0) -> list[str]:
        """Send a reply unprompted (digests); returns the ids of the messages sent.

        ``skip`` leaves out the reply's first messages (accepted by an earlier try).

        Raises:
            SendError: ``permanent`` when the bot was blocked or removed or the chat is gone;
                otherwise retrying later may help (``retry_after`` when Telegram said when).
                ``sent_ids`` holds the messages accepted before the failure.

        """
        sent: list[str] = []
        try:
            await self._send(conversation, reply, skip=skip, sent=sent)
        except TelegramError as error:
            failure = _send_error(error)
            failure.sent_ids = tuple(sent)
            raise failure from error
        return sent

    async def _send(
        self,
        conversation: Conversation,
        reply: Reply,
        *,
        reply_to: int | None = None,
        skip: int = 0,
        sent: list[str] | None = None,
    ) -> list[str]:
        """Send ``reply``'s messages after the first ``skip``, noting each id in ``sent``."""
        texts = render_telegram(reply)
        keyboard = self._keyboard(reply)
        thread = int(conversation.thread_id) if conversation.thread_id else None
        sent = [] if sent is None else sent
        for index, text in enumerate(texts):
            if index < skip:
                continue
            last = index == len(texts) - 1
            message = await self.application.bot.send_message(
                chat_id=_chat_id(conversation.chat_id),
                text=text,
                parse_mode=ParseMode.HTML,
                message_thread_id=thread,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None and index == 0
                    else None
                ),
                reply_markup=keyboard if last else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            sent.append(str(message.message_id))
        return sent

    def _keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        buttons = []
        for button in reply.buttons:
            if not 1 <= len(button.data.encode()) <= CALLBACK_DATA_LIMIT:
                log.warning("telegram: button data %r is too long; button left out", button.data)
                continue
            buttons.append(InlineKeyboardButton(button.label, callback_data=button.data))
        return InlineKeyboardMarkup([buttons]) if buttons else None


def _chat_id(chat_id: str) -> int | str:
    """Telegram's chat id: numeric, or ``@channelname`` for public channels."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def _is_topic_root(message: Message) -> bool:
    """Tell whether ``message`` opened a forum topic (every post in the topic replies to it)."""
    return message.forum_topic_created is not None
