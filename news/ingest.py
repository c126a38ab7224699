"""Turn what an admin gives (pasted text, Markdown, HTML, a file or a URL) into an article draft.

Every refusal is a ``UserError`` with a message that says what was wrong; nothing here writes
to the store, so a refused input leaves no trace.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import re
import socket
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from news.errors import UserError
from news.text import Language, detect_language, normalize, split_sentences, strip_invisible

log = logging.getLogger(__name__)

MAX_ARTICLE_BYTES = 2_000_000
MIN_ARTICLE_CHARS = 40
# A title made from an article's first sentence (when none is given) is cut to this length.
_TITLE_CHARS = 80
_HEADER_KEYS = {
    "title": "title",
    "date": "published",
    "published": "published",
    "source": "source",
    "url": "url",
    "link": "url",
    "lang": "language",
    "language": "language",
    "author": "author",
}
# "key: value"; the colon is required so that a first sentence such as "Title races..." stays
# content (the sample's colon-less "date 2025-01-27" is read by _INLINE_DATE).
_HEADER_LINE = re.compile(r"^\s*(?P<key>[A-Za-z]+)\s*:\s*(?P<value>.+?)\s*$")
# The sample article starts "date 2025-01-27 <first sentence>" on one line.
_INLINE_DATE = re.compile(r"^\s*(?:date|published)\s*:?\s*(\d{4}-\d{2}-\d{2})\s+", re.IGNORECASE)
_AR_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [
            ("يناير", "كانون الثاني"),
            ("فبراير", "شباط"),
            ("مارس", "آذار"),
            ("أبريل", "إبريل", "نيسان"),
            ("مايو", "أيار"),
            ("يونيو", "حزيران"),
            ("يوليو", "تموز"),
            ("أغسطس", "آب"),
            ("سبتمبر", "أيلول"),
            ("أكتوبر", "تشرين الأول"),
            ("نوفمبر", "تشرين الثاني"),
            ("ديسمبر", "كانون الأول"),
        ],
        start=1,
    )
    for name in names
}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown")


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """An article ready to be split into facts and stored."""

    title: str
    body: str
    language: Language
    source: str | None = None
    url: str | None = None
    published: str | None = None
    author: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of the normalised body: the same article pasted twice hashes the same."""
        canonical = " ".join(normalize(self.body).split())
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """Limits for fetching URLs."""

    max_bytes: int = MAX_ARTICLE_BYTES
    timeout_seconds: float = 10.0
    max_redirects: int = 3
    allow_private_addresses: bool = False


def from_text(
    text: str,
    *,
    title: str | None = None,
    source: str | None = None,
    url: str | None = None,
    published: str | None = None,
    language: str | None = None,
) -> ArticleDraft:
    """Build a draft from plain text or Markdown, reading a leading metadata header."""
    text = strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text.encode("utf-8")) > MAX_ARTICLE_BYTES:
        raise UserError(
            f"That article is too long (over {MAX_ARTICLE_BYTES // 1_000_000} MB of text).",
            key="too_long",
        )
    header, body = _split_header(text)
    body, markdown_title = _strip_markdown(body)
    draft_title = title or header.get("title") or markdown_title
    return _finish(
        body,
        title=draft_title,
        source=source or header.get("source"),
        url=url or header.get("url"),
        published=published or header.get("published"),
        language=language or header.get("language"),
        author=header.get("author"),
    )


def from_html(html: str, *, url: str | None = None, **overrides: str | None) -> ArticleDraft:
    """Extract the article body and its title, author and date from an HTML page."""
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, favor_precision=True
    )
    if extracted is None:
        document: dict[str, Any] = {}
    elif isinstance(extracted, dict):
        document = extracted
    else:
        document = extracted.as_dict()
    # trafilatura separates blocks by single newlines; a blank line keeps a headline or list item
    # from running into the next sentence.
    lines = (document.get("text") or "").splitlines()
    body = "\n\n".join(line.strip() for line in lines if line.strip())
    if len(body) < MIN_ARTICLE_CHARS:
        raise UserError("I could not find any article text in that page.", key="no_article")
    published = overrides.get("published") or document.get("date") or _html_date(html)
    return _finish(
        body,
        title=overrides.get("title") or document.get("title"),
        source=overrides.get("source") or document.get("sitename") or _host(url),
        url=url or overrides.get("url") or document.get("url"),
        published=published,
        language=overrides.get("language"),
        author=document.get("author"),
    )


def from_bytes(data: bytes, filename: str = "", **overrides: str | None) -> ArticleDraft:
    """Build a draft from an uploaded file (.txt, .md or .html), refusing binaries and non-UTF-8."""
    if not data.strip():
        raise UserError("That file is empty.", key="empty_file")
    if len(data) > MAX_ARTICLE_BYTES:
        raise UserError(
            f"That file is too large: the limit is {MAX_ARTICLE_BYTES // 1_000_000} MB.",
            key="file_too_large",
        )
    if _looks_binary(data):
        raise UserError(
            "That file is not text. Send a .txt, .md or .html article.", key="binary_file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UserError(
            "That file is not UTF-8 text. Save it as UTF-8 and send it again.", key="not_utf8"
        ) from error
    if filename.lower().endswith((".html", ".htm")) or _looks_like_html(text):
        return from_html(text, **overrides)
    return from_text(text, **overrides)


async def from_url(
    url: str, policy: FetchPolicy | None = None, **overrides: str | None
) -> ArticleDraft:
    """Fetch a page (size and time limited, redirects capped, no private hosts); extract it."""
    policy = policy or FetchPolicy()
    body, content_type, final_url = await fetch(url, policy)
    if content_type in _HTML_TYPES:
        return from_html(body.decode("utf-8", errors="replace"), url=final_url, **overrides)
    text = body.decode("utf-8", errors="replace")
    return from_text(text, url=overrides.pop("url", None) or final_url, **overrides)


async def fetch(url: str, policy: FetchPolicy) -> tuple[bytes, str, str]:
    """GET a URL safely; returns the body, its media type and the final URL after redirects."""
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            return await _fetch_following_redirects(url, policy)
    except TimeoutError as error:
        raise UserError(
            "That page took too long to answer; try again later.", key="url_timeout"
        ) from error


async def _fetch_following_redirects(url: str, policy: FetchPolicy) -> tuple[bytes, str, str]:
    current = url
    async with httpx.AsyncClient(
        timeout=policy.timeout_seconds,
        follow_redirects=False,
        headers={"User-Agent": "newsbot/0.1 (+article fetcher)"},
    ) as client:
        for _ in range(policy.max_redirects + 1):
            address = await _check_address(current, policy)
            try:
                async with _get_pinned(client, current, address) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        current = urljoin(current, location)
                        continue
                    return await _read_page(response, policy, current)
            except httpx.TimeoutException as error:
                raise UserError(
                    "That page took too long to answer; try again later.", key="url_timeout"
                ) from error
            except httpx.HTTPError as error:
                raise UserError("I could not reach that address.", key="url_unreachable") from error
    raise UserError("That address redirects too many times.", key="url_redirects")


async def _read_page(
    response: httpx.Response, policy: FetchPolicy, url: str
) -> tuple[bytes, str, str]:
    if response.status_code != 200:
        raise UserError(
            f"That page answered with HTTP {response.status_code}, not an article.",
            key="url_status",
            status=response.status_code,
        )
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _HTML_TYPES + _TEXT_TYPES:
        raise UserError(
            f"That address is not a web page or text (it is {content_type or 'unknown'}).",
            key="url_not_html",
            content_type=content_type or "unknown",
        )
    declared = int(response.headers.get("content-length", "0") or 0)
    if declared > policy.max_bytes:
        raise _too_large(policy)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise _too_large(policy)
        chunks.append(chunk)
    return b"".join(chunks), content_type, url


def _too_large(policy: FetchPolicy) -> UserError:
    return UserError(
        f"That page is larger than the {policy.max_bytes // 1_000_000} MB limit.",
        key="url_too_large",
    )


async def _check_address(url: str, policy: FetchPolicy) -> str:
    """The address to connect to for ``url``: its host's first address, after the checks.

    Non-HTTP schemes are refused, and so are hosts resolving to private, loopback or link-local
    addresses unless the policy allows them.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("Send an http:// or https:// address.", key="url_scheme")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as error:
        raise UserError("I could not find that address.", key="url_unreachable") from error
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not policy.allow_private_addresses and any(not address.is_global for address in addresses):
        raise UserError(
            "That address points at a private or local network, which I do not fetch.",
            key="url_private",
        )
    return str(addresses[0])


def _get_pinned(
    client: httpx.AsyncClient, url: str, address: str
) -> AbstractAsyncContextManager[httpx.Response]:
    """GET ``url`` from the address already checked, not from a second lookup of its name.

    Connecting by name would resolve it again, and a name's owner can answer a public address
    to the check and a private one to the connection (DNS rebinding). The request still names
    the host: in its Host header and, over HTTPS, in TLS (SNI), so the certificate is checked
    against the name, not the address.
    """
    target = httpx.URL(url)
    host = target.raw_host.decode("ascii")  # IDNA-encoded, as the server knows it
    named = f"[{host}]" if ":" in host else host  # IPv6 literals are bracketed in Host
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    return client.stream(
        "GET",
        target.copy_with(host=address),
        headers={"Host": named if target.port is None else f"{named}:{target.port}"},
        extensions=extensions,
    )


def _split_header(text: str) -> tuple[dict[str, str], str]:
    """Read leading ``key: value`` lines (and an inline ``date YYYY-MM-DD``) as metadata."""
    header: dict[str, str] = {}
    inline = _INLINE_DATE.match(text)
    if inline:
        header["published"] = inline.group(1)
        text = text[inline.end() :]
    lines = text.split("\n")
    consumed = 0
    for line in lines:
        if not line.strip():
            if header:
                consumed += 1
                continue
            break
        match = _HEADER_LINE.match(line)
        key = _HEADER_KEYS.get(match.group("key").lower()) if match else None
        if not match or key is None or len(match.group("value")) > 300:
            break
        header[key] = match.group("value")
        consumed += 1
    return header, "\n".join(lines[consumed:])


def _strip_markdown(text: str) -> tuple[str, str | None]:
    """Turn Markdown into plain prose; the first ``# heading`` becomes the title."""
    title: str | None = None
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    heading = re.search(r"^[ \t]{0,3}#[ \t]+(.+?)[ \t]*#*[ \t]*$", text, flags=re.MULTILINE)
    if heading:
        title = heading.group(1)
        text = text[: heading.start()] + text[heading.end() :]
    text = re.sub(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", r"\1.", text, flags=re.MULTILINE)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    text = re.sub(r"(?<!\w)([*_])(?=\S)(.+?)(?<=\S)\1(?!\w)", r"\2", text)
    text = text.replace("`", "")
    text = re.sub(r"^[ \t]{0,3}(?:[-*+]|\d+\.)[ \t]+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^[ \t]{0,3}>[ \t]?", "", text, flags=re.MULTILINE)
    return text.strip(), title


def _finish(
    body: str,
    *,
    title: str | None,
    source: str | None,
    url: str | None,
    published: str | None,
    language: str | None,
    author: str | None,
) -> ArticleDraft:
    body = re.sub(r"[ \t]+", " ", body).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    if not body:
        raise UserError("There is no article text to add.", key="empty_article")
    if len(body) < MIN_ARTICLE_CHARS or not re.search(r"\w{2,}", body):
        raise UserError(
            "That is too short to be an article; send at least a few sentences.",
            key="article_too_short",
        )
    detected = detect_language(body)
    chosen: Language = language if language in ("ar", "en") else detected  # type: ignore[assignment]
    draft = ArticleDraft(
        title=_clean_title(title) or _title_from_body(body, chosen),
        body=body,
        language=chosen,
        source=(source or "").strip() or None,
        url=(url or "").strip() or None,
        published=parse_date(published) if published else None,
        author=(author or "").strip() or None,
    )
    return draft


def _clean_title(title: str | None) -> str:
    return " ".join((title or "").split())[:200]


def _title_from_body(body: str, language: Language) -> str:
    """A title for an article sent without one: its first sentence, cut at a word when long.

    Lists and digests show it, so it ends at a whole word and without the sentence's full stop.
    """
    first_line = body.strip().split("\n", 1)[0]
    sentences = split_sentences(first_line, language)
    title = (sentences[0].text if sentences else first_line).rstrip(". ")
    if len(title) <= _TITLE_CHARS:
        return title
    cut = title[: _TITLE_CHARS - 1]
    if " " in cut and not title[len(cut)].isspace():
        cut = cut.rsplit(" ", 1)[0]  # drop the word the limit cuts through
    return cut.rstrip(" ,;:-،؛") + "…"


def parse_date(value: str) -> str:
    """Read a date in ISO form, or with an Arabic or English month name, as ``YYYY-MM-DD``."""
    value = value.strip()
    iso = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if iso:
        return _iso(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)), value)
    day = re.search(r"\b(\d{1,2})\b", value)
    year = re.search(r"\b(\d{4})\b", value)
    month = _month_number(value)
    if year and month:
        return _iso(int(year.group(1)), month, int(day.group(1)) if day else 1, value)
    raise UserError(
        f"I cannot read the date {value!r}; write it as YYYY-MM-DD, e.g. 2025-01-27.",
        key="bad_date",
        value=value,
    )


def _month_number(value: str) -> int | None:
    for name, number in _AR_MONTH_NUMBERS.items():
        if name in value:
            return number
    english = (
        "january february march april may june july august september october november december"
    )
    for number, name in enumerate(english.split(), start=1):
        if name in value.lower() or name[:3] in value.lower().split():
            return number
    return None


def _iso(year: int, month: int, day: int, original: str) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError as error:
        raise UserError(
            f"{original!r} is not a real date; write it as YYYY-MM-DD.",
            key="bad_date",
            value=original,
        ) from error


def _html_date(html: str) -> str | None:
    """A publication date from meta tags or ``<time>``, including Arabic month names."""
    for pattern in (
        r'<meta[^>]+(?:property|name)="(?:article:published_time|date|pubdate)"[^>]+content="([^"]+)"',
        r'<time[^>]+datetime="([^"]+)"',
        r"<time[^>]*>([^<]+)</time>",
    ):
        match = re.search(pattern, html, flags=re.IGNORECASE)
        if match:
            try:
                return parse_date(match.group(1))
            except UserError:
                continue
    return None


def _host(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(sample) * 0.05


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith(("<!doctype html", "<html")) or ("<body" in head and "</" in text)
