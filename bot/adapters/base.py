"""What every adapter provides: a lifecycle and a way to send a reply to a conversation."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from types import TracebackType

from bot.router import Dispatcher
from bot.types import Conversation, Reply


class SendError(Exception):
    """Sending failed; ``permanent`` when retrying cannot help (bot removed, chat gone).

    A reply too long for one platform message goes out as several; ``sent_ids`` are those the
    platform accepted before the failure, so that a retry can skip them instead of posting
    them twice.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        sent_ids: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.sent_ids = sent_ids


class Adapter(ABC):
    """A platform connection; use as ``async with adapter:`` and await ``stopped``."""

    platform: str = ""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stopped = asyncio.Event()

    @abstractmethod
    async def start(self) -> None:
        """Connect and start receiving messages; returns once ready."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect cleanly."""

    @abstractmethod
    async def send(self, conversation: Conversation, reply: Reply, *, skip: int = 0) -> list[str]:
        """Send a reply unprompted (digests); returns the platform's message ids.

        ``skip``: how many of the reply's messages were already accepted by an earlier try
        (``SendError.sent_ids``); sending resumes after them.
        """

    async def notify_user(self, user_id: str, reply: Reply) -> list[str]:
        """Send a private message to a user (admins' notices); a private chat by default."""
        return await self.send(Conversation(self.platform, user_id, is_private=True), reply)

    async def __aenter__(self) -> Adapter:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
