"""The sample articles `make run` loads answer the questions README.md suggests on the console."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import EXAMPLES_DIR, load_examples
from news.embed import Encoders
from news.knowledge import Knowledge
from storage.db import Database


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory, encoders: Encoders) -> Path:
    path = tmp_path_factory.mktemp("examples") / "examples.db"

    async def build() -> None:
        async with Database(path) as db:
            samples = [p for p in EXAMPLES_DIR.iterdir() if p.suffix in (".txt", ".md", ".html")]
            assert await load_examples(Knowledge(db, encoders), EXAMPLES_DIR) == len(samples)

    asyncio.run(build())
    return path


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what did DeepSeek claim about cost?", "96"),
        ("ما هو ترخيص DeepSeek-R1؟", "MIT"),
    ],
)
async def test_readme_questions_are_answered_from_the_examples(
    examples_store: Path, encoders: Encoders, question: str, expected: str
) -> None:
    async with Database(examples_store) as db:
        answer = await Knowledge(db, encoders).ask(question)
    assert answer.answered
    assert expected in answer.facts[0].fact.sentence
    assert answer.facts[0].article.title
