"""Render a neutral ``Reply`` for each platform: plain text, Telegram HTML, Discord Markdown.

All user-visible text passes through here, so this is the one place where escaping and bidi
isolation happen: a question echoed back with ``<b>`` or ``**`` in it can never change formatting,
and Arabic and Latin runs are isolated in every platform's output. Long replies are split at the
platform's limit on paragraph (block) boundaries, never inside markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import quote

from bot.bidi import base_direction, isolate, isolate_field, language_direction
from bot.types import Block, Citation, Paragraph, Quote, Reply, Text

TELEGRAM_LIMIT = 4096
DISCORD_LIMIT = 2000
_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>#\[\]()<:@-])")


def _bidi(text: str, language: str) -> str:
    """``text`` as one field of a reply in ``language`` (see ``bot.bidi.isolate_field``)."""
    return isolate_field(text, language_direction(language))


def _unchanged(text: str, language: str) -> str:
    return text


def _bidi_part(part: Text, language: str) -> str:
    """A paragraph's part: content in its own direction, the reply's own words in the reply's."""
    if part.own_direction:
        return _bidi(part.text, language)
    return "\n".join(isolate(line, language_direction(language)) for line in part.text.split("\n"))


def _unchanged_part(part: Text, language: str) -> str:
    return part.text


def _citation_text(
    citation: Citation, language: str, field: Callable[[str, str], str] = _unchanged
) -> str:
    """Title, source, date and id; ``field`` lays out each (each is a field of its own)."""
    parts = [citation.title]
    if citation.source:
        parts.append(citation.source)
    if citation.published:
        parts.append(citation.published)
    if citation.article_id is not None:
        parts.append(f"#{citation.article_id}")
    separator = "، " if language == "ar" else ", "
    return separator.join(field(part, language) for part in parts)


# --- plain text (console, CLI) -------------------------------------------------------------


def plain_block(block: Block, language: str, *, isolate_runs: bool = False) -> str:
    """One block as plain text, bidi-isolated for display when ``isolate_runs``."""
    field = _bidi if isolate_runs else _unchanged
    if isinstance(block, Paragraph):
        part_text = _bidi_part if isolate_runs else _unchanged_part
        return "".join(
            part_text(part, language)
            + (f" ({field(part.url, language)})" if part.url and part.url != part.text else "")
            for part in block.parts
        )
    if isinstance(block, Quote):
        return "«" + field(block.text, language) + "»"
    link = f" {block.url}" if block.url else ""
    return "— " + _citation_text(block, language, field) + link


def render_plain(reply: Reply, *, isolate_runs: bool = True) -> str:
    """The reply as plain text, blocks separated by blank lines."""
    return "\n\n".join(
        plain_block(block, reply.language, isolate_runs=isolate_runs) for block in reply.blocks
    )


# --- Telegram HTML -------------------------------------------------------------------------


def _tg_inline(part: Text, language: str) -> str:
    text = html.escape(_bidi_part(part, language), quote=False)
    if part.style == "bold":
        text = f"<b>{text}</b>"
    elif part.style == "italic":
        text = f"<i>{text}</i>"
    elif part.style == "code":
        text = f"<code>{text}</code>"
    if part.url:
        text = f'<a href="{html.escape(part.url, quote=True)}">{text}</a>'
    return text


def telegram_block(block: Block, language: str) -> str:
    """One block as Telegram HTML (parse_mode=HTML)."""
    if isinstance(block, Paragraph):
        return "".join(_tg_inline(part, language) for part in block.parts)
    if isinstance(block, Quote):
        return f"<blockquote>{html.escape(_bidi(block.text, language), quote=False)}</blockquote>"
    text = html.escape(_citation_text(block, language, _bidi), quote=False)
    if block.url:
        text = f'<a href="{html.escape(block.url, quote=True)}">{text}</a>'
    return f"— <i>{text}</i>"


def render_telegram(reply: Reply, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """The reply as Telegram HTML messages, each within ``limit`` characters."""
    return _pack(reply, telegram_block, limit)


# --- Discord Markdown ----------------------------------------------------------------------


def safe_url(url: str) -> str:
    """A URL with the characters that could end a Markdown link (or a tag) percent-encoded."""
    return quote(url, safe=":/?#!$&'*+,;=%~")


def escape_discord(text: str) -> str:
    """Escape Markdown and mention syntax so user text is shown as typed."""
    return _DISCORD_SPECIAL.sub(r"\\\1", text)


def _dc_inline(part: Text, language: str) -> str:
    text = escape_discord(_bidi_part(part, language))
    if part.style == "bold":
        text = f"**{text}**"
    elif part.style == "italic":
        text = f"*{text}*"
    elif part.style == "code":
        text = f"`{part.text.replace('`', 'ˋ')}`"
    if part.url:
        text = f"[{text}](<{safe_url(part.url)}>)"
    return text


def discord_block(block: Block, language: str) -> str:
    """One block as Discord Markdown."""
    if isinstance(block, Paragraph):
        return "".join(_dc_inline(part, language) for part in block.parts)
    if isinstance(block, Quote):
        return "\n".join(
            "> " + escape_discord(_bidi(line, language)) for line in block.text.split("\n")
        )
    text = escape_discord(_citation_text(block, language, _bidi))
    if block.url:
        text = f"[{text}](<{safe_url(block.url)}>)"
    return f"— *{text}*"


def render_discord(reply: Reply, limit: int = DISCORD_LIMIT) -> list[str]:
    """The reply as Discord Markdown messages, each within ``limit`` characters."""
    return _pack(reply, discord_block, limit)


# --- splitting -----------------------------------------------------------------------------


def _pack(reply: Reply, render_block: Callable[[Block, str], str], limit: int) -> list[str]:
    """Render blocks and pack them into messages; an oversized block is cut into smaller ones."""
    rendered: list[str] = []
    for block in reply.blocks:
        rendered.extend(_fit_block(block, reply.language, render_block, limit))
    messages: list[str] = []
    current = ""
    for piece in rendered:
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def _fit_block(
    block: Block, language: str, render_block: Callable[[Block, str], str], limit: int
) -> list[str]:
    text = render_block(block, language)
    if len(text) <= limit:
        return [text]
    if isinstance(block, Quote):
        source = block.text
    elif isinstance(block, Paragraph):
        source = "".join(p.text for p in block.parts)
    else:
        source = plain_block(block, language)

    def piece_of(chunk: str) -> Block:
        return Quote(chunk) if isinstance(block, Quote) else Paragraph((Text(chunk),))

    # Cut the unrendered text, then render each piece, so markup is never split in half.
    pieces: list[str] = []
    budget = max(100, limit // 2)
    while source:
        cut = _cut_point(source, budget)
        chunk, source = source[:cut].strip(), source[cut:].lstrip()
        rendered = render_block(piece_of(chunk), language)
        while len(rendered) > limit:  # escaping expanded it: keep half, put the rest back
            keep = len(chunk) // 2
            chunk, source = chunk[:keep], chunk[keep:] + source
            rendered = render_block(piece_of(chunk), language)
        if chunk:
            pieces.append(rendered)
    return pieces


def _cut_point(text: str, budget: int) -> int:
    if len(text) <= budget:
        return len(text)
    for separator in ("\n", ". ", "؟ ", "? ", "، ", ", ", " "):
        cut = text.rfind(separator, 0, budget)
        if cut > budget // 3:
            return cut + len(separator)
    return budget


def direction_of(reply: Reply) -> str:
    """The base direction of a reply's first block of prose."""
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            return base_direction("".join(p.text for p in block.parts))
    return "ltr"
