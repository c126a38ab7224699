"""Text utilities: language detection, Arabic normalisation, stemming, sentences and clauses.

Everything here is pure and synchronous; it is shared by ingestion (building the index) and
answering (building the query), so both sides always see the same normalised, stemmed terms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Literal

import Stemmer
from sentencex import segment

Language = Literal["ar", "en"]

_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3\u06FA-\u06FF]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")
_ARABIC_DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED]")
_TATWEEL = "\u0640"
_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
# Applied only after stemming: the Snowball Arabic stemmer relies on ة and ى to find
# feminine and definite endings, so folding them first would leave suffixes unstripped.
_FINAL_FORMS = str.maketrans({"ة": "ه", "ى": "ي"})
_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Bidi controls and zero-width characters carry no meaning for search and would otherwise
# split words or hide inside tokens.
_INVISIBLE = re.compile(r"[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)

ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "o",
        "re",
        "ve",
        "y",
        "says",
        "said",
        "tell",
        "told",
    ]
)
ARABIC_STOPWORDS = frozenset(
    [
        "في",
        "من",
        "على",
        "إلى",
        "الى",
        "عن",
        "مع",
        "هذا",
        "هذه",
        "ذلك",
        "تلك",
        "التي",
        "الذي",
        "الذين",
        "اللذين",
        "اللتين",
        "هو",
        "هي",
        "هم",
        "هن",
        "أن",
        "ان",
        "إن",
        "لا",
        "ما",
        "ماذا",
        "لماذا",
        "كيف",
        "متى",
        "أين",
        "اين",
        "هل",
        "كم",
        "كان",
        "كانت",
        "يكون",
        "تكون",
        "قد",
        "لقد",
        "ثم",
        "أو",
        "او",
        "بل",
        "لكن",
        "حتى",
        "إذا",
        "اذا",
        "كما",
        "عند",
        "منذ",
        "بعد",
        "قبل",
        "بين",
        "كل",
        "أي",
        "اي",
        "أيضا",
        "ايضا",
        "و",
        "ف",
        "ب",
        "ل",
        "ك",
        "هناك",
        "هنا",
        "الى",
        "عليه",
        "عليها",
        "فيه",
        "فيها",
        "به",
        "بها",
        "له",
        "لها",
        "منه",
        "منها",
        "وهو",
        "وهي",
        "وقد",
        "ولا",
        "وما",
        "وفي",
        "ومن",
        "وعلى",
        "التى",
        "الذى",
    ]
)


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a larger text with its character offsets ``[start, end)``."""

    text: str
    start: int
    end: int


def strip_invisible(text: str) -> str:
    """Remove bidi controls and zero-width characters, and NFC-normalise."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def detect_language(text: str) -> Language:
    """Return ``"ar"`` when Arabic letters dominate the text's letters, else ``"en"``.

    Arabic news routinely embeds Latin product and company names, so the decision is by share of
    letters, with Arabic winning from 40%: a sentence with any real Arabic prose is Arabic.
    """
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if arabic == 0:
        return "en"
    return "ar" if arabic >= 0.4 * (arabic + latin) else "en"


def is_arabic_word(word: str) -> bool:
    """Whether a token is written in Arabic script."""
    return bool(_ARABIC_LETTER.search(word))


def remove_diacritics(text: str) -> str:
    """Arabic text without its (mostly optional) short-vowel marks and tatweel."""
    return _ARABIC_DIACRITICS.sub("", text).replace(_TATWEEL, "")


def normalize_arabic(text: str) -> str:
    """Fold the spelling variants of Arabic that carry no meaning for search.

    Removes diacritics and tatweel and unifies alef forms; ة and ى are left for after stemming.
    """
    return remove_diacritics(text).translate(_ALEF_FORMS)


def normalize(text: str) -> str:
    """Normalise any text for search: invisible characters, digits, case and Arabic forms."""
    text = strip_invisible(text).translate(_ARABIC_DIGITS)
    return normalize_arabic(text).casefold()


def words(text: str) -> list[str]:
    """Split normalised text into word tokens (keeping hyphenated names like ``ui-tars`` whole)."""
    return _WORD.findall(text)


@lru_cache(maxsize=4)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Stem one normalised token with the Snowball stemmer of its script."""
    if is_arabic_word(word):
        stemmed: str = _stemmer("arabic").stemWord(word)
        return stemmed.translate(_FINAL_FORMS)
    if word.isascii():
        english: str = _stemmer("english").stemWord(word)
        return english
    return word


def is_stopword(word: str) -> bool:
    """Whether a normalised token is a function word in English or Arabic."""
    return word in ENGLISH_STOPWORDS or word in ARABIC_STOPWORDS


def index_terms(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Normalised, stemmed terms of a text, as stored in and queried against the FTS5 index."""
    terms: list[str] = []
    for word in words(normalize(text)):
        if not keep_stopwords and is_stopword(word):
            continue
        # Hyphenated names are indexed whole and by part, so "DeepSeek" finds "DeepSeek-R1".
        parts = [word, *word.split("-")] if "-" in word else [word]
        terms.extend(stem(part) for part in parts if part)
    return terms


# sentencex never splits inside a quotation, so a quoted passage of several sentences stays one
# "sentence", and a quotation mark left open (`simples’) swallows the rest of its paragraph.
_QUOTATION_MARKS = '"`“”„‟‘’‚‛«»‹›'
_BLANK_QUOTATION_MARKS = str.maketrans(dict.fromkeys(_QUOTATION_MARKS, " "))


def split_sentences(text: str, language: Language) -> list[Span]:
    """Split text into sentences with offsets: paragraph breaks first, then sentencex.

    sentencex knows Arabic punctuation (؟ ؛) and English abbreviations; splitting paragraphs
    first keeps a heading without a full stop from swallowing the paragraph under it. The
    sentences inside quotations are split too (``_starts_inside_quotations``).
    """
    spans: list[Span] = []
    for paragraph in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        base = paragraph.start()
        block = paragraph.group()
        starts = set(_sentence_starts(block, language))
        if any(mark in block for mark in _QUOTATION_MARKS):
            starts |= _starts_inside_quotations(block, language)
        if language == "en":
            starts |= {match.end() for match in _MAY_THEN_CAPITAL.finditer(block)}
        starts = {_past_closing_brackets(block, start) for start in starts}
        bounds = sorted(starts | {0, len(block)})
        for start, end in pairwise(bounds):
            piece = block[start:end]
            stripped = piece.strip()
            if not stripped or not any(ch.isalnum() for ch in stripped):
                continue
            offset = base + start + piece.find(stripped)
            spans.append(Span(stripped, offset, offset + len(stripped)))
    return spans


# sentencex takes "May." for an abbreviation and, unless a common opening word such as "The"
# follows, does not split after it; news often ends a sentence "... in May." The month's full
# name abbreviates nothing, so a capital after it starts a sentence.
_MAY_THEN_CAPITAL = re.compile(r"\bMay\.\s+(?=[A-Z])")
_CLOSING_BRACKETS = ")]}"


def _past_closing_brackets(block: str, start: int) -> int:
    """``start`` moved past the closing brackets at its head.

    They end the sentence before, which sentencex splits off after its full stop ("Saturn
    IB.) The crew").
    """
    while start < len(block) and block[start] in _CLOSING_BRACKETS:
        start += 1
    while start < len(block) and block[start].isspace():
        start += 1
    return start


def _sentence_starts(block: str, language: Language) -> list[int]:
    """Where each of sentencex's sentences of ``block`` begins (past its leading spaces)."""
    starts = []
    cursor = 0
    for piece in segment(language, block):
        found = block.find(piece, cursor)
        if found < 0:
            found = cursor
        cursor = found + len(piece)
        starts.append(found + len(piece) - len(piece.lstrip()))
    return starts


def _starts_inside_quotations(block: str, language: Language) -> set[int]:
    """Sentence starts that sentencex finds once the quotation marks are blanked out.

    Only a start at a capital letter, or at a letter of a script without capitals such as
    Arabic, counts, so a short quotation inside a sentence ('he shouted "Stop!" and ran')
    stays whole. An opening quotation mark just before a start belongs to that sentence.
    """
    starts = set()
    for start in _sentence_starts(block.translate(_BLANK_QUOTATION_MARKS), language):
        if start >= len(block) or not block[start].isalpha() or block[start].islower():
            continue
        starts.add(_with_opening_marks(block, start))
    return starts


def _with_opening_marks(block: str, start: int) -> int:
    """``start`` moved back over the quotation marks that open its sentence."""
    while start > 0 and block[start - 1] in _QUOTATION_MARKS:
        before = block[start - 2] if start > 1 else " "
        if not (before.isspace() or before in _QUOTATION_MARKS):
            break  # a closing mark ("ready." Markets): it ends the sentence before
        start -= 1
    return start


# Where a long sentence changes fact: semicolons, and a comma or dash followed by a
# conjunction that starts a new clause ("، كما أن", "، وقد", ", while", "; and").
_CLAUSE_BREAK = re.compile(
    r"(?:\s*[؛;]\s*)"
    r"|(?:\s*[،,]\s*(?=(?:و?(?:كما|قد|لكن|لكنها|لكنه|إذ|حيث|بينما|فيما|إلا|ما|فهو|فهي)\s)"
    r"|(?:وقد|وهو|وهي|وكان|وكانت|ولكن|وذلك|وبينما|والذي|والتي)\s"
    r"|(?:and|but|while|whereas|which|although|though|with)\s))"
    r"|(?:\s+(?=(?:فهو|فهي|ف?إنه|ف?إنها)\s))",
)
_MIN_CLAUSE_WORDS = 3


def split_clauses(sentence: Span) -> list[Span]:
    """Split a sentence into clauses, each a separate fact; short fragments stay with a neighbour.

    Returns an empty list when the sentence is a single clause.
    """
    pieces: list[Span] = []
    cursor = 0
    text = sentence.text
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() > cursor:
            pieces.append(Span(text[cursor : match.start()], cursor, match.start()))
        cursor = match.end()
    if cursor < len(text):
        pieces.append(Span(text[cursor:], cursor, len(text)))
    merged: list[Span] = []
    for piece in pieces:
        if (merged and len(words(piece.text)) < _MIN_CLAUSE_WORDS) or (
            merged and len(words(merged[-1].text)) < _MIN_CLAUSE_WORDS
        ):
            last = merged.pop()
            piece = Span(text[last.start : piece.end], last.start, piece.end)
        merged.append(piece)
    if len(merged) < 2:
        return []
    return [
        Span(piece.text.strip(), sentence.start + piece.start, sentence.start + piece.end)
        for piece in merged
    ]
