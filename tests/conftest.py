"""Shared fixtures for the knowledge-core and command-line tests.

Everything is real: the SQLite file lives in a temporary directory, the encoders are the shipped
ones. Encoding is the slow part, so stores are built once (per session or module) and copied per
test. The sample article is read from ``../shared/eval/`` and never copied into the project.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from news.embed import Encoders, shared_encoders
from news.ingest import from_text
from news.knowledge import Knowledge
from storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PATH = ROOT.parent / "shared" / "eval" / "000_3662dd3976ecc8b0.txt"
SAMPLE_MISSING = f"sample article {SAMPLE_PATH} is absent (it lives outside the project)"

# Short articles written for these tests (not taken from any evaluation file).
BRIDGE = (
    "title: Harbor Bridge reopens after repairs\n"
    "source: City Times\n"
    "date: 2024-03-05\n\n"
    "The city of Port Elwood reopened the Harbor Bridge on Monday after eight months of repairs. "
    "The repairs cost 42 million dollars, according to mayor Dana Whitfield. "
    "About 30,000 cars cross the bridge every day. "
    "Engineers replaced 120 steel cables and repainted the towers."
)
ORCHARD = (
    "title: Valley orchards expect a record apple harvest\n"
    "source: Farm Weekly\n\n"
    "Growers in the Greenfield valley expect to pick 85,000 tonnes of apples this autumn, "
    "a record. The cooperative's chairman, Omar Haddad, said the mild spring protected the "
    "blossoms. Prices are expected to fall slightly because of the large supply."
)
LIBRARY_AR = (
    "title: افتتاح مكتبة عامة جديدة في مدينة الواحة\n\n"
    "افتتحت بلدية مدينة الواحة يوم الأحد مكتبة عامة جديدة تضم خمسين ألف كتاب. "
    "وقالت مديرة المكتبة ليلى منصور إن المبنى يضم قاعة للأطفال ومختبرا رقميا. "
    "وبلغت تكلفة المشروع نحو ثلاثة ملايين دينار بحسب البلدية."
)

STORE_TABLES = ("articles", "sentences", "facts", "facts_fts", "fact_vectors", "terms")


@pytest.fixture(scope="session")
def sample_text() -> str:
    """The sample article's raw text (the test is skipped when the file is absent)."""
    if not SAMPLE_PATH.is_file():
        pytest.skip(SAMPLE_MISSING)
    return SAMPLE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def encoders() -> Encoders:
    """The process-wide real encoders, loaded once."""
    shared = shared_encoders()
    shared.load()
    return shared


def table_counts(path: Path) -> dict[str, int]:
    """Row counts of the store's tables, read with a plain sqlite3 connection."""
    connection = sqlite3.connect(path)
    try:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in STORE_TABLES
        }
    finally:
        connection.close()


def mark_articles_read_alone(path: Path) -> None:
    """Mark every article as holding its facts read alone, as migration 5 marks an older store's."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("UPDATE articles SET fact_reading = 1")
        connection.commit()
    finally:
        connection.close()


def count_articles_read_alone(path: Path) -> int:
    """How many articles still hold their facts read alone, as another connection sees it."""
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT COUNT(*) FROM articles WHERE fact_reading = 1").fetchone()
        return int(row[0])
    finally:
        connection.close()


def copy_db(source: Path, target: Path) -> Path:
    """Copy a closed SQLite store (with its WAL file, if one was left) to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        extra = Path(str(source) + suffix)
        if extra.exists():
            shutil.copyfile(extra, Path(str(target) + suffix))
    return target


async def build_store(path: Path, texts: list[str], encoders: Encoders) -> list[int]:
    """Add the given texts (via ``from_text``) to a new store; returns the article ids."""
    ids: list[int] = []
    async with Database(path) as db:
        knowledge = Knowledge(db, encoders)
        for text in texts:
            result = await knowledge.add(from_text(text), added_by="tests")
            ids.append(result.article.id)
    return ids


@pytest.fixture(scope="session")
def sample_store(
    tmp_path_factory: pytest.TempPathFactory, sample_text: str, encoders: Encoders
) -> Path:
    """A store file holding only the sample article (built once; copy it before use)."""
    path = tmp_path_factory.mktemp("sample_store") / "sample.db"
    asyncio.run(build_store(path, [sample_text], encoders))
    return path


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no NEWSBOT_* settings leak in from outside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    env.update(extra)
    return env
