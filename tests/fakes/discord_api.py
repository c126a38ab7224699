"""In-process fake of the Discord gateway (websocket) and REST API for tests.

:class:`FakeDiscord` runs a single :mod:`aiohttp.web` server on ``127.0.0.1`` (free port)
that serves the REST API under ``/api/v10/...``, the gateway websocket at ``/gateway`` and
attachment downloads at ``/attachments/...``.  While active it patches
``discord.http.Route.BASE`` and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` so an
unmodified ``discord.Client`` / ``commands.Bot`` talks to it instead of Discord.

Typical use::

    async with FakeDiscord() as fake:
        bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        await bot.login(FAKE_TOKEN)
        task = asyncio.create_task(bot.connect())
        await asyncio.wait_for(bot.wait_until_ready(), 2)
        await fake.send_message_create(DEFAULT_CHANNEL_ID, DEFAULT_USER_ID, "<@9000> hi")
        [reply] = await fake.wait_for(lambda: fake.channel_messages(DEFAULT_CHANNEL_ID))
        await bot.close()

Pass ``guild_ready_timeout`` (a :class:`discord.Client` option, default 2.0 s) to keep
``wait_until_ready`` fast: discord.py waits that long after the last ``GUILD_CREATE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import math
import re
import secrets
import socket
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

log = logging.getLogger(__name__)

T = TypeVar("T")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

DEFAULT_BOT_ID = 9000
DEFAULT_BOT_NAME = "newsbot"
DEFAULT_GUILD_ID = 1000
DEFAULT_CHANNEL_ID = 1001
DEFAULT_USER_ID = 5000
DEFAULT_USER_NAME = "alice"
DEFAULT_OWNER_ID = 4000
DEFAULT_OWNER_NAME = "owner"
FAKE_TOKEN = "fake-bot-token"

# Gateway intents (bit values) that affect what the fake delivers.
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

#: Permissions of ``@everyone`` in generated guilds (view/send/history/reactions/embeds/...).
DEFAULT_EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    read_message_history=True,
    add_reactions=True,
    embed_links=True,
    attach_files=True,
    use_external_emojis=True,
    use_application_commands=True,
).value
#: Permissions of the bot's managed role (all text permissions, no administrator).
DEFAULT_BOT_PERMISSIONS = (
    discord.Permissions.text() | discord.Permissions(view_channel=True)
).value
ALL_PERMISSIONS = discord.Permissions.all().value
ADMINISTRATOR = discord.Permissions(administrator=True).value

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class Call(NamedTuple):
    """One REST request received by the fake: ``(method, path, json)``.

    ``path`` is relative to the API base (e.g. ``/channels/1001/messages``, no query string);
    ``json`` is the decoded JSON body, the decoded ``payload_json`` part of a multipart body,
    or ``None``.
    """

    method: str
    path: str
    json: Any


@dataclass
class RecordedRequest:
    """Full detail of one REST request (see :attr:`FakeDiscord.requests`)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[dict[str, Any]]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _FailureRule:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    after: int = 0  # matching requests let through before the failures start


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _Request:
    method: str
    path: str
    query: Mapping[str, str]
    json: Any
    files: list[dict[str, Any]]
    headers: Mapping[str, str]


class _HTTPError(Exception):
    """Raised inside route handlers to produce a Discord-style JSON error reply."""

    def __init__(self, status: int, message: str, code: int = 0, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code, **extra}


class _GatewayConnection:
    """One accepted gateway websocket (zlib-stream compressed when requested)."""

    def __init__(self, ws: web.WebSocketResponse, *, zlib_stream: bool) -> None:
        self.ws = ws
        self._zlib = zlib.compressobj() if zlib_stream else None
        self._lock = asyncio.Lock()
        self.session: _Session | None = None

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self._lock:
            if self.ws.closed:
                raise ConnectionResetError("gateway websocket is closed")
            if self._zlib is not None:
                # discord.py buffers binary frames until it sees the Z_SYNC_FLUSH suffix.
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass
class _Session:
    session_id: str
    intents: int
    identify: dict[str, Any]
    seq: int = 0
    conn: _GatewayConnection | None = None
    backlog: list[dict[str, Any]] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def _iso(ts: float | None = None) -> str:
    when = dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=dt.UTC)
    return when.isoformat()


class FakeDiscord:
    """Fake Discord REST API + gateway server for driving a real discord.py client in tests.

    Public state:

    * :attr:`calls` -- every REST call as :class:`Call` ``(method, path, json)``.
    * :attr:`requests` -- the same with query, files, headers and response status.
    * :attr:`unknown_routes` -- calls that got the 404 catch-all.
    * :attr:`gateway_received` -- every gateway payload sent by clients (incl. heartbeats).
    * :attr:`identifies` -- the ``d`` of each IDENTIFY.
    * :attr:`gateway_connects` -- path + query of each gateway websocket connection.
    """

    def __init__(
        self,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        application_id: int | None = None,
        application_flags: int = 0,
        token: str | None = None,
        default_guild: bool = True,
        heartbeat_interval_ms: int = 45000,
        enforce_intents: bool = True,
        echo_messages: bool = True,
    ) -> None:
        """Configure the fake (nothing is started until :meth:`start` / ``async with``).

        :param bot_id: user id of the bot account.
        :param application_id: defaults to ``bot_id`` (as for real bot applications).
        :param token: if given, only ``Bot <token>`` is accepted (REST 401 / gateway 4004);
            otherwise any non-empty token is accepted.
        :param default_guild: create guild ``DEFAULT_GUILD_ID`` owned by ``DEFAULT_OWNER_ID``
            ("owner", also the application owner) with text channel ``DEFAULT_CHANNEL_ID``
            ("general") and the plain member ``DEFAULT_USER_ID`` ("alice").
        :param enforce_intents: like Discord, only deliver guild/DM messages with the
            GUILD_MESSAGES/DIRECT_MESSAGES intents and blank their content without
            MESSAGE_CONTENT (unless DM, bot mentioned or authored by the bot).
        :param echo_messages: like Discord, dispatch MESSAGE_CREATE/UPDATE/DELETE over the
            gateway for messages the bot creates/edits/deletes through REST.
        """
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.application_id = application_id if application_id is not None else bot_id
        self.application_flags = application_flags
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.enforce_intents = enforce_intents
        self.echo_messages = echo_messages

        self.host = "127.0.0.1"
        self.port: int | None = None

        self.calls: list[Call] = []
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[Call] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.identifies: list[dict[str, Any]] = []
        self.gateway_connects: list[str] = []

        self._users: dict[int, dict[str, Any]] = {}
        self._guilds: dict[int, _Guild] = {}
        self._dm_channels: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._sent_messages: list[dict[str, Any]] = []
        self._edits: list[dict[str, Any]] = []
        self._deleted: list[tuple[int, int]] = []
        self._reactions: list[tuple[str, int, int, str]] = []
        self._typing: list[int] = []
        self._commands: dict[int | None, list[dict[str, Any]]] = {}
        self._interactions: dict[str, dict[str, Any]] = {}
        self._interaction_responses: list[dict[str, Any]] = []
        self._followups: list[dict[str, Any]] = []
        self._original_edits: list[dict[str, Any]] = []
        self._attachments: dict[int, tuple[str, bytes, str]] = {}

        self._failures: list[_FailureRule] = []
        self._forbidden_channels: set[int] = set()
        self._forbidden_dm_users: set[int] = set()

        self._sessions: dict[str, _Session] = {}
        self._connections: set[_GatewayConnection] = set()
        self._change = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)

        self._runner: web.AppRunner | None = None
        self._patched: dict[str, Any] | None = None
        self._routes = self._build_routes()

        self.add_user(bot_id, bot_name, bot=True)
        if default_guild:
            self.add_user(DEFAULT_USER_ID, DEFAULT_USER_NAME)
            self.add_user(DEFAULT_OWNER_ID, DEFAULT_OWNER_NAME)
            self.add_guild(DEFAULT_GUILD_ID, "Test Guild", owner_id=DEFAULT_OWNER_ID)
            self.add_channel(DEFAULT_GUILD_ID, DEFAULT_CHANNEL_ID, "general")
            self.add_member(DEFAULT_GUILD_ID, DEFAULT_OWNER_ID)
            self.add_member(DEFAULT_GUILD_ID, DEFAULT_USER_ID)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (only valid once started)."""
        if self.port is None:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The value patched into ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        """The value patched into ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return yarl.URL(f"ws://{self.host}:{self.port}/gateway")

    async def start(self) -> None:
        """Start the HTTP/websocket server on a free port of 127.0.0.1."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/attachments/{att_id}/{filename}", self._attachment_handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api_handler)
        app.router.add_route("*", "/{tail:.*}", self._not_found_handler)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        log.debug("FakeDiscord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close all gateway connections and stop the server."""
        for task in list(self._tasks):
            task.cancel()
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"fake shutting down")
        self._connections.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def patch(self) -> None:
        """Point discord.py at this fake (idempotent; undone by :meth:`unpatch`)."""
        if self._patched is not None:
            return
        self._patched = {
            "base": discord.http.Route.BASE,
            "gateway": discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
        }
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.gateway_url

    def unpatch(self) -> None:
        """Restore the values replaced by :meth:`patch`."""
        if self._patched is None:
            return
        discord.http.Route.BASE = self._patched["base"]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._patched["gateway"]
        self._patched = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        self.patch()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.unpatch()
        await self.stop()

    # ------------------------------------------------------------------ world setup

    def _snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._ids) & 0x3FFFFF)

    def add_user(self, user_id: int, username: str, *, bot: bool = False) -> dict[str, Any]:
        """Register (or replace) a user; returns its user payload."""
        user = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }
        if user_id == self.bot_id:
            user.update({"verified": True, "mfa_enabled": False, "locale": "en-US"})
        self._users[user_id] = user
        return user

    def _ensure_user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id, f"user{user_id}")

    def add_guild(
        self,
        guild_id: int,
        name: str = "Test Guild",
        *,
        owner_id: int = DEFAULT_OWNER_ID,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> None:
        """Add a guild with an ``@everyone`` role, a managed bot role and the bot member.

        Call before the client connects (guilds are announced in READY / GUILD_CREATE), or
        afterwards followed by :meth:`send_guild_create`.
        """
        self._ensure_user(owner_id)
        guild = _Guild(id=guild_id, name=name, owner_id=owner_id)
        guild.roles[guild_id] = self._role_payload(guild_id, "@everyone", everyone_permissions, 0)
        bot_role_id = self._snowflake()
        guild.roles[bot_role_id] = self._role_payload(
            bot_role_id, self.bot_name, bot_permissions, 1, managed=True
        )
        self._guilds[guild_id] = guild
        self.add_member(guild_id, self.bot_id, roles=[bot_role_id])

    @staticmethod
    def _role_payload(
        role_id: int, name: str, permissions: int, position: int, *, managed: bool = False
    ) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def add_role(self, guild_id: int, role_id: int, name: str, permissions: int = 0) -> None:
        """Add a role to a guild (assign it with ``add_member(..., roles=[role_id])``)."""
        guild = self._guilds[guild_id]
        guild.roles[role_id] = self._role_payload(role_id, name, permissions, len(guild.roles))

    def add_channel(
        self,
        guild_id: int,
        channel_id: int,
        name: str,
        *,
        type: int = 0,
        topic: str | None = None,
        permission_overwrites: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Add a guild channel (type 0 text, 2 voice, 4 category, 5 news); returns payload."""
        guild = self._guilds[guild_id]
        channel: dict[str, Any] = {
            "id": str(channel_id),
            "type": type,
            "guild_id": str(guild_id),
            "name": name,
            "position": len(guild.channels),
            "permission_overwrites": permission_overwrites or [],
            "parent_id": None,
            "topic": topic,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        if type in (2, 13):
            channel.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        guild.channels[channel_id] = channel
        return channel

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        username: str | None = None,
        roles: Iterable[int] = (),
        nick: str | None = None,
    ) -> dict[str, Any]:
        """Add a guild member (creating the user if needed); returns the member payload."""
        if username is not None:
            self.add_user(user_id, username)
        user = self._ensure_user(user_id)
        member = {
            "user": user,
            "nick": nick,
            "avatar": None,
            "roles": [str(r) for r in roles],
            "joined_at": _iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        self._guilds[guild_id].members[user_id] = member
        return member

    def dm_channel_for(self, user_id: int) -> int:
        """Return (creating if needed) the id of the DM channel between the bot and a user."""
        for channel_id, channel in self._dm_channels.items():
            if channel["recipients"][0]["id"] == str(user_id):
                return channel_id
        channel_id = self._snowflake()
        self._dm_channels[channel_id] = {
            "id": str(channel_id),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self._ensure_user(user_id)],
        }
        return channel_id

    def add_attachment(
        self, filename: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Store bytes served at ``http://127.0.0.1:PORT/attachments/...``; return payload."""
        att_id = self._snowflake()
        self._attachments[att_id] = (filename, data, content_type)
        url = f"{self.base_url}/attachments/{att_id}/{filename}"
        return {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        """Compute a member's guild-level permissions from its roles (owner/admin -> all)."""
        guild = self._guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        perms = int(guild.roles[guild_id]["permissions"])
        if member is not None:
            for role_id in member["roles"]:
                role = guild.roles.get(int(role_id))
                if role is not None:
                    perms |= int(role["permissions"])
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        times: int = 1,
        retry_after: float = 0.3,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with HTTP 429 (rate limited).

        ``path_regex`` is matched with :func:`re.fullmatch` against the path relative to the
        API base without query, e.g. ``r"/channels/\\d+/messages"``.
        The reply carries ``Via`` (discord.py treats a 429 without it as a Cloudflare ban
        and raises instead of retrying) and ``X-RateLimit-*`` headers.
        """
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket" + secrets.token_hex(4),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        self.fail_route(method, path_regex, status=429, body=body, times=times, headers=headers)

    def fail_route(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` and JSON ``body``.

        ``after``: let that many matching requests through first.
        """
        self._failures.append(
            _FailureRule(
                method=method.upper(),
                pattern=re.compile(path_regex),
                times=times,
                status=status,
                body=body if body is not None else {"message": f"{status}: Error", "code": 0},
                headers=dict(headers or {}),
                after=after,
            )
        )

    def forbid_channel(self, channel_id: int) -> None:
        """Make every REST request on ``/channels/{channel_id}...`` fail with 403 50001."""
        self._forbidden_channels.add(channel_id)

    def allow_channel(self, channel_id: int) -> None:
        """Undo :meth:`forbid_channel`."""
        self._forbidden_channels.discard(channel_id)

    def forbid_dm(self, user_id: int) -> None:
        """Sending to the DM channel of ``user_id`` fails with 403 50007."""
        self._forbidden_dm_users.add(user_id)

    # ------------------------------------------------------------------ recordings

    def _spawn(self, coro: Awaitable[None]) -> None:
        """Run a gateway echo in the background (after the REST reply, like Discord)."""

        async def runner() -> None:
            await asyncio.sleep(0)
            try:
                await coro
            except Exception:
                log.exception("fake discord: background dispatch failed")

        task = asyncio.get_running_loop().create_task(runner())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    def channel_messages(self, channel_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted (``POST /channels/{id}/messages``) that succeeded.

        Each item is the posted JSON payload plus ``id`` and ``channel_id`` (strings) and
        ``files``: a list of ``{"filename", "content_type", "data"}`` for multipart uploads.
        """
        return [
            m
            for m in self._sent_messages
            if channel_id is None or m["channel_id"] == str(channel_id)
        ]

    def message(self, message_id: int | str) -> dict[str, Any] | None:
        """The stored full message object (as Discord would return it), if known."""
        return self._messages.get(int(message_id))

    def message_edits(self) -> list[dict[str, Any]]:
        """``PATCH /channels/{c}/messages/{m}`` payloads plus ``channel_id``/``id``."""
        return list(self._edits)

    def deleted_messages(self) -> list[tuple[int, int]]:
        """``(channel_id, message_id)`` of deleted messages."""
        return list(self._deleted)

    def reactions(self) -> list[tuple[str, int, int, str]]:
        """``(method, channel_id, message_id, emoji)`` of own-reaction PUT/DELETE calls."""
        return list(self._reactions)

    def typing_calls(self) -> list[int]:
        """Channel ids on which the bot triggered typing."""
        return list(self._typing)

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered application commands (global when ``guild_id`` is ``None``)."""
        return list(self._commands.get(guild_id, []))

    def interaction_responses(self, token: str | None = None) -> list[dict[str, Any]]:
        """Interaction callbacks: ``{"interaction_id", "token", "type", "data", "files"}``."""
        return [r for r in self._interaction_responses if token is None or r["token"] == token]

    def followups(self, token: str | None = None) -> list[dict[str, Any]]:
        """Followup messages (``POST /webhooks/{app}/{token}``): payload + id/token/files."""
        return [r for r in self._followups if token is None or r["token"] == token]

    def original_response_edits(self, token: str | None = None) -> list[dict[str, Any]]:
        """``PATCH /webhooks/{app}/{token}/messages/@original`` payloads + token/id/files."""
        return [r for r in self._original_edits if token is None or r["token"] == token]

    async def wait_for(
        self, condition: int | Callable[[], T], *, timeout: float = 5.0
    ) -> T | list[dict[str, Any]]:
        """Wait until ``condition`` holds and return its (truthy) value.

        ``condition`` is a zero-argument callable re-evaluated after each recorded REST call
        or gateway frame (and every 50 ms), or an ``int`` meaning "at least that many
        :meth:`channel_messages`" (returns that list).  Raises :class:`TimeoutError`.
        """
        if isinstance(condition, int):
            count = condition

            def check() -> Any:
                msgs = self.channel_messages()
                return msgs if len(msgs) >= count else None
        else:
            check = condition
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._change
            value = check()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{c.method} {c.path}" for c in self.calls[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {recent}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    # ------------------------------------------------------------------ gateway server

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        self.gateway_connects.append(request.path_qs)
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            log.warning("unsupported gateway compress=%s; sending text frames", compress)
        conn = _GatewayConnection(ws, zlib_stream=compress == "zlib-stream")
        self._connections.add(conn)
        try:
            await conn.send(
                {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                    self.gateway_received.append(payload)
                    self._notify()
                    await self._handle_gateway_payload(conn, payload)
                elif msg.type is WSMsgType.ERROR:
                    log.debug("gateway websocket error: %s", ws.exception())
                    break
        except ConnectionResetError:
            log.debug("gateway connection reset")
        finally:
            self._connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            self._notify()
        return ws

    async def _handle_gateway_payload(
        self, conn: _GatewayConnection, payload: dict[str, Any]
    ) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            await conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data)
        elif op == OP_RESUME:
            await self._resume(conn, data)
        elif op == OP_REQUEST_MEMBERS:
            await self._request_members(conn, data)
        elif op in (OP_PRESENCE, OP_VOICE_STATE):
            pass
        else:
            log.warning("fake gateway: unhandled op %s", op)

    def _token_ok(self, token: str | None) -> bool:
        if not token:
            return False
        return self.token is None or token == self.token

    async def _identify(self, conn: _GatewayConnection, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if not self._token_ok(data.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = _Session(
            session_id=secrets.token_hex(16), intents=int(data.get("intents") or 0), identify=data
        )
        session.conn = conn
        conn.session = session
        self._sessions[session.session_id] = session
        ready = {
            "v": 10,
            "user": self._users[self.bot_id],
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self._guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": str(self.gateway_url),
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["fake-discord"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_to_session(session, "READY", ready)
        for guild_id in self._guilds:
            await self._send_to_session(session, "GUILD_CREATE", self.guild_payload(guild_id))
        session.ready.set()
        self._notify()

    async def _resume(self, conn: _GatewayConnection, data: dict[str, Any]) -> None:
        session = self._sessions.get(data.get("session_id", ""))
        if session is None or not self._token_ok(data.get("token")):
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        old = session.conn
        if old is not None and old is not conn:
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000)
        session.conn = conn
        conn.session = session
        backlog, session.backlog = session.backlog, []
        for frame in backlog:
            await conn.send(frame)
        await self._send_to_session(session, "RESUMED", {"_trace": ["fake-discord"]})
        self._notify()

    async def _request_members(self, conn: _GatewayConnection, data: dict[str, Any]) -> None:
        guild = self._guilds.get(int(data["guild_id"]))
        if guild is None or conn.session is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {str(u) for u in data["user_ids"]}
            members = [m for m in members if m["user"]["id"] in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m["user"]["username"].lower().startswith(query)]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_to_session(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_to_session(self, session: _Session, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        conn = session.conn
        if conn is None or conn.closed:
            session.backlog.append(frame)
            return
        try:
            await conn.send(frame)
        except ConnectionResetError:
            session.backlog.append(frame)

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        """Wait until at least one client has identified and received its guilds."""
        await self.wait_for(
            lambda: any(s.ready.is_set() and s.conn for s in self._sessions.values()),
            timeout=timeout,
        )

    @property
    def connected(self) -> bool:
        """Whether some identified session currently has an open websocket."""
        return any(s.conn is not None and not s.conn.closed for s in self._sessions.values())

    async def dispatch(self, event: str, data: Any, *, timeout: float = 5.0) -> None:
        """Send a DISPATCH ``event`` with ``data`` to every identified session.

        Waits up to ``timeout`` for a first client to identify.  Sessions whose socket is
        currently down queue the event and replay it on RESUME.
        """
        if not self._sessions:
            await self.wait_until_connected(timeout)
        for session in list(self._sessions.values()):
            await self._send_to_session(session, event, data)

    async def _dispatch_message_event(
        self, event: str, data: dict[str, Any], *, guild_id: int | None
    ) -> None:
        """Dispatch a MESSAGE_* event honouring intents like Discord does."""
        if not self._sessions:
            await self.wait_until_connected()
        for session in list(self._sessions.values()):
            payload = data
            if self.enforce_intents:
                needed = INTENT_GUILD_MESSAGES if guild_id else INTENT_DIRECT_MESSAGES
                if not session.intents & needed:
                    continue
                if (
                    event != "MESSAGE_DELETE"
                    and guild_id
                    and not session.intents & INTENT_MESSAGE_CONTENT
                    and data.get("author", {}).get("id") != str(self.bot_id)
                    and not any(u["id"] == str(self.bot_id) for u in data.get("mentions", []))
                ):
                    payload = {
                        **data,
                        "content": "",
                        "embeds": [],
                        "attachments": [],
                        "components": [],
                    }
            await self._send_to_session(session, event, payload)

    async def drop_connections(self, code: int = 4000) -> None:
        """Close all gateway websockets (the client reconnects and RESUMEs)."""
        for conn in list(self._connections):
            await conn.ws.close(code=code)

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT on all connections (the client reconnects and RESUMEs)."""
        for conn in list(self._connections):
            await conn.send({"op": OP_RECONNECT, "d": None})

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; non-resumable sessions are forgotten (re-IDENTIFY)."""
        for conn in list(self._connections):
            session = conn.session
            if session is not None and not resumable:
                self._sessions.pop(session.session_id, None)
            await conn.send({"op": OP_INVALID_SESSION, "d": resumable})

    # ------------------------------------------------------------------ payload builders

    def guild_payload(self, guild_id: int) -> dict[str, Any]:
        """Full GUILD_CREATE payload for a configured guild."""
        guild = self._guilds[guild_id]
        first_text = next((c for c in guild.channels.values() if c["type"] == 0), None)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": list(guild.roles.values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": first_text["id"] if first_text else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": _iso(),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "members": list(guild.members.values()),
            "channels": list(guild.channels.values()),
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    async def send_guild_create(self, guild_id: int) -> None:
        """Dispatch GUILD_CREATE for a guild added after the client connected."""
        await self.dispatch("GUILD_CREATE", self.guild_payload(guild_id))

    def _find_channel(self, channel_id: int) -> tuple[dict[str, Any], int | None] | None:
        if channel_id in self._dm_channels:
            return self._dm_channels[channel_id], None
        for guild in self._guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id], guild.id
        return None

    def _member_with_user(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        member = self._guilds[guild_id].members.get(user_id)
        return dict(member) if member is not None else None

    def _message_payload(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author: dict[str, Any],
        content: str,
        message_id: int | None = None,
        mentions: list[dict[str, Any]] | None = None,
        mention_roles: list[str] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "id": str(message_id or self._snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": mention_roles or [],
            "attachments": attachments or [],
            "embeds": [],
            "components": [],
            "reactions": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if guild_id is not None:
            msg["guild_id"] = str(guild_id)
        if extra:
            msg.update(extra)
        return msg

    def _mention_list(self, guild_id: int | None, user_ids: Iterable[int]) -> list[dict[str, Any]]:
        result = []
        for uid in dict.fromkeys(user_ids):
            user = dict(self._ensure_user(uid))
            if guild_id is not None:
                member = self._guilds[guild_id].members.get(uid)
                if member is not None:
                    user["member"] = {k: v for k, v in member.items() if k != "user"}
            result.append(user)
        return result

    # ------------------------------------------------------------------ event injection

    async def send_message_create(
        self,
        channel_id: int = DEFAULT_CHANNEL_ID,
        author_id: int = DEFAULT_USER_ID,
        content: str = "",
        *,
        guild_id: int | None = None,
        mentions: Iterable[int] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        reference_message_id: int | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """Inject a MESSAGE_CREATE from a user; returns the message payload.

        ``guild_id`` defaults to the guild owning ``channel_id`` (``None`` for DM channels;
        see :meth:`dm_channel_for`).  ``mentions`` defaults to the ``<@id>`` in ``content``.
        ``attachments`` are payloads from :meth:`add_attachment`.
        """
        found = self._find_channel(channel_id)
        if found is None:
            raise ValueError(f"unknown channel {channel_id}; add_channel()/dm_channel_for() first")
        if guild_id is None:
            guild_id = found[1]
        if mentions is None:
            mentions = [int(m) for m in _MENTION_RE.findall(content)]
        author = self._ensure_user(author_id)
        extra: dict[str, Any] = {"embeds": embeds or []}
        if guild_id is not None:
            member = self._guilds[guild_id].members.get(author_id)
            if member is not None:
                extra["member"] = {k: v for k, v in member.items() if k != "user"}
        if reference_message_id is not None:
            extra["message_reference"] = {
                "type": 0,
                "message_id": str(reference_message_id),
                "channel_id": str(channel_id),
                **({"guild_id": str(guild_id)} if guild_id else {}),
            }
            extra["type"] = 19
            ref = self._messages.get(reference_message_id)
            if ref is not None:
                extra["referenced_message"] = ref
        msg = self._message_payload(
            channel_id=channel_id,
            guild_id=guild_id,
            author=author,
            content=content,
            message_id=message_id,
            mentions=self._mention_list(guild_id, mentions),
            mention_roles=_ROLE_MENTION_RE.findall(content),
            attachments=attachments,
            extra=extra,
        )
        self._messages[int(msg["id"])] = msg
        found[0]["last_message_id"] = msg["id"]
        await self._dispatch_message_event("MESSAGE_CREATE", msg, guild_id=guild_id)
        return msg

    async def send_dm(self, author_id: int, content: str, **kwargs: Any) -> dict[str, Any]:
        """Inject a direct message from ``author_id`` to the bot."""
        return await self.send_message_create(
            self.dm_channel_for(author_id), author_id, content, **kwargs
        )

    def _interaction_base(
        self,
        *,
        itype: int,
        user_id: int,
        channel_id: int,
        guild_id: int | None,
        member_permissions: str | int | None,
        locale: str,
    ) -> dict[str, Any]:
        found = self._find_channel(channel_id)
        if found is None:
            raise ValueError(f"unknown channel {channel_id}")
        channel, channel_guild = found
        if guild_id is None:
            guild_id = channel_guild
        user = self._ensure_user(user_id)
        interaction_id = self._snowflake()
        token = "itoken-" + secrets.token_urlsafe(24)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "channel_id": str(channel_id),
        }
        if guild_id is not None:
            if user_id not in self._guilds[guild_id].members:
                self.add_member(guild_id, user_id)
            member = self._member_with_user(guild_id, user_id)
            assert member is not None
            perms = (
                self.guild_permissions(guild_id, user_id)
                if member_permissions is None
                else int(member_permissions)
            )
            member["permissions"] = str(perms)
            payload.update(
                {
                    "guild_id": str(guild_id),
                    "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "member": member,
                    "channel": {**channel, "permissions": str(perms)},
                    "app_permissions": str(self.guild_permissions(guild_id, self.bot_id)),
                    "authorizing_integration_owners": {"0": str(guild_id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": user,
                    "channel": channel,
                    "app_permissions": str(DEFAULT_BOT_PERMISSIONS),
                    "authorizing_integration_owners": {"0": str(user_id)},
                    "context": 1,
                }
            )
        return payload

    def _command_definition(self, name: str, guild_id: int | None) -> dict[str, Any] | None:
        for key in (guild_id, None) if guild_id is not None else (None,):
            for cmd in self._commands.get(key, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd
        return None

    def _build_options(
        self,
        values: Mapping[str, Any],
        definitions: list[dict[str, Any]],
        guild_id: int | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_name = {d["name"]: d for d in definitions}
        options = []
        for name, value in values.items():
            opt_type = by_name.get(name, {}).get("type")
            if opt_type is None:
                if isinstance(value, bool):
                    opt_type = 5
                elif isinstance(value, int):
                    opt_type = 4
                elif isinstance(value, float):
                    opt_type = 10
                elif isinstance(value, dict) and "filename" in value:
                    opt_type = 11
                else:
                    opt_type = 3
            if opt_type == 4:
                value = int(value)
            elif opt_type == 10:
                value = float(value)
            elif opt_type == 5:
                value = bool(value)
            elif opt_type == 3:
                value = str(value)
            elif opt_type == 6:
                uid = int(value)
                resolved.setdefault("users", {})[str(uid)] = self._ensure_user(uid)
                if guild_id is not None and uid in self._guilds[guild_id].members:
                    member = {
                        k: v for k, v in self._guilds[guild_id].members[uid].items() if k != "user"
                    }
                    member["permissions"] = str(self.guild_permissions(guild_id, uid))
                    resolved.setdefault("members", {})[str(uid)] = member
                value = str(uid)
            elif opt_type == 7:
                found = self._find_channel(int(value))
                if found is not None:
                    resolved.setdefault("channels", {})[str(value)] = {
                        **found[0],
                        "permissions": str(ALL_PERMISSIONS),
                    }
                value = str(value)
            elif opt_type == 8:
                if guild_id is not None and int(value) in self._guilds[guild_id].roles:
                    role = self._guilds[guild_id].roles[int(value)]
                    resolved.setdefault("roles", {})[str(value)] = role
                value = str(value)
            elif opt_type == 11:
                att = value if isinstance(value, dict) else {}
                resolved.setdefault("attachments", {})[att["id"]] = att
                value = att["id"]
            options.append({"name": name, "type": opt_type, "value": value})
        return options

    async def send_interaction(
        self,
        name: str,
        options: Mapping[str, Any] | list[dict[str, Any]] | None = None,
        user_id: int = DEFAULT_USER_ID,
        channel_id: int = DEFAULT_CHANNEL_ID,
        guild_id: int | None = None,
        member_permissions: str | int | None = None,
        *,
        resolved: dict[str, Any] | None = None,
        command_id: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """Inject an APPLICATION_COMMAND (type 2) INTERACTION_CREATE; returns the payload.

        ``name`` may be ``"cmd"``, ``"cmd sub"`` or ``"cmd group sub"``.  ``options`` is
        either the raw Discord option list (passed through) or a ``{name: value}`` mapping
        whose option types come from the synced command definition (falling back to the
        Python type); user/channel/role/attachment values get ``resolved`` entries.
        ``guild_id`` defaults to the channel's guild; ``member_permissions`` defaults to the
        member's role-derived permissions.  ``data.guild_id`` is set automatically when the
        command was synced as a guild command.  Use the returned ``token`` to filter
        :meth:`interaction_responses` / :meth:`followups`.
        """
        payload = self._interaction_base(
            itype=2,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            member_permissions=member_permissions,
            locale=locale,
        )
        g_id = int(payload["guild_id"]) if "guild_id" in payload else None
        parts = name.split()
        definition = self._command_definition(parts[0], g_id)
        res: dict[str, dict[str, Any]] = dict(resolved or {})
        if isinstance(options, list):
            leaf: list[dict[str, Any]] = options
        else:
            defs = definition.get("options", []) if definition else []
            for part in parts[1:]:
                sub = next((d for d in defs if d["name"] == part), None)
                defs = sub.get("options", []) if sub else []
            leaf = self._build_options(options or {}, defs, g_id, res)
        if len(parts) == 3:
            leaf = [
                {
                    "name": parts[1],
                    "type": 2,
                    "options": [{"name": parts[2], "type": 1, "options": leaf}],
                }
            ]
        elif len(parts) == 2:
            leaf = [{"name": parts[1], "type": 1, "options": leaf}]
        data: dict[str, Any] = {
            "id": str(command_id or (definition["id"] if definition else self._snowflake())),
            "name": parts[0],
            "type": 1,
            "options": leaf,
        }
        if definition is not None and definition.get("guild_id"):
            data["guild_id"] = definition["guild_id"]
        if res:
            data["resolved"] = res
        payload["data"] = data
        return await self._send_interaction_payload(payload)

    async def send_component_interaction(
        self,
        custom_id: str,
        message_id: int | str | None = None,
        user_id: int = DEFAULT_USER_ID,
        channel_id: int | None = None,
        guild_id: int | None = None,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        message: dict[str, Any] | None = None,
        member_permissions: str | int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """Inject a MESSAGE_COMPONENT (type 3) interaction, e.g. a button click.

        The interaction's ``message`` is ``message`` or the stored message ``message_id``
        (any message the bot sent through the fake, including interaction responses).
        ``channel_id`` defaults to that message's channel.  ``component_type`` 2 = button,
        3 = string select (pass ``values``).
        """
        if message is None:
            if message_id is None:
                raise ValueError("pass message_id (a message the bot sent) or message=")
            message = self._messages.get(int(message_id))
            if message is None:
                raise ValueError(f"unknown message {message_id}")
        if channel_id is None:
            channel_id = int(message["channel_id"])
        payload = self._interaction_base(
            itype=3,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            member_permissions=member_permissions,
            locale=locale,
        )
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = values or []
        payload["data"] = data
        payload["message"] = message
        return await self._send_interaction_payload(payload)

    async def _send_interaction_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._interactions[payload["token"]] = {
            "id": payload["id"],
            "payload": payload,
            "acked": False,
            "original_id": None,
        }
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # ------------------------------------------------------------------ REST plumbing

    @staticmethod
    def _json(
        data: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        # discord.py only decodes JSON when Content-Type is exactly "application/json";
        # aiohttp's json_response() would append "; charset=utf-8".
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(body=json.dumps(data).encode(), status=status, headers=hdrs)

    @staticmethod
    def _no_content() -> web.Response:
        return web.Response(status=204)

    async def _not_found_handler(self, request: web.Request) -> web.Response:
        call = Call(request.method, request.path, None)
        self.calls.append(call)
        self.unknown_routes.append(call)
        self._notify()
        return self._json({"message": "404: Not Found", "code": 0}, 404)

    async def _attachment_handler(self, request: web.Request) -> web.Response:
        stored = self._attachments.get(int(request.match_info["att_id"]))
        if stored is None:
            return web.Response(status=404, text="Not Found")
        _, data, content_type = stored
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        if not request.can_read_body:
            return None, []
        ctype = request.content_type
        files: list[dict[str, Any]] = []
        if ctype.startswith("multipart/"):
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                raw = await part.read(decode=False)
                if part.name == "payload_json":
                    body = json.loads(raw)
                else:
                    files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "content_type": part.headers.get(
                                "Content-Type", "application/octet-stream"
                            ),
                            "data": bytes(raw),
                        }
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _api_handler(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method.upper()
        body, files = await self._parse_body(request)
        rec = RecordedRequest(
            method=method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            headers=dict(request.headers),
        )
        self.calls.append(Call(method, path, body))
        self.requests.append(rec)
        try:
            response = await self._route(request, rec)
        except _HTTPError as exc:
            response = self._json(exc.body, exc.status)
        rec.status = response.status
        if response.status == 404 and getattr(response, "_fake_unknown", False):
            self.unknown_routes.append(Call(method, path, body))
        self._notify()
        return response

    async def _route(self, request: web.Request, rec: RecordedRequest) -> web.Response:
        path, method = rec.path, rec.method
        public = path.startswith(("/webhooks/", "/interactions/"))
        if not public:
            auth = request.headers.get("Authorization", "")
            token = auth[4:] if auth.startswith("Bot ") else None
            if not self._token_ok(token):
                return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        for rule in self._failures:
            if rule.times > 0 and rule.method == method and rule.pattern.fullmatch(path):
                if rule.after > 0:
                    rule.after -= 1
                    break
                rule.times -= 1
                log.debug("fake: injecting %s for %s %s", rule.status, method, path)
                return self._json(rule.body, rule.status, rule.headers)
        m = re.match(r"/channels/(\d+)", path)
        if m and int(m.group(1)) in self._forbidden_channels:
            return self._json({"message": "Missing Access", "code": 50001}, 403)
        req = _Request(method, path, rec.query, rec.json, rec.files, request.headers)
        for r_method, pattern, handler in self._routes:
            if r_method != method:
                continue
            match = pattern.fullmatch(path)
            if match:
                return await handler(req, **match.groupdict())
        resp = self._json({"message": "404: Not Found", "code": 0}, 404)
        resp._fake_unknown = True  # type: ignore[attr-defined]
        log.info("fake discord: unknown route %s %s", method, path)
        return resp

    def _build_routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., Awaitable[web.Response]]]]:
        s = r"(?P<{}>\d+)"
        tok = r"(?P<token>[^/]+)"
        table: list[tuple[str, str, Callable[..., Awaitable[web.Response]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/users/" + s.format("user_id"), self._get_user),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/channels/" + s.format("channel_id"), self._get_channel),
            ("POST", "/channels/" + s.format("channel_id") + "/messages", self._post_message),
            ("GET", "/channels/" + s.format("channel_id") + "/messages", self._get_messages),
            (
                "GET",
                "/channels/{}/messages/{}".format(s.format("channel_id"), s.format("message_id")),
                self._get_message,
            ),
            (
                "PATCH",
                "/channels/{}/messages/{}".format(s.format("channel_id"), s.format("message_id")),
                self._edit_message,
            ),
            (
                "DELETE",
                "/channels/{}/messages/{}".format(s.format("channel_id"), s.format("message_id")),
                self._delete_message,
            ),
            (
                "PUT",
                "/channels/{}/messages/{}/reactions/(?P<emoji>[^/]+)/@me".format(
                    s.format("channel_id"), s.format("message_id")
                ),
                self._reaction,
            ),
            (
                "DELETE",
                "/channels/{}/messages/{}/reactions/(?P<emoji>[^/]+)/@me".format(
                    s.format("channel_id"), s.format("message_id")
                ),
                self._reaction,
            ),
            ("POST", "/channels/" + s.format("channel_id") + "/typing", self._typing_handler),
            ("GET", "/guilds/" + s.format("guild_id"), self._get_guild),
            ("GET", "/guilds/" + s.format("guild_id") + "/channels", self._get_guild_channels),
            (
                "GET",
                "/guilds/{}/members/{}".format(s.format("guild_id"), s.format("user_id")),
                self._get_member,
            ),
            ("GET", "/applications/" + s.format("app_id") + "/commands", self._get_commands),
            ("PUT", "/applications/" + s.format("app_id") + "/commands", self._put_commands),
            ("POST", "/applications/" + s.format("app_id") + "/commands", self._post_command),
            (
                "DELETE",
                "/applications/{}/commands/{}".format(s.format("app_id"), s.format("command_id")),
                self._delete_command,
            ),
            (
                "GET",
                "/applications/{}/guilds/{}/commands".format(
                    s.format("app_id"), s.format("guild_id")
                ),
                self._get_commands,
            ),
            (
                "PUT",
                "/applications/{}/guilds/{}/commands".format(
                    s.format("app_id"), s.format("guild_id")
                ),
                self._put_commands,
            ),
            (
                "POST",
                "/applications/{}/guilds/{}/commands".format(
                    s.format("app_id"), s.format("guild_id")
                ),
                self._post_command,
            ),
            (
                "DELETE",
                "/applications/{}/guilds/{}/commands/{}".format(
                    s.format("app_id"), s.format("guild_id"), s.format("command_id")
                ),
                self._delete_command,
            ),
            (
                "POST",
                "/interactions/" + s.format("interaction_id") + "/" + tok + "/callback",
                self._interaction_callback,
            ),
            ("POST", "/webhooks/" + s.format("app_id") + "/" + tok, self._post_followup),
            (
                "GET",
                "/webhooks/{}/{}/messages/(?P<message_id>@original|\\d+)".format(
                    s.format("app_id"), tok
                ),
                self._get_webhook_message,
            ),
            (
                "PATCH",
                "/webhooks/{}/{}/messages/(?P<message_id>@original|\\d+)".format(
                    s.format("app_id"), tok
                ),
                self._edit_webhook_message,
            ),
            (
                "DELETE",
                "/webhooks/{}/{}/messages/(?P<message_id>@original|\\d+)".format(
                    s.format("app_id"), tok
                ),
                self._delete_webhook_message,
            ),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _validate_message(payload: Any, files: list[dict[str, Any]], *, edit: bool = False) -> None:
        if not isinstance(payload, dict):
            payload = {}
        content = payload.get("content")
        if content is not None and len(content) > 2000:
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": "Must be 2000 or fewer in length.",
                            }
                        ]
                    }
                },
            )
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}},
            )
        total = 0
        for i, embed in enumerate(embeds):
            limits = {"title": 256, "description": 4096}
            for key, limit in limits.items():
                if len(embed.get(key) or "") > limit:
                    raise _HTTPError(
                        400,
                        "Invalid Form Body",
                        50035,
                        errors={
                            "embeds": {
                                str(i): {
                                    key: {
                                        "_errors": [
                                            {
                                                "code": "BASE_TYPE_MAX_LENGTH",
                                                "message": f"Must be {limit} or fewer in length.",
                                            }
                                        ]
                                    }
                                }
                            }
                        },
                    )
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise _HTTPError(
                    400,
                    "Invalid Form Body",
                    50035,
                    errors={
                        "embeds": {
                            str(i): {"fields": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}
                        }
                    },
                )
            total += len(embed.get("title") or "") + len(embed.get("description") or "")
            total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
            total += len((embed.get("footer") or {}).get("text") or "")
            total += len((embed.get("author") or {}).get("name") or "")
        if total > 6000:
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED"}]}},
            )
        if not edit and not (
            content
            or embeds
            or files
            or payload.get("sticker_ids")
            or payload.get("components")
            or payload.get("poll")
        ):
            raise _HTTPError(400, "Cannot send an empty message", 50006)

    def _store_files(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            self.add_attachment(f["filename"] or "file", f["data"], content_type=f["content_type"])
            for f in files
        ]

    def _bot_message(
        self,
        channel_id: int,
        guild_id: int | None,
        payload: dict[str, Any],
        files: list[dict[str, Any]],
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        mentions: list[int] = []
        allowed = payload.get("allowed_mentions")
        content = payload.get("content") or ""
        if allowed is None or "users" in (allowed.get("parse") or []):
            mentions = [int(u) for u in _MENTION_RE.findall(content)]
        msg = self._message_payload(
            channel_id=channel_id,
            guild_id=guild_id,
            author=self._users[self.bot_id],
            content=content,
            mentions=self._mention_list(guild_id, mentions),
            attachments=self._store_files(files),
            extra={
                "embeds": payload.get("embeds") or [],
                "components": payload.get("components") or [],
                "flags": int(payload.get("flags") or 0),
                "tts": bool(payload.get("tts", False)),
                **({"nonce": payload["nonce"]} if payload.get("nonce") else {}),
                **(extra or {}),
            },
        )
        ref = payload.get("message_reference")
        if ref:
            ref = {k: str(v) if k.endswith("_id") and v is not None else v for k, v in ref.items()}
            msg["message_reference"] = {"type": 0, "channel_id": str(channel_id), **ref}
            msg["type"] = 19
            referenced = self._messages.get(int(ref["message_id"]))
            if referenced is not None:
                msg["referenced_message"] = referenced
        self._messages[int(msg["id"])] = msg
        return msg

    # ------------------------------------------------------------------ REST handlers

    async def _get_me(self, req: _Request) -> web.Response:
        return self._json(self._users[self.bot_id])

    async def _get_user(self, req: _Request, user_id: str) -> web.Response:
        user = self._users.get(int(user_id))
        if user is None:
            raise _HTTPError(404, "Unknown User", 10013)
        return self._json(user)

    async def _create_dm(self, req: _Request) -> web.Response:
        recipient = int((req.json or {}).get("recipient_id", 0))
        if not recipient:
            raise _HTTPError(400, "Invalid Recipient(s)", 50033)
        channel_id = self.dm_channel_for(recipient)
        return self._json(self._dm_channels[channel_id])

    async def _get_application(self, req: _Request) -> web.Response:
        owner = self._ensure_user(DEFAULT_OWNER_ID)
        return self._json(
            {
                "id": str(self.application_id),
                "name": self.bot_name,
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": owner,
                "verify_key": "0" * 64,
                "flags": self.application_flags,
                "team": None,
                "bot": self._users[self.bot_id],
                "summary": "",
                "rpc_origins": [],
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self._guilds),
            }
        )

    async def _get_gateway(self, req: _Request) -> web.Response:
        return self._json(
            {
                "url": str(self.gateway_url),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def _channel_or_404(self, channel_id: str) -> tuple[dict[str, Any], int | None]:
        found = self._find_channel(int(channel_id))
        if found is None:
            raise _HTTPError(404, "Unknown Channel", 10003)
        return found

    async def _get_channel(self, req: _Request, channel_id: str) -> web.Response:
        return self._json(self._channel_or_404(channel_id)[0])

    async def _post_message(self, req: _Request, channel_id: str) -> web.Response:
        channel, guild_id = self._channel_or_404(channel_id)
        if channel["type"] == 1:
            recipient = int(channel["recipients"][0]["id"])
            if recipient in self._forbidden_dm_users:
                raise _HTTPError(403, "Cannot send messages to this user", 50007)
        payload = req.json if isinstance(req.json, dict) else {}
        self._validate_message(payload, req.files)
        msg = self._bot_message(int(channel_id), guild_id, payload, req.files)
        channel["last_message_id"] = msg["id"]
        self._sent_messages.append(
            {**payload, "id": msg["id"], "channel_id": str(channel_id), "files": req.files}
        )
        if self.echo_messages:
            self._spawn(self._dispatch_message_event("MESSAGE_CREATE", msg, guild_id=guild_id))
        return self._json(msg)

    async def _get_messages(self, req: _Request, channel_id: str) -> web.Response:
        self._channel_or_404(channel_id)
        limit = int(req.query.get("limit", 50))
        msgs = sorted(
            (m for m in self._messages.values() if m["channel_id"] == channel_id),
            key=lambda m: int(m["id"]),
            reverse=True,
        )
        if "before" in req.query:
            msgs = [m for m in msgs if int(m["id"]) < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if int(m["id"]) > int(req.query["after"])]
        return self._json(msgs[:limit])

    def _message_or_404(self, channel_id: str, message_id: str) -> dict[str, Any]:
        msg = self._messages.get(int(message_id))
        if msg is None or msg["channel_id"] != channel_id:
            raise _HTTPError(404, "Unknown Message", 10008)
        return msg

    async def _get_message(self, req: _Request, channel_id: str, message_id: str) -> web.Response:
        return self._json(self._message_or_404(channel_id, message_id))

    async def _edit_message(self, req: _Request, channel_id: str, message_id: str) -> web.Response:
        _, guild_id = self._channel_or_404(channel_id)
        msg = self._message_or_404(channel_id, message_id)
        if msg["author"]["id"] != str(self.bot_id):
            raise _HTTPError(403, "Cannot edit a message authored by another user", 50005)
        payload = req.json if isinstance(req.json, dict) else {}
        self._validate_message(payload, req.files, edit=True)
        self._apply_edit(msg, payload, req.files)
        self._edits.append(
            {**payload, "id": message_id, "channel_id": channel_id, "files": req.files}
        )
        if self.echo_messages:
            self._spawn(self._dispatch_message_event("MESSAGE_UPDATE", msg, guild_id=guild_id))
        return self._json(msg)

    def _apply_edit(
        self, msg: dict[str, Any], payload: dict[str, Any], files: list[dict[str, Any]]
    ) -> None:
        for key in ("content", "embeds", "components", "flags"):
            if key in payload and payload[key] is not None:
                msg[key] = payload[key]
        if "attachments" in payload or files:
            keep = {str(a.get("id")) for a in payload.get("attachments") or []}
            msg["attachments"] = [a for a in msg["attachments"] if a["id"] in keep]
            msg["attachments"] += self._store_files(files)
        msg["edited_timestamp"] = _iso()

    async def _delete_message(
        self, req: _Request, channel_id: str, message_id: str
    ) -> web.Response:
        _, guild_id = self._channel_or_404(channel_id)
        self._message_or_404(channel_id, message_id)
        del self._messages[int(message_id)]
        self._deleted.append((int(channel_id), int(message_id)))
        if self.echo_messages:
            data = {
                "id": message_id,
                "channel_id": channel_id,
                **({"guild_id": str(guild_id)} if guild_id else {}),
            }
            self._spawn(self._dispatch_message_event("MESSAGE_DELETE", data, guild_id=guild_id))
        return self._no_content()

    async def _reaction(
        self, req: _Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        self._channel_or_404(channel_id)
        self._message_or_404(channel_id, message_id)
        self._reactions.append((req.method, int(channel_id), int(message_id), emoji))
        return self._no_content()

    async def _typing_handler(self, req: _Request, channel_id: str) -> web.Response:
        self._channel_or_404(channel_id)
        self._typing.append(int(channel_id))
        return self._no_content()

    def _guild_or_404(self, guild_id: str) -> _Guild:
        guild = self._guilds.get(int(guild_id))
        if guild is None:
            raise _HTTPError(404, "Unknown Guild", 10004)
        return guild

    async def _get_guild(self, req: _Request, guild_id: str) -> web.Response:
        self._guild_or_404(guild_id)
        payload = self.guild_payload(int(guild_id))
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
            "unavailable",
            "lazy",
        ):
            payload.pop(key, None)
        return self._json(payload)

    async def _get_guild_channels(self, req: _Request, guild_id: str) -> web.Response:
        return self._json(list(self._guild_or_404(guild_id).channels.values()))

    async def _get_member(self, req: _Request, guild_id: str, user_id: str) -> web.Response:
        member = self._guild_or_404(guild_id).members.get(int(user_id))
        if member is None:
            raise _HTTPError(404, "Unknown Member", 10007)
        return self._json(member)

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _HTTPError(404, "Unknown Application", 10002)

    def _normalise_command(
        self, cmd: dict[str, Any], guild_id: int | None, existing: list[dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = int(cmd.get("type", 1))
        name = str(cmd.get("name", ""))
        if ctype == 1 and (not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower()):
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={"name": {"_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME"}]}},
            )
        if ctype == 1 and not 1 <= len(cmd.get("description") or "") <= 100:
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={"description": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}},
            )
        prev = next((c for c in existing if c["name"] == name and c.get("type", 1) == ctype), None)
        out = {
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "options": [],
            "description": "",
            **cmd,
            "type": ctype,
            "id": prev["id"] if prev else str(self._snowflake()),
            "application_id": str(self.application_id),
            "version": str(self._snowflake()),
        }
        if guild_id is not None:
            out["guild_id"] = str(guild_id)
        return out

    async def _get_commands(
        self, req: _Request, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        return self._json(self.commands(int(guild_id) if guild_id else None))

    async def _put_commands(
        self, req: _Request, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        g_id = int(guild_id) if guild_id else None
        if g_id is not None:
            self._guild_or_404(guild_id or "")
        payload = req.json if isinstance(req.json, list) else []
        keys = [(c.get("name"), int(c.get("type", 1))) for c in payload]
        if len(keys) != len(set(keys)):
            raise _HTTPError(
                400,
                "Invalid Form Body",
                50035,
                errors={"_errors": [{"code": "APPLICATION_COMMANDS_DUPLICATE_NAME"}]},
            )
        existing = self._commands.get(g_id, [])
        new = [self._normalise_command(c, g_id, existing) for c in payload]
        self._commands[g_id] = new
        return self._json(new)

    async def _post_command(
        self, req: _Request, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        g_id = int(guild_id) if guild_id else None
        existing = self._commands.setdefault(g_id, [])
        cmd = self._normalise_command(dict(req.json or {}), g_id, existing)
        existing[:] = [c for c in existing if c["id"] != cmd["id"]] + [cmd]
        return self._json(cmd, 201)

    async def _delete_command(
        self, req: _Request, app_id: str, command_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        g_id = int(guild_id) if guild_id else None
        existing = self._commands.get(g_id, [])
        if not any(c["id"] == command_id for c in existing):
            raise _HTTPError(404, "Unknown application command", 10063)
        self._commands[g_id] = [c for c in existing if c["id"] != command_id]
        return self._no_content()

    def _interaction_for(
        self, token: str, *, webhook: bool, app_id: str | None = None
    ) -> dict[str, Any]:
        inter = self._interactions.get(token)
        if webhook:
            if (
                inter is None
                or not inter["acked"]
                or (app_id is not None and int(app_id) != self.application_id)
            ):
                raise _HTTPError(404, "Unknown Webhook", 10015)
        elif inter is None:
            raise _HTTPError(404, "Unknown interaction", 10062)
        return inter

    async def _interaction_callback(
        self, req: _Request, interaction_id: str, token: str
    ) -> web.Response:
        inter = self._interactions.get(token)
        if inter is None or inter["id"] != interaction_id:
            raise _HTTPError(404, "Unknown interaction", 10062)
        if inter["acked"]:
            raise _HTTPError(400, "Interaction has already been acknowledged.", 40060)
        body = req.json if isinstance(req.json, dict) else {}
        rtype = int(body.get("type", 0))
        data = body.get("data")
        if rtype == 4:
            self._validate_message(data, req.files)
        inter["acked"] = True
        self._interaction_responses.append(
            {
                "interaction_id": interaction_id,
                "token": token,
                "type": rtype,
                "data": data,
                "files": req.files,
            }
        )
        payload = inter["payload"]
        channel_id = int(payload["channel_id"])
        guild_id = int(payload["guild_id"]) if "guild_id" in payload else None
        flags = int((data or {}).get("flags") or 0)
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": payload["type"],
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": rtype},
        }
        message: dict[str, Any] | None = None
        if rtype in (4, 5):
            msg_payload = dict(data or {})
            if rtype == 5:
                msg_payload = {"content": "", "flags": flags | 128}
            message = self._bot_message(
                channel_id,
                guild_id,
                msg_payload,
                req.files if rtype == 4 else [],
                extra={
                    "type": 20 if payload["type"] == 2 else 0,
                    "application_id": str(self.application_id),
                    "webhook_id": str(self.application_id),
                    "interaction_metadata": {
                        "id": interaction_id,
                        "type": payload["type"],
                        "user": payload.get("member", {}).get("user") or payload.get("user"),
                        "authorizing_integration_owners": payload["authorizing_integration_owners"],
                    },
                },
            )
            inter["original_id"] = int(message["id"])
        elif rtype in (6, 7) and "message" in payload:
            message = self._messages.get(int(payload["message"]["id"]), payload["message"])
            if rtype == 7:
                self._apply_edit(message, dict(data or {}), req.files)
            inter["original_id"] = int(message["id"])
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"]["message"] = message
        if req.query.get("with_response") in ("1", "true", "True"):
            return self._json(result)
        return self._no_content()

    async def _post_followup(self, req: _Request, app_id: str, token: str) -> web.Response:
        inter = self._interaction_for(token, webhook=True, app_id=app_id)
        payload = req.json if isinstance(req.json, dict) else {}
        self._validate_message(payload, req.files)
        inter_payload = inter["payload"]
        guild_id = int(inter_payload["guild_id"]) if "guild_id" in inter_payload else None
        msg = self._bot_message(
            int(inter_payload["channel_id"]),
            guild_id,
            payload,
            req.files,
            extra={
                "application_id": str(self.application_id),
                "webhook_id": str(self.application_id),
            },
        )
        self._followups.append({**payload, "id": msg["id"], "token": token, "files": req.files})
        if req.query.get("wait") in ("1", "true", "True"):
            return self._json(msg)
        return self._no_content()

    def _webhook_message(self, inter: dict[str, Any], message_id: str) -> dict[str, Any]:
        mid = inter["original_id"] if message_id == "@original" else int(message_id)
        msg = self._messages.get(mid) if mid is not None else None
        if msg is None:
            raise _HTTPError(404, "Unknown Message", 10008)
        return msg

    async def _get_webhook_message(
        self, req: _Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        inter = self._interaction_for(token, webhook=True, app_id=app_id)
        return self._json(self._webhook_message(inter, message_id))

    async def _edit_webhook_message(
        self, req: _Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        inter = self._interaction_for(token, webhook=True, app_id=app_id)
        msg = self._webhook_message(inter, message_id)
        payload = req.json if isinstance(req.json, dict) else {}
        self._validate_message(payload, req.files, edit=True)
        self._apply_edit(msg, payload, req.files)
        msg["flags"] = int(msg.get("flags") or 0) & ~128  # no longer "thinking"
        record = {**payload, "id": msg["id"], "token": token, "files": req.files}
        if message_id == "@original":
            self._original_edits.append(record)
        else:
            self._edits.append({**record, "channel_id": msg["channel_id"]})
        return self._json(msg)

    async def _delete_webhook_message(
        self, req: _Request, app_id: str, token: str, message_id: str
    ) -> web.Response:
        inter = self._interaction_for(token, webhook=True, app_id=app_id)
        msg = self._webhook_message(inter, message_id)
        del self._messages[int(msg["id"])]
        self._deleted.append((int(msg["channel_id"]), int(msg["id"])))
        return self._no_content()
