"""The console adapter through standard input and output: ``python -m bot run``, no token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .conftest import count_articles_read_alone, mark_articles_read_alone

ROOT = Path(__file__).resolve().parents[1]


def _console_env(db: Path) -> dict[str, str]:
    """This environment without newsbot's settings (no tokens), with ``db`` as the store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DB"] = str(db)
    return env


def run_console(
    tmp_path: Path, lines: list[str], command: str = "run"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=ROOT,
        env=_console_env(tmp_path / "console.db"),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_without_tokens_chats_on_the_console_with_samples(tmp_path: Path) -> None:
    result = run_console(
        tmp_path,
        [
            "/articles",
            "How many GPUs did DeepSeek need to train V3?",
            "/article 1",
            "/remove 1",
            "/articles",
        ],
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "newsbot console" in out
    assert "Articles 1–4 of 4" in out  # the four sample articles were loaded on first start
    assert "2000" in out  # the answer quotes the fact
    assert "Removed article #1." in out  # the local user acts as admin
    assert "Articles 1–3 of 3" in out
    assert "ready in" in result.stderr  # logging goes to stderr, replies to stdout


def test_samples_load_only_on_first_start(tmp_path: Path) -> None:
    first = run_console(tmp_path, ["/remove 2"], command="console")
    assert "Removed article #2." in first.stdout
    second = run_console(tmp_path, ["/articles"], command="console")
    assert "of 3:" in second.stdout  # the removed sample did not come back


def test_bad_input_on_the_console_gets_a_message(tmp_path: Path) -> None:
    result = run_console(tmp_path, ["/add", "/article abc", "/language xx", "/quit", "/help"])
    assert "Send /add with the article's text" in result.stdout
    assert "article number" in result.stdout
    assert "/language ar or /language en" in result.stdout
    assert "What you can do" not in result.stdout  # /quit ended the session before /help


def test_an_older_store_is_upgraded_while_the_bot_answers(tmp_path: Path) -> None:
    """Articles stored by an older version are re-encoded in the background after start."""
    assert run_console(tmp_path, ["/articles"]).returncode == 0  # the samples, stored
    store = tmp_path / "console.db"
    mark_articles_read_alone(store)
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        cwd=ROOT,
        env=_console_env(store),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bot.stdin is not None
    bot.stdin.write("How many GPUs did DeepSeek need to train V3?\n")
    bot.stdin.flush()
    # The bot stays up (its input is open) until every article is upgraded; a hang guard only.
    deadline = time.monotonic() + 300
    while count_articles_read_alone(store) and time.monotonic() < deadline and bot.poll() is None:
        time.sleep(0.2)
    out, err = bot.communicate(timeout=300)
    assert bot.returncode == 0, err
    assert count_articles_read_alone(store) == 0
    assert "2000" in out
    assert "4 articles were stored by an older version" in err
