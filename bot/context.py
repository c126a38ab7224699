"""What a handler gets besides the message: the knowledge base, settings and helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.types import Attachment
from news.knowledge import Knowledge
from storage.db import Database

# Adapters provide this so handlers can read an attached file without knowing the platform.
FileFetcher = Callable[[Attachment], Awaitable[bytes]]


async def _no_files(attachment: Attachment) -> bytes:
    if attachment.data is not None:
        return attachment.data
    raise RuntimeError("this adapter cannot download files")


@dataclass(slots=True)
class Context:
    """Per-message context; ``args`` is the text after the command, ``language`` the reply's."""

    knowledge: Knowledge
    settings: Settings
    args: str = ""
    language: str = "en"
    command: str | None = None
    fetch_file: FileFetcher = _no_files
    bot_username: str = ""
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        """The store."""
        return self.knowledge.db
