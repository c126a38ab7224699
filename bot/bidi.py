"""Unicode bidi isolation, so Arabic and Latin runs mixed in one line display in the right order.

Without isolation a Latin name inside an Arabic sentence (or the reverse) can drag neighbouring
punctuation and numbers to the wrong side. Each run written against the paragraph's direction is
wrapped in an isolate: LRI…PDI for Latin inside right-to-left text, RLI…PDI for Arabic inside
left-to-right text.
"""

from __future__ import annotations

import re
import unicodedata

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(text: str) -> str:
    """Remove bidi control characters (user text must not carry its own into our layout)."""
    return _CONTROLS.sub("", text)


def _direction(char: str) -> str | None:
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return "rtl"
    if kind == "L":
        return "ltr"
    return None


def base_direction(text: str) -> str:
    """``rtl`` when the first strong character is Arabic or Hebrew, else ``ltr``."""
    for char in text:
        direction = _direction(char)
        if direction:
            return direction
    return "ltr"


def language_direction(language: str) -> str:
    """The base direction of text written in ``language`` (Arabic is the one right-to-left)."""
    return "rtl" if language == "ar" else "ltr"


def dominant_direction(text: str) -> str | None:
    """``rtl`` or ``ltr``, whichever the text has more strong characters of; None for neither."""
    counts = {"rtl": 0, "ltr": 0}
    for char in text:
        direction = _direction(char)
        if direction:
            counts[direction] += 1
    if not counts["rtl"] and not counts["ltr"]:
        return None
    return "rtl" if counts["rtl"] > counts["ltr"] else "ltr"


def isolate_field(text: str, base: str) -> str:
    """One field of a line (a quote, a title, a source) laid out inside text of direction ``base``.

    A field written mostly against ``base``, such as an Arabic sentence quoted in an English
    reply, is isolated whole in its own direction, with its own opposite runs isolated inside
    it. Isolating only its runs would lay them out in ``base``'s order: the Arabic sentence
    would be cut at each Latin name and its pieces read left to right. Each line is laid out
    on its own, as a line break ends every isolate.
    """
    lines = strip_bidi_controls(text).split("\n")
    return "\n".join(_isolate_line_field(line, base) for line in lines)


def _isolate_line_field(line: str, base: str) -> str:
    own = dominant_direction(line)
    if own is None or own == base:
        return isolate(line, base)
    return (RLI if own == "rtl" else LRI) + isolate(line, own) + PDI


def isolate(text: str, base: str | None = None) -> str:
    """Wrap every run whose direction differs from ``base`` in a directional isolate."""
    text = strip_bidi_controls(text)
    base = base or base_direction(text)
    opposite = "ltr" if base == "rtl" else "rtl"
    opener = LRI if opposite == "ltr" else RLI
    out: list[str] = []
    run_start: int | None = None
    last_strong_end = 0
    for index, char in enumerate(text):
        direction = _direction(char)
        if direction == opposite:
            if run_start is None:
                run_start = index
                if _opens_with_sigil(text, index):
                    out.pop()  # the sigil joins the run
                    run_start -= 1
            last_strong_end = index + 1
        elif direction == base and run_start is not None:
            out.append(
                _close_run(opener, text[run_start:last_strong_end], text[last_strong_end:index])
            )
            run_start = None
            out.append(char)
        elif run_start is None:
            out.append(char)
    if run_start is not None:
        out.append(_close_run(opener, text[run_start:last_strong_end], text[last_strong_end:]))
    return "".join(out)


# A sigil at the start of a word belongs to it: "/article", "@newsbot", "#news". Left outside
# the isolate it would be drawn on the wrong side, and Telegram would no longer see a command.
_SIGILS = "/@#"


def _opens_with_sigil(text: str, index: int) -> bool:
    """Whether the run starting at ``index`` has a sigil just before it, opening a word."""
    if index == 0 or text[index - 1] not in _SIGILS:
        return False
    return index == 1 or text[index - 2].isspace() or text[index - 2] in "([«\"'"


# Digits and joiners written against a name ("DeepSeek-R1", "GPT-4o") belong to its run;
# the space or full stop after it does not.
_ATTACHED = re.compile(r"(?:[\d\-_/+%]|\.(?=\d))*")
_OPENING_BRACKETS = "([{"
_CLOSING_BRACKETS = ")]}"


def _close_run(opener: str, run: str, neutral_tail: str) -> str:
    attached = _ATTACHED.match(neutral_tail)
    extend = len(attached.group()) if attached else 0
    pieces = _pieces_between_unmatched_brackets(run + neutral_tail[:extend])
    isolated = "".join(
        piece if index % 2 else _isolate_strong_part(opener, piece)
        for index, piece in enumerate(pieces)
    )
    return isolated + neutral_tail[extend:]


def _pieces_between_unmatched_brackets(run: str) -> list[str]:
    """``run`` cut at each bracket whose partner lies outside it: text, bracket, text, ...

    Such a bracket must stay outside the isolate, beside its partner: a bracket pair is only
    paired (and drawn facing the right way) when both ends are in the same isolate. An English
    title followed by "(source" in an Arabic line would otherwise leave its "(" inside the
    title's isolate and the ")" outside, and both would point the wrong way.
    """
    open_at: list[int] = []
    unmatched: list[int] = []
    for index, char in enumerate(run):
        if char in _OPENING_BRACKETS:
            open_at.append(index)
        elif char in _CLOSING_BRACKETS:
            partner = _OPENING_BRACKETS[_CLOSING_BRACKETS.index(char)]
            if open_at and run[open_at[-1]] == partner:
                open_at.pop()
            else:
                unmatched.append(index)
    pieces: list[str] = []
    start = 0
    for cut in sorted(unmatched + open_at):
        pieces += [run[start:cut], run[cut]]
        start = cut + 1
    pieces.append(run[start:])
    return pieces


def _isolate_strong_part(opener: str, piece: str) -> str:
    """``piece`` with the span from its first to its last strong character isolated."""
    strong = [index for index, char in enumerate(piece) if _direction(char)]
    if not strong:
        return piece
    first, last = strong[0], strong[-1] + 1
    if _opens_with_sigil(piece, first):
        first -= 1
    if last < len(piece):  # digits and joiners after the last letter stay with it
        attached = _ATTACHED.match(piece, last)
        last = attached.end() if attached else last
    return piece[:first] + opener + piece[first:last] + PDI + piece[last:]
