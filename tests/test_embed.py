"""news/embed.py: facts are encoded as read alone and after their article's title."""

from __future__ import annotations

import numpy as np
import pytest

from news.embed import Encoders, with_title


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Harbor Bridge reopens", "Harbor Bridge reopens. It cost 42 million dollars."),
        ("Is the bridge safe?", "Is the bridge safe? It cost 42 million dollars."),
        ("  Harbor   Bridge\n", "Harbor Bridge. It cost 42 million dollars."),
        ("هل الجسر آمن؟", "هل الجسر آمن؟ It cost 42 million dollars."),
    ],
)
def test_with_title(title: str, expected: str) -> None:
    assert with_title(title, "It cost 42 million dollars.") == expected


def test_passages_mean_the_text_alone_and_after_its_title(encoders: Encoders) -> None:
    texts = ["It cost 42 million dollars.", "وافتُتح الجسر يوم الإثنين."]
    title = "Harbor Bridge reopens"
    alone = encoders.passages(texts)
    titled = encoders.passages([with_title(title, text) for text in texts])
    mixed = encoders.passages(texts, title)
    assert np.allclose(mixed.use, (alone.use + titled.use) / 2, atol=1e-5)
    assert np.allclose(mixed.e5, (alone.e5 + titled.e5) / 2, atol=1e-5)
    # Read after the title, the subject-less sentence is nearer a question naming the subject.
    question = encoders.query("How much did the Harbor Bridge repairs cost?")
    assert float(mixed.e5[0] @ question.e5[0]) > float(alone.e5[0] @ question.e5[0])


def test_passages_without_a_title_are_the_text_alone(encoders: Encoders) -> None:
    texts = ["It cost 42 million dollars."]
    assert np.allclose(encoders.passages(texts, "  ").e5, encoders.passages(texts).e5)


def test_title_reading_added_to_vectors_read_alone(encoders: Encoders) -> None:
    texts = ["It cost 42 million dollars.", "وافتُتح الجسر يوم الإثنين."]
    title = "Harbor Bridge reopens"
    added = encoders.add_title_reading(encoders.passages(texts), texts, title)
    both = encoders.passages(texts, title)
    assert np.allclose(added.use, both.use, atol=1e-5)
    assert np.allclose(added.e5, both.e5, atol=1e-5)
