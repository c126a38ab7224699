"""news.ingest: text, Markdown, HTML, files and URLs (a local aiohttp server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from news.errors import UserError
from news.extract import extract_facts
from news.ingest import (
    MAX_ARTICLE_BYTES,
    FetchPolicy,
    from_bytes,
    from_html,
    from_text,
    from_url,
    parse_date,
)

LONG_ENOUGH = (
    "The city council approved a new budget on Tuesday after a long debate. "
    "The plan adds money for schools and public transport."
)

ENGLISH_PAGE = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Harbor Bridge reopens after repairs | City Times</title>
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2024-03-05T08:00:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Harbor Bridge reopens after repairs</h1>
<p>The city of Port Elwood reopened the Harbor Bridge on Monday after eight months of repairs
to its cables and towers.</p>
<p>The repairs cost 42 million dollars, according to the mayor, who said traffic would return to
normal within a week.</p>
<p>About 30,000 cars cross the bridge every day, and engineers replaced 120 steel cables during
the works.</p>
</article>
<footer>Copyright 2024 City Times. All rights reserved.</footer>
</body></html>"""

ARABIC_PAGE = """<!doctype html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>افتتاح مكتبة عامة جديدة في مدينة الواحة</title></head>
<body><article>
<h1>افتتاح مكتبة عامة جديدة في مدينة الواحة</h1>
<p class="byline">بقلم سارة أحمد</p>
<time>27 يناير 2025</time>
<p>افتتحت بلدية مدينة الواحة يوم الأحد مكتبة عامة جديدة في وسط المدينة تضم أكثر من خمسين ألف
كتاب باللغتين العربية والإنجليزية.</p>
<p>وقالت مديرة المكتبة إن المبنى يضم قاعات للقراءة ومختبرا رقميا مفتوحا للطلاب طوال أيام
الأسبوع.</p>
<p>وتأمل البلدية أن تستقبل المكتبة نحو ألف زائر يوميا خلال الأشهر الأولى من افتتاحها.</p>
</article></body></html>"""

EMPTY_PAGE = """<!doctype html><html><head><title>Home</title></head>
<body><nav><a href="/">Home</a></nav><script>var tracking = 1;</script>
<div class="cookie">We use cookies.</div></body></html>"""


def _refused(key: str, call: object, *args: object, **kwargs: object) -> UserError:
    """Call and return the UserError it raises, checking its key and that it has a message."""
    with pytest.raises(UserError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.key == key
    assert len(str(caught.value)) > 10
    return caught.value


# --- plain text ---------------------------------------------------------------------------------


def test_plain_text_header_lines_are_metadata() -> None:
    text = (
        "title: Council approves budget\n"
        "date: 2024-02-03\n"
        "source: Example News\n"
        "url: https://news.example.com/budget\n\n" + LONG_ENOUGH
    )
    draft = from_text(text)
    assert draft.title == "Council approves budget"
    assert draft.published == "2024-02-03"
    assert draft.source == "Example News"
    assert draft.url == "https://news.example.com/budget"
    assert draft.body == LONG_ENOUGH
    assert "title" not in draft.body and "source" not in draft.body
    assert draft.language == "en"


def test_plain_text_arguments_override_header() -> None:
    draft = from_text("title: From header\n\n" + LONG_ENOUGH, title="Given", source="Given source")
    assert draft.title == "Given"
    assert draft.source == "Given source"


def test_plain_text_without_header_takes_its_first_sentence_as_title() -> None:
    draft = from_text(LONG_ENOUGH)
    assert draft.body == LONG_ENOUGH
    assert draft.title == "The city council approved a new budget on Tuesday after a long debate"
    assert draft.published is None


@pytest.mark.parametrize(
    "body",
    [
        "The regional transport authority announced on Wednesday that the long-delayed "
        "northern rail extension will finally open to passengers next spring. It will cost more.",
        "أعلنت هيئة النقل الإقليمية يوم الأربعاء أن امتداد السكك الحديدية الشمالي المتأخر طويلًا "
        "سيفتح أخيرًا أمام الركاب في الربيع المقبل. وستكون كلفته أعلى.",
    ],
)
def test_a_long_first_sentence_is_cut_at_a_word_for_the_title(body: str) -> None:
    title = from_text(body).title
    assert title.endswith("…") and len(title) <= 80
    kept = title.removesuffix("…")
    assert body.startswith(kept) and body[len(kept)] == " "  # a whole word, not part of one


def test_sample_inline_date_header_is_read_as_published(sample_text: str) -> None:
    draft = from_text(sample_text)
    assert draft.published == "2025-01-27"
    assert "2025-01-27" not in draft.body
    assert not draft.body.lower().startswith("date")
    assert draft.language == "ar"


def test_same_body_hashes_the_same_whatever_the_spacing() -> None:
    first = from_text(LONG_ENOUGH)
    second = from_text("  " + LONG_ENOUGH.replace(" ", "   ") + "\n\n")
    assert first.content_hash == second.content_hash
    assert from_text(LONG_ENOUGH + " More.").content_hash != first.content_hash


def test_first_sentence_starting_with_a_header_word_stays_in_the_body() -> None:
    text = (
        "Language models are getting cheaper to train every year, a new report finds.\n"
        "The report covers forty companies and was published on Tuesday by a research group."
    )
    draft = from_text(text)
    assert draft.body.startswith("Language models are getting cheaper")


# --- Markdown -----------------------------------------------------------------------------------


MARKDOWN = """# Harbor Bridge reopens

The city of **Port Elwood** reopened the [Harbor Bridge](https://example.com/bridge) after
eight months of repairs, and `traffic` is back.

## Costs

- The repairs cost 42 million dollars.
- About 30,000 cars cross it daily.

> The bridge is the city's lifeline, the mayor said.
"""


def test_markdown_title_links_and_markup_are_stripped() -> None:
    draft = from_text(MARKDOWN)
    assert draft.title == "Harbor Bridge reopens"
    body = draft.body
    assert "Port Elwood" in body and "Harbor Bridge" in body
    assert "https://example.com" not in body
    for markup in ("**", "](", "`", "# ", "- The", "> The"):
        assert markup not in body
    assert "The repairs cost 42 million dollars." in body
    sentences = [fact.text for fact in extract_facts(body, "en").facts if fact.is_sentence]
    assert "The repairs cost 42 million dollars." in sentences


def test_markdown_single_emphasis_is_stripped() -> None:
    draft = from_text("The bridge reopened on *Monday* after _eight_ months of repairs to it.")
    assert "*" not in draft.body
    assert "_" not in draft.body
    assert draft.body == "The bridge reopened on Monday after eight months of repairs to it."


# --- HTML ---------------------------------------------------------------------------------------


def test_html_english_page() -> None:
    draft = from_html(ENGLISH_PAGE, url="https://news.example.com/bridge")
    assert draft.title == "Harbor Bridge reopens after repairs"
    assert draft.author == "Jane Reporter"
    assert draft.published == "2024-03-05"
    assert draft.language == "en"
    assert draft.url == "https://news.example.com/bridge"
    assert draft.source
    assert "42 million dollars" in draft.body
    assert "Copyright" not in draft.body
    assert "<p>" not in draft.body


def test_html_arabic_page_with_arabic_month_name_date() -> None:
    draft = from_html(ARABIC_PAGE)
    assert draft.title == "افتتاح مكتبة عامة جديدة في مدينة الواحة"
    assert draft.published == "2025-01-27"
    assert draft.author is not None and "سارة أحمد" in draft.author
    assert draft.language == "ar"
    assert "خمسين ألف" in draft.body


def test_html_file_is_recognised_by_name_and_by_content() -> None:
    data = ENGLISH_PAGE.encode("utf-8")
    assert from_bytes(data, "page.html").title == "Harbor Bridge reopens after repairs"
    assert from_bytes(data, "upload.bin").title == "Harbor Bridge reopens after repairs"


def test_html_headline_is_not_merged_into_the_first_sentence() -> None:
    draft = from_html(ENGLISH_PAGE)
    sentences = [fact.text for fact in extract_facts(draft.body, "en").facts if fact.is_sentence]
    assert all("\n" not in sentence for sentence in sentences)
    assert any(sentence.startswith("The city of Port Elwood") for sentence in sentences)


def test_parse_date_forms() -> None:
    assert parse_date("2025-01-27") == "2025-01-27"
    assert parse_date("27 يناير 2025") == "2025-01-27"
    assert parse_date("5 كانون الأول 2024") == "2024-12-05"
    assert parse_date("March 5, 2024") == "2024-03-05"
    assert parse_date("٢٧ يناير ٢٠٢٥") == "2025-01-27"  # Arabic-Indic digits
    assert parse_date("الاثنين 3 مارس 2025") == "2025-03-03"
    _refused("bad_date", parse_date, "someday soon")
    _refused("bad_date", parse_date, "2025-02-30")


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "empty_article"),
        ("   \n\t\n  ", "empty_article"),
        ("\u200b\u2067\u2069", "empty_article"),
        ("Too short.", "article_too_short"),
        ("!!!! ???? .... ---- !!!! ???? .... ---- !!!! ????", "article_too_short"),
    ],
)
def test_bad_text_is_refused(text: str, key: str) -> None:
    _refused(key, from_text, text)


def test_text_over_the_size_limit_is_refused() -> None:
    _refused("too_long", from_text, "word " * (MAX_ARTICLE_BYTES // 5 + 10))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "empty_file"),
        (b"  \n\t \r\n", "empty_file"),
        (b"x" * (10 * 1024 * 1024), "file_too_large"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary_file"),
        (bytes(range(1, 32)) * 100, "binary_file"),
        ("Café au lait, s'il vous plaît: a long enough article é.".encode("latin-1"), "not_utf8"),
    ],
    ids=["empty", "whitespace", "10MB", "png", "control-chars", "latin-1"],
)
def test_bad_files_are_refused(data: bytes, key: str) -> None:
    _refused(key, from_bytes, data, "article.txt")


def test_utf16_without_bom_is_refused() -> None:
    data = ("An article saved as UTF-16 without a byte order mark. " * 3).encode("utf-16-le")
    error = _refused_any(from_bytes, data, "article.txt")
    assert error.key in ("binary_file", "not_utf8")


def _refused_any(call: object, *args: object) -> UserError:
    with pytest.raises(UserError) as caught:
        call(*args)  # type: ignore[operator]
    assert str(caught.value)
    return caught.value


def test_utf8_with_bom_is_accepted() -> None:
    draft = from_bytes(b"\xef\xbb\xbf" + LONG_ENOUGH.encode("utf-8"), "a.txt")
    assert draft.body == LONG_ENOUGH


def test_html_without_article_text_is_refused() -> None:
    _refused("no_article", from_html, EMPTY_PAGE)
    _refused("no_article", from_bytes, EMPTY_PAGE.encode("utf-8"), "page.html")


# --- URLs ---------------------------------------------------------------------------------------

SLOW_SECONDS = 5.0
LIMITED = 10_000
TRICKLE_CHUNKS = 200


async def _article(request: web.Request) -> web.Response:
    return web.Response(text=ENGLISH_PAGE, content_type="text/html", charset="utf-8")


async def _plain(request: web.Request) -> web.Response:
    return web.Response(text="title: Plain text page\n\n" + LONG_ENOUGH, content_type="text/plain")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(SLOW_SECONDS)
    return web.Response(text=ENGLISH_PAGE, content_type="text/html")


async def _missing(request: web.Request) -> web.Response:
    return web.Response(status=404, text="not found")


async def _pdf(request: web.Request) -> web.Response:
    return web.Response(body=b"%PDF-1.4\n" + b"0" * 200, content_type="application/pdf")


async def _big_declared(request: web.Request) -> web.Response:
    # web.Response sets Content-Length from the body.
    return web.Response(text="<p>" + "x" * (LIMITED * 5) + "</p>", content_type="text/html")


async def _big_chunked(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for _ in range(50):
            await response.write(b"<p>" + b"y" * 1000 + b"</p>")
    except (ConnectionResetError, ConnectionError):
        pass  # the client hung up once it had read enough, as it should
    return response


async def _trickle(request: web.Request) -> web.StreamResponse:
    # Each chunk arrives well within the timeout, but the whole page never ends in time:
    # it streams until the client hangs up or the size limit stops it.
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        await response.write(b"<html><body><article>")
        for number in range(TRICKLE_CHUNKS):
            await asyncio.sleep(0.05)
            await response.write(b"<p>Paragraph %d of a page that never ends.</p>" % number * 30)
    except (ConnectionResetError, ConnectionError):
        pass
    return response


async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPFound(location="/loop")


async def _hop(request: web.Request) -> web.Response:
    raise web.HTTPFound(location="/article")


hosts_seen_by_server: list[str] = []


async def _article_noting_host(request: web.Request) -> web.Response:
    hosts_seen_by_server.append(request.headers.get("Host", ""))
    return await _article(request)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[str]:
    """A local HTTP server on 127.0.0.1; yields its base URL."""
    app = web.Application()
    app.router.add_get("/article", _article)
    app.router.add_get("/plain", _plain)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/missing", _missing)
    app.router.add_get("/paper.pdf", _pdf)
    app.router.add_get("/big", _big_declared)
    app.router.add_get("/big-chunked", _big_chunked)
    app.router.add_get("/trickle", _trickle)
    app.router.add_get("/loop", _loop)
    app.router.add_get("/hop", _hop)
    app.router.add_get("/noting-host", _article_noting_host)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


LOCAL = FetchPolicy(allow_private_addresses=True, timeout_seconds=0.5, max_bytes=LIMITED * 10)


async def _url_refused(key: str, url: str, policy: FetchPolicy | None) -> UserError:
    with pytest.raises(UserError) as caught:
        await from_url(url, policy)
    assert caught.value.key == key, str(caught.value)
    assert len(str(caught.value)) > 10
    return caught.value


async def test_url_html_article(server: str) -> None:
    draft = await from_url(server + "/article", LOCAL)
    assert draft.title == "Harbor Bridge reopens after repairs"
    assert draft.url == server + "/article"
    assert draft.published == "2024-03-05"
    assert "42 million dollars" in draft.body


async def test_url_plain_text(server: str) -> None:
    draft = await from_url(server + "/plain", LOCAL)
    assert draft.title == "Plain text page"
    assert draft.body == LONG_ENOUGH
    assert draft.url == server + "/plain"


async def test_url_follows_a_redirect(server: str) -> None:
    draft = await from_url(server + "/hop", LOCAL)
    assert draft.url == server + "/article"


async def test_url_timeout(server: str) -> None:
    await _url_refused("url_timeout", server + "/slow", LOCAL)


async def test_url_timeout_is_a_deadline_for_the_whole_page(server: str) -> None:
    policy = FetchPolicy(allow_private_addresses=True, timeout_seconds=0.5, max_bytes=100_000)
    await _url_refused("url_timeout", server + "/trickle", policy)


async def test_url_404(server: str) -> None:
    error = await _url_refused("url_status", server + "/missing", LOCAL)
    assert "404" in str(error)
    assert error.params["status"] == 404


async def test_url_not_html(server: str) -> None:
    error = await _url_refused("url_not_html", server + "/paper.pdf", LOCAL)
    assert "application/pdf" in str(error)


async def test_url_over_size_limit_with_content_length(server: str) -> None:
    policy = FetchPolicy(allow_private_addresses=True, max_bytes=LIMITED)
    await _url_refused("url_too_large", server + "/big", policy)


async def test_url_over_size_limit_streamed_without_content_length(server: str) -> None:
    policy = FetchPolicy(allow_private_addresses=True, max_bytes=LIMITED)
    await _url_refused("url_too_large", server + "/big-chunked", policy)


async def test_url_too_many_redirects(server: str) -> None:
    await _url_refused("url_redirects", server + "/loop", LOCAL)


async def test_url_loopback_refused_by_default(server: str) -> None:
    await _url_refused("url_private", server + "/article", None)
    await _url_refused("url_private", server + "/article", FetchPolicy())


async def test_url_private_and_link_local_refused_by_default() -> None:
    # Literal addresses resolve without DNS, and the check runs before any connection.
    for url in (
        "http://10.0.0.1/a",
        "http://192.168.1.1/a",
        "http://169.254.169.254/latest",
        "http://[::1]/a",
    ):
        await _url_refused("url_private", url, None)


async def test_url_is_fetched_from_the_address_checked_not_a_second_lookup(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake DNS (the outside world) that answers the checked address first and another one
    # after it, as a name's owner can (DNS rebinding). Nothing listens on 127.0.0.2, so the
    # page is only read if the connection goes to the address that was checked.
    port = int(server.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2"])
    asked: list[str] = []

    async def rebinding_getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", rebinding_getaddrinfo)
    hosts_seen_by_server.clear()
    draft = await from_url(f"http://news.example:{port}/noting-host", LOCAL)
    assert "42 million dollars" in draft.body
    assert asked == ["news.example"]  # looked up once, to be checked
    assert hosts_seen_by_server == [f"news.example:{port}"]  # the request still names the host


async def test_url_whose_name_resolves_to_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def loopback_getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", loopback_getaddrinfo)
    await _url_refused("url_private", "http://news.example/article", None)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/article.txt",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///nohost",
    ],
)
async def test_url_non_http_scheme_refused(url: str) -> None:
    await _url_refused("url_scheme", url, None)
