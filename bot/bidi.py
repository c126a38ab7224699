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


# Digits and joiners written against a name ("DeepSeek-R1", "GPT-4o") belong to its run;
# the space or full stop after it does not.
_ATTACHED = re.compile(r"(?:[\d\-_/+%]|\.(?=\d))*")


def _close_run(opener: str, run: str, neutral_tail: str) -> str:
    attached = _ATTACHED.match(neutral_tail)
    extend = len(attached.group()) if attached else 0
    return opener + run + neutral_tail[:extend] + PDI + neutral_tail[extend:]
