"""Which kind of answer a question asks for, and which sentences carry a new one."""

from __future__ import annotations

import numpy as np
import pytest

from news.answer import question_kinds
from news.answer_types import asks_for_person, new_answer_matches


@pytest.mark.parametrize(
    "question",
    [
        "Who led the attack on the fort?",
        "whose model is cheaper?",
        "مَن هو مؤسس الشركة؟",
        "من أسس DeepSeek؟",
        "هذا النموذج طوره من؟",
    ],
)
def test_who_questions_ask_for_a_person(question: str) -> None:
    assert asks_for_person(question)


@pytest.mark.parametrize(
    "question",
    [
        "What did DeepSeek claim about cost?",
        "من أين جاءت الشركة؟",  # "from where"
        "ما هو ترخيص النموذج من الشركة؟",  # "from the company"
    ],
)
def test_other_questions_do_not(question: str) -> None:
    assert not asks_for_person(question)


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
    not_asked = new_answer_matches("Which boards exist?", sentences, False, False)
    assert not not_asked.any()


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


def test_arabic_indic_digits_are_numbers_too() -> None:
    found = new_answer_matches("كم شريحة استخدمت؟", ["استخدمت نحو ٢٠٠٠ شريحة"], True, False)
    assert found[0, 0] == 1.0


def test_a_name_counts_when_the_question_asks_who_and_does_not_name_it() -> None:
    sentences = [
        "Economist Thomas Piketty challenges this notion.",
        "Studies have confirmed the Kuznets curve.",
        "Several studies challenge it.",
    ]
    found = new_answer_matches(
        "Who challenges the Kuznets curve?", sentences, asks_figure=False, asks_date=False
    )
    # The opening word is capitalised for the sentence, not for a name; Kuznets is asked about.
    assert found[:, 2].tolist() == [1.0, 0.0, 0.0]
    assert found.dtype == np.float32


@pytest.mark.parametrize(
    ("question", "kinds", "person"),
    [
        ("How many GPUs did it need?", (True, False, False), False),
        ("كم شريحة استخدمت؟", (True, False, False), False),
        ("متى أطلقت الشركة النموذج؟", (False, True, False), False),
        # The languages the ranking is fitted on ask in their own words.
        ("Сколько лет было Мэннингу?", (True, False, False), False),
        ("Wann wurde die Brücke gebaut?", (False, True, False), False),
        ("¿En qué año se fundó?", (False, True, False), False),
        ("Wer hat das Spiel gewonnen?", (False, False, False), True),
        ("¿Quién fundó la ciudad?", (False, False, False), True),
    ],
)
def test_question_words_of_every_fitted_language_are_read(
    question: str, kinds: tuple[bool, bool, bool], person: bool
) -> None:
    assert question_kinds(question) == kinds
    assert asks_for_person(question) == person
