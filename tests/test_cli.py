"""The command line, run as a user runs it: ``python -m bot`` in a subprocess on a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import (
    BRIDGE,
    LIBRARY_AR,
    ORCHARD,
    ROOT,
    SAMPLE_MISSING,
    SAMPLE_PATH,
    cli_env,
    copy_db,
    mark_articles_read_alone,
    table_counts,
)

GPU_QUESTION = "How many GPUs did DeepSeek need to train V3?"
UNRELATED = "Who won the 1998 football world cup final?"
LICENSE_QUESTION = "ما هو ترخيص DeepSeek-R1؟"
# A guard against a hung process, never a measured duration.
HANG_GUARD_SECONDS = 600


def run_cli(
    db: Path | None, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot"]
    if db is not None:
        command += ["--db", str(db)]
    completed = subprocess.run(
        [*command, *args],
        cwd=ROOT,
        env=env if env is not None else cli_env(),
        input=stdin,
        capture_output=True,
        timeout=HANG_GUARD_SECONDS,
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8"),
        completed.stderr.decode("utf-8"),
    )


@pytest.fixture(scope="module")
def added(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The sample article added once through the CLI; tests copy the resulting store."""
    if not SAMPLE_PATH.is_file():
        pytest.skip(SAMPLE_MISSING)
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    result = run_cli(db, "add", str(SAMPLE_PATH), "--source", "IBM Think")
    return db, result


@pytest.fixture
def store(added: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    return copy_db(added[0], tmp_path / "copy.db")


def _json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


# --- add ----------------------------------------------------------------------------------------


def test_add_sample_file_with_source(added: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, result = added
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added #1: ")
    assert "facts, ar)" in result.stdout
    listing = run_cli(db, "articles")
    assert listing.returncode == 0
    assert "#1 " in listing.stdout
    assert "IBM Think" in listing.stdout
    assert "2025-01-27" in listing.stdout
    assert "[ar, " in listing.stdout


def test_add_same_file_again_is_already_present(store: Path) -> None:
    before = table_counts(store)
    result = run_cli(store, "add", str(SAMPLE_PATH), "--source", "IBM Think")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("already present as #1")
    assert table_counts(store) == before


def test_add_from_stdin(tmp_path: Path) -> None:
    db = tmp_path / "stdin.db"
    result = run_cli(db, "add", "-", "--title", "Bridge from stdin", stdin=BRIDGE.encode("utf-8"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added #1: Bridge from stdin")
    assert "en)" in result.stdout
    listing = run_cli(db, "articles")
    assert "Bridge from stdin" in listing.stdout
    assert "City Times" in listing.stdout  # the source: header line of the text


def test_add_jsonl_counts_added_duplicates_and_refused(tmp_path: Path) -> None:
    db = tmp_path / "bulk.db"
    bridge = {"title": "Bridge", "text": BRIDGE, "source": "City Times", "published": "2024-03-05"}
    lines = [
        json.dumps(bridge),
        json.dumps({"text": LIBRARY_AR, "lang": "ar"}, ensure_ascii=False),
        json.dumps({**bridge, "title": "Same bridge again"}),
        "{not json",
        json.dumps({"title": "Too short", "text": "Short."}),
        json.dumps({"title": "No text at all"}),
        "",
        json.dumps({"text": ORCHARD, "published": "someday"}),
    ]
    bulk = tmp_path / "bulk.jsonl"
    bulk.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli(db, "add", "--jsonl", str(bulk))
    assert result.stdout.strip().splitlines()[-1] == "2 added, 1 skipped as duplicates, 4 refused"
    assert result.returncode == 1
    for number in (4, 5, 6, 8):
        assert f"line {number}: refused: " in result.stderr
    assert "line 1:" not in result.stderr and "line 3:" not in result.stderr
    assert table_counts(db)["articles"] == 2

    again = tmp_path / "again.jsonl"
    again.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    rerun = run_cli(db, "add", "--jsonl", str(again))
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "0 added, 3 skipped as duplicates, 0 refused"
    assert table_counts(db)["articles"] == 2


def test_add_without_anything_to_add_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "u.db", "add")
    assert result.returncode == 2
    assert "--jsonl" in result.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "not text"),
        (b"", "empty"),
        ("Déjà vu: this text was saved as Latin-1, not UTF-8 at all.".encode("latin-1"), "UTF-8"),
    ],
    ids=["binary", "empty", "latin-1"],
)
def test_add_bad_file_is_refused_and_nothing_stored(
    tmp_path: Path, content: bytes, words: str
) -> None:
    db = tmp_path / "bad.db"
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    result = run_cli(db, "add", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("not added: ")
    assert words in result.stderr
    assert result.stdout == ""
    assert not db.exists() or all(count == 0 for count in table_counts(db).values())


def test_add_missing_file(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "m.db", "add", str(tmp_path / "nowhere.txt"))
    assert result.returncode == 1
    assert result.stderr.startswith("not added: There is no file")


# --- ask ----------------------------------------------------------------------------------------


def test_ask_json(store: Path) -> None:
    result = run_cli(store, "ask", "--json", GPU_QUESTION)
    assert result.returncode == 0, result.stderr
    (reply,) = _json_lines(result.stdout)
    assert set(reply) >= {"question", "answered", "answer", "facts"}
    assert reply["question"] == GPU_QUESTION
    assert isinstance(reply["answered"], bool)
    assert isinstance(reply["answer"], str) and reply["answer"]
    facts = reply["facts"]
    assert isinstance(facts, list) and 0 < len(facts) <= 5
    for fact in facts:
        assert set(fact) == {"text", "sentence", "article_id", "article_title", "score"}
        assert fact["article_id"] == 1
        assert isinstance(fact["score"], float)
    assert "2000" in facts[0]["sentence"]
    scores = [fact["score"] for fact in facts]
    assert scores == sorted(scores, reverse=True)


def test_ask_questions_from_stdin(store: Path) -> None:
    before = table_counts(store)
    questions = f"{LICENSE_QUESTION}\n{UNRELATED}\n".encode()
    result = run_cli(store, "ask", "--json", "--top", "3", stdin=questions)
    assert result.returncode == 0, result.stderr
    first, second = _json_lines(result.stdout)
    assert first["question"] == LICENSE_QUESTION
    assert "MIT" in first["facts"][0]["sentence"]  # type: ignore[index]
    assert second["question"] == UNRELATED
    assert second["answered"] is False
    assert 0 < len(second["facts"]) <= 3  # type: ignore[arg-type]
    assert table_counts(store) == before


def test_ask_refuses_questions_without_words(store: Path) -> None:
    result = run_cli(store, "ask", "--json", stdin='"\n🤔🤔\nNEAR(\n'.encode())
    assert result.returncode == 1
    quote, emoji, near = _json_lines(result.stdout)
    for refused in (quote, emoji):
        assert refused["answered"] is False
        assert refused["facts"] == []
        assert "question in words" in str(refused["error"])
    assert "error" not in near
    assert near["facts"]


def test_ask_plain_text(store: Path) -> None:
    result = run_cli(store, "ask", GPU_QUESTION)
    assert result.returncode == 0, result.stderr
    assert "2000" in result.stdout


def test_ask_on_an_empty_store(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "empty.db", "ask", "--json", GPU_QUESTION)
    assert result.returncode == 0, result.stderr
    (reply,) = _json_lines(result.stdout)
    assert reply["answered"] is False
    assert reply["facts"] == []
    assert reply["answer"]


# --- articles and remove ------------------------------------------------------------------------


def test_remove_then_articles_no_longer_lists_it(store: Path) -> None:
    assert "#1 " in run_cli(store, "articles").stdout
    removed = run_cli(store, "remove", "1")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == "removed #1"
    listing = run_cli(store, "articles")
    assert "#1 " not in listing.stdout
    assert listing.stdout.strip() == "no articles stored"
    counts = table_counts(store)
    assert {table: counts[table] for table in counts if table != "terms"} == {
        "articles": 0,
        "sentences": 0,
        "facts": 0,
        "facts_fts": 0,
        "fact_vectors": 0,
    }
    again = run_cli(store, "remove", "1")
    assert again.returncode == 1
    assert "no article #1" in again.stderr


def test_article_shows_key_facts(store: Path) -> None:
    result = run_cli(store, "article", "1")
    assert result.returncode == 0, result.stderr
    assert "IBM Think" in result.stdout
    missing = run_cli(store, "article", "99")
    assert missing.returncode == 1


def test_newsbot_db_environment_variable(store: Path) -> None:
    default = ROOT / "newsbot.db"
    existed = default.exists()
    result = run_cli(None, "articles", env=cli_env(NEWSBOT_DB=str(store)))
    assert result.returncode == 0, result.stderr
    assert "IBM Think" in result.stdout
    assert default.exists() == existed  # the default file was not used instead


def test_upgrade_of_a_store_written_by_an_older_version(store: Path) -> None:
    """``ask`` answers at once and says the store is older; ``upgrade`` re-encodes it once."""
    mark_articles_read_alone(store)
    asked = run_cli(store, "ask", GPU_QUESTION)
    assert asked.returncode == 0, asked.stderr
    assert "2000" in asked.stdout or "2,000" in asked.stdout
    assert "1 article stored by an older version" in asked.stderr
    upgraded = run_cli(store, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == "re-encoded the facts of 1 article"
    assert run_cli(store, "upgrade").stdout.strip() == "nothing to upgrade"
    assert "older version" not in run_cli(store, "ask", GPU_QUESTION).stderr
