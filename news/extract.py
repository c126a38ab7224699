"""Turn an article's text into facts: sentences and their clauses, with what they carry.

A fact is the unit the bot retrieves and quotes. Each sentence is one fact; a sentence that holds
several clauses also yields one fact per clause, so a question can match the clause that answers
it while the reply still cites the whole sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from news.text import (
    Language,
    Span,
    detect_language,
    remove_diacritics,
    split_clauses,
    split_sentences,
)

# (?<![A-Za-z0-9]) rather than \b: a name glued to Arabic "و" ("وGoogle") has no word boundary.
_LATIN_NAME = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z][\w.&'’-]*[A-Za-z0-9]|[A-Z]{2,}|[A-Z](?=[\w-]))"
    r"(?:[ \t](?:of |de |al-|el |van |von )?(?:[A-Z][\w.&'’-]*[A-Za-z0-9]|[A-Z]{2,}|\d+[A-Za-z]*))*"
)
# Product names written like "o1" or "GPT-4o" start lower-case or with digits inside.
_MODEL_NAME = re.compile(r"(?<![A-Za-z0-9])(?:[a-z]\d[\w-]*|[A-Za-z]+-\d[\w-]*)\b")
_SENTENCE_START_WORDS = frozenset(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "For",
        "But",
        "And",
        "Or",
        "So",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "He",
        "She",
        "They",
        "We",
        "I",
        "You",
        "What",
        "Who",
        "When",
        "Where",
        "Why",
        "How",
        "Which",
        "After",
        "Before",
        "While",
        "During",
        "Since",
        "As",
        "If",
        "However",
        "Also",
        "According",
        "There",
        "Here",
        "Some",
        "Many",
        "Most",
        "One",
        "Two",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)
_NUMBER = re.compile(
    r"(?P<prefix>[$€£¥])?\s?(?P<value>\d{1,3}(?:[,\u066C]\d{3})+(?:[.\u066B]\d+)?|\d+(?:[.\u066B]\d+)?)"
    r"\s?(?P<unit>%|٪|percent|per cent|في المئة|في المائة|بالمئة|بالمائة"
    r"|million|billion|trillion|thousand|مليون|مليار|ألف|تريليون"
    r"|[a-zA-Z\u0621-\u064A]+)?"
)
_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_AR_MONTHS = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "إبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
    "كانون",
    "تشرين",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
]
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b(?:\d{1,2}\s+)?(?:" + "|".join(_EN_MONTHS) + r")(?:\s+\d{1,2},?)?(?:\s+\d{4})?\b"
    r"|(?:\d{1,2}\s+)?(?:" + "|".join(_AR_MONTHS) + r")(?:\s+(?:الأول|الثاني))?(?:\s+\d{4})?"
    r"|(?:\b(?:in|since|by|until|year|of)\s+|(?:عام|سنة|منذ|في|حتى)\s+)(?:1[89]|20)\d{2}\b"
)
# Who said it. Each pattern captures the speaker; Arabic names are often Latin-script here.
# A word that follows an Arabic speaker without being part of the name ("قال الوزير إن",
# "أشار التقرير إلى", "قالت الشركة في بيان").
_AR_NOT_NAME = (
    r"(?!(?:[أإا]ن(?:ه|ها|هم)?|ب[أا]ن|[إا]لى|على|في|عن|من|مع|حول|خلال|بعد|قبل|عبر"
    r"|[أا]مس|اليوم|كما|لقد|قد)(?:\s|$|[،.:؛]))"
)
_NAME = (
    r"((?:[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|al-\w+|el\s+\w+))*)"
    # "المتحدث باسم الشركة": the spokesman of the company.
    r"|(?:ال)?[\u0621-\u064A]+\s+باسم\s+[\u0621-\u064A]+"
    # An Arabic noun may govern a Latin name ("مهندسو DeepSeek"): keep both.
    r"|(?:ال)?[\u0621-\u064A]+(?:\s+"
    + _AR_NOT_NAME
    + r"(?:[\u0621-\u064A]+|[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*))?)"
)
# Arabic verbs of saying, past and present ("قال", "تقول", "وتؤكد", "وأشار"), with or without
# the hamza on their first alef (matched on text without diacritics).
_AR_SPEECH_VERBS = (
    r"(?:يقول|قال|تقول|قالت|[أا]وضح|[أا]وضحت|يوضح|توضح|[أا]كد|[أا]كدت|يؤكد|تؤكد|صرح|صرحت|يصرح"
    r"|تصرح|[أا]علن|[أا]علنت|يعلن|تعلن|[أا]شار|[أا]شارت|يشير|تشير|[أا]فاد|[أا]فادت|يفيد|تفيد"
    r"|ذكر|ذكرت|يذكر|تذكر)"
)
# An English name: capitalised words, joined by "of", "for" or "and" ("Bank of England").
_EN_NAME = r"[A-Z][\w.'’&-]*(?:\s+(?:(?:of|for|and)\s+)?[A-Z][\w.'’&-]*)*"
# A short noun phrase led by a determiner ("the city council", "the firm's chief executive").
_EN_PHRASE = r"(?:[Tt]he|[Ii]ts|[Tt]heir|[Aa]n?)\s+(?:[\w'’-]+\s+){0,2}?[\w'’-]+"
_SPEECH_VERBS = r"(?:said|says|told|added|explained|claimed|stated)"
_SPEAKER_PATTERNS = [
    # "according to Reuters", "according to the World Bank"
    re.compile(r"\b[Aa]ccording to ((?:the\s+)?" + _EN_NAME + ")"),
    # "according to the city council," (up to the clause's end), else its first word
    re.compile(r"\b[Aa]ccording to (" + _EN_PHRASE + r")(?=\s*(?:[,.;:!?)]|$))"),
    re.compile(r"\b[Aa]ccording to ((?:the\s+)?[\w'’-]+)"),
    re.compile(r"(?:وفق(?:ًا|ا|اً)?|بحسب|حسب|طبق(?:ًا|ا))\s*(?:لـ\s?|ل)?" + _NAME),
    re.compile(r"(?:^|\s)و?" + _AR_SPEECH_VERBS + r"\s+" + _NAME),
    re.compile(r"\b((?:[A-Z][\w.'’-]*\s?){1,4}),?\s+" + _SPEECH_VERBS + r"\b"),
    # '..., said Maria Lopez.' / 'said Smith, the CEO': a name that ends the clause. Not
    # "says UI-TARS beats ...", where the name is the reported sentence's subject, and not
    # "told Reuters", which names who was told.
    re.compile(
        r"\b(?:said|says|added|explained)\s+([A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})"
        r"(?=\s*(?:[,.;:!?)\"”»]|$)|\s+(?:of|at|from|in|on|who|for|to|when|during|last|as)\b)"
    ),
    # "The company says ...", "the firm's chief executive said"
    re.compile(r"\b(" + _EN_PHRASE + r"),?\s+" + _SPEECH_VERBS + r"\b(?!\s+to\b)"),
]
# "The company" opening a sentence is "the company" inside a reply ("According to the company").
_DETERMINER_OPENING = re.compile(r"^(?:The|Its|Their|An?)(?=\s+[a-z])")
# A full stop after a name ends the sentence, but not after an initial ("John F.").
_TRAILING_STOP = re.compile(r"(?<=[\w'’]{2})\.$")
# Capitalised words that open an English sentence before its speaker ("But Smith said", "On
# Monday Reuters said"), and days and months, which say when, not who.
_OPENING_WORDS = re.compile(
    r"^(?:(?:But|And|So|Yet|Also|However|Meanwhile|Then|Yesterday|Today|Tonight|Earlier|Later"
    r"|Last|Next|On|In|At|By|For|From|After|Before|During|Since|Until|Monday|Tuesday|Wednesday"
    r"|Thursday|Friday|Saturday|Sunday|" + "|".join(_EN_MONTHS) + r")\b[,.]?\s*)+"
)
# Words that report speech without naming anyone ("تقول إنه ...", "He said ...").
_NOT_SPEAKERS = frozenset(
    (
        *("إنه", "إنها", "إن", "أن", "أنه", "أنها", "إنهم", "أنهم", "فيه", "فيها", "له", "لها"),
        *("ان", "انه", "انها", "انهم"),  # the same without hamza
        *("He", "She", "It", "They", "We", "I", "You", "This", "That", "There"),
    )
)
_CONTINUES_QUOTE = re.compile(
    r"^\s*(?:و?يضيف|و?أضاف|و?تضيف|و?أضافت|He added|She added|They added)\b"
)
_QUOTE_MARKS = re.compile(r"[\"“”«»]")
# How quotations open and close, to follow one across the sentences it spans. "“" toggles like
# '"' because German closes with it what "„" opens.
_TOGGLING_MARKS = '"“'
_OPENING_MARKS = "«„"
_CLOSING_MARKS = "»”"


@dataclass(frozen=True, slots=True)
class ExtractedFact:
    """One fact of an article before it is stored."""

    position: int
    sentence_index: int
    text: str
    start: int
    end: int
    is_sentence: bool
    language: Language
    kind: str
    entities: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    speaker: str | None = None


@dataclass(slots=True)
class ExtractedArticle:
    """Sentences and facts of one article."""

    sentences: list[Span]
    facts: list[ExtractedFact]
    key_entities: list[str] = field(default_factory=list)


def find_entities(text: str) -> list[str]:
    """Names of people, organisations and products written in Latin script."""
    found: list[str] = []
    for match in _LATIN_NAME.finditer(text):
        name = match.group().strip(" .,'’")
        first = name.split(" ", 1)[0]
        if first in _SENTENCE_START_WORDS:
            name = name[len(first) :].strip()
        if len(name) >= 2 and name not in found:
            found.append(name)
    for match in _MODEL_NAME.finditer(text):
        if match.group() not in found and not any(match.group() in name for name in found):
            found.append(match.group())
    return found


def find_numbers(text: str) -> list[str]:
    """Figures with their unit when one follows (``96%``, ``2000 وحدة``, ``$5 million``)."""
    found: list[str] = []
    for match in _NUMBER.finditer(text):
        value = match.group("value")
        if re.fullmatch(r"(?:1[89]|20)\d{2}", value) and not match.group("unit"):
            continue  # a bare year is a date, not a figure
        if _inside_name(text, match.start("value")):
            continue
        figure = (match.group("prefix") or "") + value
        unit = match.group("unit")
        if unit:
            figure += unit if unit in "%٪" else f" {unit}"
        found.append(figure)
    return found


def _inside_name(text: str, index: int) -> bool:
    """Whether the digit at ``index`` belongs to a name such as ``GPT-4o`` or ``DeepSeek-V3``."""
    return index > 0 and (text[index - 1].isalpha() or text[index - 1] == "-")


def find_dates(text: str) -> list[str]:
    """Dates and years mentioned in the text, as written."""
    return [match.group().strip() for match in _DATE.finditer(text) if match.group().strip()]


def find_speaker(text: str) -> str | None:
    """Who the text says made the statement, if it says so."""
    text = remove_diacritics(text)  # "وتؤكّد" is "وتؤكد"
    for pattern in _SPEAKER_PATTERNS:
        for match in pattern.finditer(text):
            speaker = _TRAILING_STOP.sub("", match.group(1).strip(" ،,:"))
            speaker = _OPENING_WORDS.sub("", speaker)  # "On Monday Smith" is Smith
            if speaker.split(" ", 1)[0] in _NOT_SPEAKERS or not speaker:
                continue  # "تقول إنه ..." reports speech without naming anyone
            if speaker.startswith("ل") and text[match.start(1) - 1 : match.start(1)] == "ل":
                speaker = "ا" + speaker  # "للشركة" is "ل" + "الشركة" with its alef elided
            return _DETERMINER_OPENING.sub(lambda found: found.group().lower(), speaker)
    return None


def _quotation_open_after(text: str, open_before: bool) -> bool:
    """Whether a quotation is still open at the end of ``text``."""
    inside = open_before
    for char in text:
        if char in _TOGGLING_MARKS:
            inside = not inside
        elif char in _OPENING_MARKS:
            inside = True
        elif char in _CLOSING_MARKS:
            inside = False
    return inside


def _kind(text: str, speaker: str | None, numbers: list[str], dates: list[str]) -> str:
    if speaker and _QUOTE_MARKS.search(text):
        return "quote"
    if speaker:
        return "claim"
    if numbers:
        return "figure"
    if dates:
        return "event"
    return "statement"


def extract_facts(text: str, language: Language | None = None) -> ExtractedArticle:
    """Split an article into sentence and clause facts with entities, figures, dates, speakers."""
    language = language or detect_language(text)
    sentences = split_sentences(text, language)
    facts: list[ExtractedFact] = []
    previous_speaker: str | None = None
    # The speaker of the sentence that opened a quotation still open (None: none is open, or
    # nobody was named), for the quotation's later sentences.
    quotation_speaker: str | None = None
    inside_quotation = False
    entity_counts: Counter[str] = Counter()
    for index, sentence in enumerate(sentences):
        speaker = find_speaker(sentence.text)
        if speaker is None and inside_quotation:
            speaker = quotation_speaker
        elif speaker is None and _CONTINUES_QUOTE.search(sentence.text):
            speaker = previous_speaker  # "He added: ..." continues the last quoted speaker
        previous_speaker = speaker or previous_speaker
        was_inside = inside_quotation
        inside_quotation = _quotation_open_after(sentence.text, inside_quotation)
        if inside_quotation and not was_inside:
            quotation_speaker = speaker
        pieces = [(sentence, True), *((clause, False) for clause in split_clauses(sentence))]
        for piece, is_sentence in pieces:
            entities = find_entities(piece.text)
            numbers = find_numbers(piece.text)
            dates = find_dates(piece.text)
            # A clause keeps only an attribution it states itself; the sentence keeps the
            # speaker of the whole (including "He added:" continuing an earlier quote).
            own_speaker = speaker if is_sentence else find_speaker(piece.text)
            if is_sentence:
                entity_counts.update(entities)
            facts.append(
                ExtractedFact(
                    position=len(facts),
                    sentence_index=index,
                    text=piece.text,
                    start=piece.start,
                    end=piece.end,
                    is_sentence=is_sentence,
                    language=detect_language(piece.text) if language == "ar" else language,
                    kind=_kind(piece.text, own_speaker, numbers, dates),
                    entities=tuple(entities),
                    numbers=tuple(numbers),
                    dates=tuple(dates),
                    speaker=own_speaker,
                )
            )
    key_entities = [name for name, _ in entity_counts.most_common(8)]
    return ExtractedArticle(sentences=sentences, facts=facts, key_entities=key_entities)
