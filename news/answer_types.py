"""Whether a sentence carries a new figure or year of the kind a question asks for.

A question that asks "how many" or "when" is answered by a sentence that holds a figure or a
year the question itself does not: "How many boards exist?" is answered by the sentence with
"30 boards", not by the one that repeats "boards" without a number. The stored flags
(``news.extract``) say whether a sentence carries any figure or date; this check also requires
it to be one the question did not already give.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from news.text import normalize

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A bare four-digit number between 1000 and 2099 reads as a year; followed by a word ("2000
# chips") it is a figure, as in ``news.extract.find_numbers``.
_YEAR = re.compile(r"(?:1\d|20)\d\d")
_WORD_FOLLOWS = re.compile(r"\s?[^\W\d_]")


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


def new_answer_matches(
    question: str, sentences: list[str], asks_figure: bool, asks_date: bool
) -> npt.NDArray[np.float32]:
    """(sentences, 2): per sentence, whether it holds a new figure and a new year.

    New: one the question does not itself hold. 0 where the question does not ask for that kind.
    """
    question_numbers = _numbers(question)
    result = np.zeros((len(sentences), 2), np.float32)
    for row, sentence in enumerate(sentences):
        figures, years = _figures_and_years(sentence)
        if asks_figure:
            result[row, 0] = bool(figures - question_numbers)
        if asks_date:
            result[row, 1] = bool(years - question_numbers)
    return result
