"""bot.render and bot.bidi: escaping, bidi isolation and splitting long replies."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from bot.bidi import LRI, PDI, RLI, base_direction, isolate, isolate_field, strip_bidi_controls
from bot.render import (
    DISCORD_LIMIT,
    TELEGRAM_LIMIT,
    escape_discord,
    render_discord,
    render_plain,
    render_telegram,
)
from bot.types import Citation, Paragraph, Quote, Reply, Text

CONTROLS = re.compile("[\u2066-\u2069\u200e\u200f\u202a-\u202e]")


def _visible(text: str) -> str:
    return CONTROLS.sub("", text)


class _TagChecker(HTMLParser):
    """Checks that every tag in a Telegram message is whole and balanced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _telegram_text(message: str) -> str:
    """The text a Telegram message shows; fails if a tag is cut or left open."""
    assert not re.search(r"<[^>]*$", message), "message ends inside a tag"
    assert not re.match(r"^[^<]*>", message), "message starts inside a tag"
    checker = _TagChecker()
    checker.feed(message)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return "".join(checker.text)


# --- escaping -----------------------------------------------------------------------------------


def test_telegram_escapes_user_text() -> None:
    reply = Reply(
        (
            Paragraph((Text("a <b>bold</b> & <script>x</script>"),)),
            Quote("1 < 2 && 3 > 2"),
            Citation("T<1>", "S&P", "2024-01-01", 'https://e.com/?a=1&b="2"', 3),
        ),
        language="en",
    )
    (message,) = render_telegram(reply)
    assert "<script>" not in message and "<b>bold" not in message
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;" in message
    assert "1 &lt; 2 &amp;&amp; 3 &gt; 2" in message
    assert 'href="https://e.com/?a=1&amp;b=&quot;2&quot;"' in message
    shown = _telegram_text(message)
    assert "a <b>bold</b> & <script>x</script>" in shown
    assert "1 < 2 && 3 > 2" in shown


def test_telegram_styles_are_our_own_tags() -> None:
    reply = Reply(
        (Paragraph((Text("Answer", "bold"), Text(" <i>", "italic"), Text("x", "code"))),),
        language="en",
    )
    (message,) = render_telegram(reply)
    assert message == "<b>Answer</b><i> &lt;i&gt;</i><code>x</code>"


def test_discord_escapes_markdown_and_mentions() -> None:
    reply = Reply(
        (Paragraph((Text("**not bold** __u__ ~~s~~ `c` ||spoiler|| @everyone <@123> <#9>"),)),),
        language="en",
    )
    (message,) = render_discord(reply)
    assert "**not bold**" not in message
    assert "||spoiler||" not in message
    assert "`c`" not in message
    assert "<@123>" not in message and "<#9>" not in message
    assert "@everyone" not in message.replace("\\@everyone", "")
    # Escapes are backslashes only: removing them gives the text back.
    assert re.sub(r"\\(.)", r"\1", message) == (
        "**not bold** __u__ ~~s~~ `c` ||spoiler|| @everyone <@123> <#9>"
    )


def test_escape_discord_quote_and_heading_syntax() -> None:
    assert escape_discord("> quoted") == "\\> quoted"
    assert escape_discord("# heading") == "\\# heading"
    escaped = escape_discord("[link](http://x)")
    assert "[link](" not in escaped
    assert re.sub(r"\\(.)", r"\1", escaped) == "[link](http://x)"


def test_plain_render_keeps_text_as_is() -> None:
    reply = Reply((Paragraph((Text("a <b> & **c**"),)), Quote("q")), language="en")
    assert render_plain(reply, isolate_runs=False) == "a <b> & **c**\n\n«q»"


# --- bidi ---------------------------------------------------------------------------------------


def test_latin_runs_in_arabic_text_are_isolated() -> None:
    text = "أطلقت شركة DeepSeek نموذج DeepSeek-R1 الجديد."
    isolated = isolate(text, "rtl")
    assert f"{LRI}DeepSeek{PDI}" in isolated
    assert f"{LRI}DeepSeek-R1{PDI}" in isolated  # one run, hyphen and digit included
    assert f"{LRI}DeepSeek{PDI}-" not in isolated
    assert isolated.count(LRI) == 2 and isolated.count(PDI) == 2
    assert RLI not in isolated
    assert _visible(isolated) == text


def test_arabic_runs_in_english_text_are_isolated() -> None:
    text = "The model is called نموذج الاستدلال by the firm."
    isolated = isolate(text, "ltr")
    assert f"{RLI}نموذج الاستدلال{PDI}" in isolated
    assert LRI not in isolated
    assert _visible(isolated) == text


def test_isolate_detects_base_direction_and_replaces_user_controls() -> None:
    assert base_direction("  123 DeepSeek قال") == "ltr"
    assert base_direction("« قال DeepSeek") == "rtl"
    isolated = isolate("\u202eقال\u202c Sam Altman \u2067x\u2069")
    assert "\u202e" not in isolated and "\u202c" not in isolated
    assert isolated == f"قال {LRI}Sam Altman x{PDI}"
    assert strip_bidi_controls("\u200fa\u200eb\u2066c\u2069") == "abc"


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        # An English title and its source in an Arabic list line: "(" and ")" stay together,
        # outside the isolates, so both face the right way.
        (
            "#4 ByteDance unveils UI-TARS (newsbot sample, 2025-01-24)",
            "rtl",
            f"#4 {LRI}ByteDance unveils UI-TARS{PDI} ({LRI}newsbot sample{PDI}, 2025-01-24)",
        ),
        ("نموذج GPT-4 (OpenAI) الجديد", "rtl", f"نموذج {LRI}GPT-4{PDI} ({LRI}OpenAI{PDI}) الجديد"),
        (
            "#5 عنوان المقال (الجزيرة, 2025-01-02)",
            "ltr",
            f"#5 {RLI}عنوان المقال{PDI} ({RLI}الجزيرة{PDI}, 2025-01-02)",
        ),
        # Brackets that pair inside the run stay inside its isolate.
        ("قال the GPT-4 (OpenAI) model أمس", "rtl", f"قال {LRI}the GPT-4 (OpenAI) model{PDI} أمس"),
    ],
)
def test_a_bracket_whose_partner_is_outside_a_run_stays_outside_its_isolate(
    text: str, base: str, expected: str
) -> None:
    assert isolate(text, base) == expected


ARABIC_FACT = "وتؤكد DeepSeek أن استخدام نموذجها أرخص بنحو 96%."
ARABIC_FACT_AS_FIELD = f"{RLI}وتؤكد {LRI}DeepSeek{PDI} أن استخدام نموذجها أرخص بنحو 96%.{PDI}"


def test_a_field_written_against_the_line_is_isolated_whole_in_its_own_direction() -> None:
    # Isolating only the Arabic runs would lay them out left to right around "DeepSeek".
    assert isolate_field(ARABIC_FACT, "ltr") == ARABIC_FACT_AS_FIELD
    # A field in the line's own direction only has its opposite runs isolated.
    assert isolate_field(ARABIC_FACT, "rtl") == isolate(ARABIC_FACT, "rtl")
    assert (
        isolate_field("ByteDance unveils UI-TARS", "rtl") == f"{LRI}ByteDance unveils UI-TARS{PDI}"
    )
    # Each line on its own: a line break ends every isolate.
    assert isolate_field(f"{ARABIC_FACT}\nplain", "ltr") == f"{ARABIC_FACT_AS_FIELD}\nplain"


def test_an_arabic_fact_quoted_in_an_english_reply_reads_right_to_left_on_every_platform() -> None:
    reply = Reply(
        (
            Paragraph((Text("According to DeepSeek:", "bold"),)),
            Quote(ARABIC_FACT),
            Citation("نموذج DeepSeek-R1 الصيني", "newsbot sample", "2025-01-27", None, 1),
        ),
        language="en",
    )
    title = f"{RLI}نموذج {LRI}DeepSeek-R1{PDI} الصيني{PDI}"
    for output in (render_plain(reply), *render_telegram(reply)):
        assert ARABIC_FACT_AS_FIELD in output
        assert f"{title}, newsbot sample, 2025-01-27, #1" in output
    (discord,) = render_discord(reply)
    assert ARABIC_FACT_AS_FIELD in discord  # nothing in it for Markdown to escape


def test_the_replys_own_words_keep_its_direction_around_a_long_name() -> None:
    # "بحسب" (according to) is the reply's; the speaker's name is only a run inside it.
    reply = Reply((Paragraph((Text("بحسب the company:"),)),), language="ar")
    assert render_plain(reply) == f"بحسب {LRI}the company{PDI}:"
    content = Reply(
        (Paragraph((Text("The company says so.", own_direction=True),)),), language="ar"
    )
    assert render_plain(content) == f"{LRI}The company says so.{PDI}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ask سؤال", f"{LRI}/ask{PDI} سؤال"),
        ("المزيد: /article 1", f"المزيد: {LRI}/article{PDI} 1"),
        ("راسل @newsbot الآن", f"راسل {LRI}@newsbot{PDI} الآن"),
        ("قال إن 3/ASK", f"قال إن 3/{LRI}ASK{PDI}"),  # inside a word, "/" is no sigil
    ],
)
def test_a_command_mention_or_tag_is_isolated_with_its_sigil(text: str, expected: str) -> None:
    assert isolate(text, "rtl") == expected


def test_rendered_arabic_reply_isolates_latin_names_on_every_platform() -> None:
    reply = Reply((Quote("يُطرح DeepSeek-R1 بموجب ترخيص MIT."),), language="ar")
    (telegram,) = render_telegram(reply)
    (discord,) = render_discord(reply)
    plain = render_plain(reply)
    for output in (telegram, plain):
        assert f"{LRI}DeepSeek-R1{PDI}" in output
        assert f"{LRI}MIT{PDI}" in output
    assert f"{LRI}DeepSeek\\-R1{PDI}" in discord


# --- splitting ----------------------------------------------------------------------------------

ENGLISH = "Engineers replaced 120 steel cables & repainted the <north> tower, said A. Smith. "
ARABIC = "وقال المهندس إن شركة DeepSeek-R1 استبدلت الكابلات وأعادت طلاء البرج، بحسب البلدية. "


def _long_reply(language: str, sentence: str, paragraphs: int = 30) -> Reply:
    blocks = []
    for number in range(paragraphs):
        blocks.append(
            Paragraph((Text(f"Part {number}: ", "bold"), Text(sentence * (number % 7 + 1))))
        )
        blocks.append(Quote(f"{number} " + sentence * 3))
    blocks.append(
        Citation("Harbor Bridge", "City Times", "2024-03-05", "https://e.com/a?b=1&c=2", 7)
    )
    return Reply(tuple(blocks), language=language)


def _words(text: str) -> list[str]:
    return _visible(text).split()


@pytest.mark.parametrize("language, sentence", [("en", ENGLISH), ("ar", ARABIC)])
def test_telegram_split_respects_limit_keeps_text_and_tags(language: str, sentence: str) -> None:
    reply = _long_reply(language, sentence)
    messages = render_telegram(reply)
    assert len(messages) > 1
    shown = []
    for message in messages:
        assert 0 < len(message) <= TELEGRAM_LIMIT
        shown.append(_telegram_text(message))
    expected = " ".join(
        "".join(part.text for part in block.parts) if isinstance(block, Paragraph) else block.text
        for block in reply.blocks
        if not isinstance(block, Citation)
    )
    assert _words(" ".join(shown))[: len(_words(expected))] == _words(expected)


@pytest.mark.parametrize("language, sentence", [("en", ENGLISH), ("ar", ARABIC)])
def test_discord_split_respects_limit_and_keeps_text(language: str, sentence: str) -> None:
    reply = _long_reply(language, sentence)
    messages = render_discord(reply)
    assert len(messages) > 1
    for message in messages:
        assert 0 < len(message) <= DISCORD_LIMIT
    joined = re.sub(r"\\(.)", r"\1", " ".join(messages))
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            assert _visible(block.parts[1].text).strip() in _visible(joined)


@pytest.mark.parametrize(
    "render, limit", [(render_telegram, TELEGRAM_LIMIT), (render_discord, DISCORD_LIMIT)]
)
def test_one_oversized_paragraph_is_cut_within_the_limit(render: object, limit: int) -> None:
    text = " ".join(f"word{number} <&> **x**" for number in range(2_000))
    messages = render(Reply((Paragraph((Text(text),)),), language="en"))  # type: ignore[operator]
    assert len(messages) > 1
    assert all(len(message) <= limit for message in messages)
    if render is render_telegram:
        shown = " ".join(_telegram_text(message) for message in messages)
    else:
        shown = re.sub(r"\\(.)", r"\1", " ".join(messages))
    assert _words(shown) == text.split()


def test_a_long_word_without_spaces_is_cut_within_the_limit() -> None:
    text = "x" * 9_000
    messages = render_telegram(Reply((Quote(text),), language="en"))
    assert all(len(message) <= TELEGRAM_LIMIT for message in messages)
    shown = "".join(_telegram_text(message) for message in messages)
    # An oversized quote is cut from its plain form, which adds the « » of plain text.
    assert "".join(shown.split()).strip("«»") == text


def test_text_that_escaping_expands_is_not_lost() -> None:
    text = "&" * 5_000  # each & is five characters once escaped
    messages = render_telegram(Reply((Paragraph((Text(text),)),), language="en"))
    assert all(len(message) <= TELEGRAM_LIMIT for message in messages)
    assert sum(html.unescape(message).count("&") for message in messages) == len(text)


def test_discord_link_url_cannot_break_out_of_the_link() -> None:
    reply = Reply(
        (
            Paragraph((Text("source", url="https://e.com/>) @everyone"),)),
            Citation("Title", url="https://e.com/a>)[click](https://evil.example"),
        ),
        language="en",
    )
    (message,) = render_discord(reply)
    assert "[click](" not in message
    assert "@everyone" not in message.replace("\\@everyone", "")
