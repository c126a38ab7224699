"""Which kind of answer a question asks for, and which sentences carry a new one."""

from __future__ import annotations

import numpy as np
import pytest

from news.answer import question_kinds
from news.answer_types import new_answer_matches


def test_a_figure_counts_only_when_asked_for_and_not_in_the_question() -> None:
    sentences = [
        "This has resulted in 30 different examination boards.",
        "Boards in 2 states were merged in 1990.",
        "The boards are present in many states.",
        "The 12 boards met again.",
    ]
    asked = new_answer_matches(
        "How many of the 12 boards exist?", sentences, asks_figure=True, asks_date=False
    )
    # A year is not a figure; the 12 the question already gives is no answer.
    assert asked[:, 0].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert asked.dtype == np.float32
    not_asked = new_answer_matches("Which boards exist?", sentences, False, False)
    assert not not_asked.any()


def test_a_year_followed_by_a_word_is_a_figure() -> None:
    found = new_answer_matches(
        "How many chips were used?", ["It was trained on 2000 chips."], True, False
    )
    assert found[0, 0] == 1.0


def test_a_year_counts_when_a_date_is_asked_and_the_question_does_not_give_it() -> None:
    sentences = [
        "Most were destroyed after the uprising of 1944.",
        "Hundreds were built in 1900.",
        "The town grew quickly.",
        "It had 30 churches.",
    ]
    found = new_answer_matches(
        "When were the churches built after 1900?", sentences, asks_figure=False, asks_date=True
    )
    assert found[:, 1].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert not found[:, 0].any()


def test_arabic_indic_digits_are_numbers_too() -> None:
    found = new_answer_matches("كم شريحة استخدمت؟", ["استخدمت نحو ٢٠٠٠ شريحة"], True, False)
    assert found[0, 0] == 1.0


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("How many GPUs did it need?", (True, False, False)),
        ("كم شريحة استخدمت؟", (True, False, False)),
        ("متى أطلقت الشركة النموذج؟", (False, True, False)),
        # The languages the ranking is fitted on ask in their own words.
        ("Сколько лет было Мэннингу?", (True, False, False)),
        ("Wann wurde die Brücke gebaut?", (False, True, False)),
        ("¿En qué año se fundó?", (False, True, False)),
        ("¿Cuántos habitantes tiene?", (True, False, False)),
        ("В каком году основан город?", (False, True, False)),
    ],
)
def test_question_words_of_every_fitted_language_are_read(
    question: str, kinds: tuple[bool, bool, bool]
) -> None:
    assert question_kinds(question) == kinds
