"""Platform-neutral core types: who said what where, and the rich text the bot answers with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a message was said: platform, chat and (forum topic / thread) id."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    is_private: bool = True


@dataclass(frozen=True, slots=True)
class User:
    """Who said it."""

    platform: str
    id: str
    name: str = ""

    @property
    def key(self) -> str:
        """``platform:id``, the form used in NEWSBOT_ADMINS."""
        return f"{self.platform}:{self.id}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message; ``data`` is downloaded lazily by the adapter."""

    filename: str
    size: int
    mime_type: str | None = None
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message to the bot, whatever platform it came from; ``raw`` keeps the native update."""

    conversation: Conversation
    user: User
    text: str
    message_id: str = ""
    sent_at: datetime | None = None
    is_admin: bool = False
    is_chat_admin: bool = False
    addressed: bool = True
    reply_text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    raw: object = None


@dataclass(frozen=True, slots=True)
class Text:
    """A run of inline text; ``style`` is plain, bold, italic or code; ``url`` makes it a link.

    ``own_direction`` marks content shown as it was written (a title, a source, a sentence): it
    is laid out in its own direction, not the reply's (``bot.bidi.isolate_field``).
    """

    text: str
    style: Literal["plain", "bold", "italic", "code"] = "plain"
    url: str | None = None
    own_direction: bool = False


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of inline runs."""

    parts: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    """A quoted fact."""

    text: str


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a quoted fact comes from."""

    title: str
    source: str | None = None
    published: str | None = None
    url: str | None = None
    article_id: int | None = None


Block = Paragraph | Quote | Citation


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button that sends ``data`` back to the bot when pressed."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says, as neutral rich text each adapter renders for its platform."""

    blocks: tuple[Block, ...]
    language: str = "en"
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    ephemeral: bool = False

    @staticmethod
    def text(*paragraphs: str, language: str = "en", ephemeral: bool = False) -> Reply:
        """A reply made of plain paragraphs."""
        return Reply(
            tuple(Paragraph((Text(p),)) for p in paragraphs), language=language, ephemeral=ephemeral
        )


def reply_to_json(reply: Reply) -> str:
    """Serialise a reply (for the delivery outbox)."""
    blocks: list[dict[str, object]] = []
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            parts = [{"text": p.text, "style": p.style, "url": p.url} for p in block.parts]
            blocks.append({"type": "paragraph", "parts": parts})
        elif isinstance(block, Quote):
            blocks.append({"type": "quote", "text": block.text})
        else:
            blocks.append(
                {
                    "type": "citation",
                    "title": block.title,
                    "source": block.source,
                    "published": block.published,
                    "url": block.url,
                    "article_id": block.article_id,
                }
            )
    return json.dumps(
        {
            "blocks": blocks,
            "language": reply.language,
            "buttons": [{"label": b.label, "data": b.data} for b in reply.buttons],
        },
        ensure_ascii=False,
    )


def reply_from_json(text: str) -> Reply:
    """Read a reply written by ``reply_to_json``."""
    data = json.loads(text)
    blocks: list[Block] = []
    for block in data["blocks"]:
        if block["type"] == "paragraph":
            blocks.append(
                Paragraph(tuple(Text(p["text"], p["style"], p["url"]) for p in block["parts"]))
            )
        elif block["type"] == "quote":
            blocks.append(Quote(block["text"]))
        else:
            blocks.append(
                Citation(
                    block["title"],
                    block["source"],
                    block["published"],
                    block["url"],
                    block["article_id"],
                )
            )
    buttons = tuple(Button(b["label"], b["data"]) for b in data.get("buttons", []))
    return Reply(tuple(blocks), language=data.get("language", "en"), buttons=buttons)
