"""Start-up time: from launching the bot until it reports ready (encoders loaded, store open).

Usage: python benchmarks/startup.py [--runs 5] [--write]

Runs the console bot as a subprocess twice per round: on a fresh database (the sample articles
are extracted, encoded and stored first) and on the same database again (a restart).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_retrieval import write_section

ROOT = Path(__file__).resolve().parents[1]


def time_to_ready(db: Path) -> float:
    env = {**os.environ, "NEWSBOT_DB": str(db), "NEWSBOT_LOG_LEVEL": "INFO"}
    env.pop("NEWSBOT_TELEGRAM_TOKEN", None)
    env.pop("NEWSBOT_DISCORD_TOKEN", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "console"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if " ready in " in line:
            elapsed = time.perf_counter() - started
            break
    else:
        raise RuntimeError("the bot never reported ready")
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    fresh, restart = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            db = Path(folder) / "startup.db"
            fresh.append(time_to_ready(db))
            restart.append(time_to_ready(db))
    lines = [
        "| start | runs | median s | max s |",
        "|---|---|---|---|",
        f"| first start (4 sample articles ingested) | {args.runs} | {statistics.median(fresh):.2f} | {max(fresh):.2f} |",
        f"| restart (store exists) | {args.runs} | {statistics.median(restart):.2f} | {max(restart):.2f} |",
    ]
    report = (
        "\n".join(lines)
        + "\n\nFrom process launch (Python start-up and imports included) to the 'ready' log line.\n"
    )
    print(report)
    if args.write:
        write_section("startup", report, f"python benchmarks/startup.py --runs {args.runs} --write")


if __name__ == "__main__":
    main()
