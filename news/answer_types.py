"""What kind of answer a question asks for, and whether a sentence carries a new one.

A question that asks "how many", "when" or "who" is answered by a sentence that holds a figure,
a year or a name the question itself does not: "How many boards exist?" is answered by the
sentence with "30 boards", not by the one that repeats "boards" without a number. The stored
flags (``news.extract``) say whether a sentence carries any figure or date; these checks also
require it to be one the question did not already give.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from news.text import normalize

# Matched against normalised text (case folded, Arabic diacritics removed). An Arabic question
# that opens with من asks who (but من أين: from where); elsewhere من is mostly "from".
# Russian, German and Spanish words are there for the fit (see ``news.answer``'s question words).
_ASKS_PERSON = re.compile(
    r"\b(?:who|whom|whose|кто|кого|кому|кем|чей|чья|чьё|чьи|wer|wem|wen|wessen|qui[eé]n(?:es)?)\b"
    r"|^\W*من\s(?!اين|اي\s)|(?:^|\s)من\s*[؟?]"
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A bare four-digit number between 1000 and 2099 reads as a year; followed by a word ("2000
# chips") it is a figure, as in ``news.extract.find_numbers``.
_YEAR = re.compile(r"(?:1\d|20)\d\d")
_WORD_FOLLOWS = re.compile(r"\s?[^\W\d_]")
_OPENS_SENTENCE = re.compile(r"^\W*\w+")


def asks_for_person(question: str) -> bool:
    """Whether the question asks who (a person or organisation)."""
    return bool(_ASKS_PERSON.search(normalize(question)))


def _numbers(text: str) -> set[str]:
    return {found.replace(",", "") for found in _NUMBER.findall(normalize(text))}


def _figures_and_years(text: str) -> tuple[set[str], set[str]]:
    """The numbers of a text that read as figures, and those that read as years."""
    figures, years = set(), set()
    text = normalize(text)
    for found in _NUMBER.finditer(text):
        number = found.group().replace(",", "")
        if not _YEAR.fullmatch(number):
            figures.add(number)
            continue
        years.add(number)
        if _WORD_FOLLOWS.match(text, found.end()):
            figures.add(number)
    return figures, years


def _names(text: str) -> set[str]:
    """Capitalised words (in scripts that have capitals), but the one opening the sentence."""
    body = _OPENS_SENTENCE.sub("", text, count=1)
    return {found.casefold() for found in re.findall(r"\b[^\W\d_]\w*", body) if found[0].isupper()}


def new_answer_matches(
    question: str, sentences: list[str], asks_figure: bool, asks_date: bool
) -> npt.NDArray[np.float32]:
    """(sentences, 3): per sentence, a new figure, year and name the question asks for.

    New: one the question does not itself hold. 0 where the question does not ask for that kind.
    """
    asks_person = asks_for_person(question)
    question_numbers = _numbers(question)
    question_words = {word.casefold() for word in re.findall(r"\w+", question)}
    result = np.zeros((len(sentences), 3), np.float32)
    for row, sentence in enumerate(sentences):
        figures, years = _figures_and_years(sentence)
        if asks_figure:
            result[row, 0] = bool(figures - question_numbers)
        if asks_date:
            result[row, 1] = bool(years - question_numbers)
        if asks_person:
            result[row, 2] = bool(_names(sentence) - question_words)
    return result
