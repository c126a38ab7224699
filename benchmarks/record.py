"""Run a benchmark script and record what it printed in BENCHMARKS.md, with the command.

Usage: python benchmarks/record.py SECTION -- python benchmarks/SCRIPT.py [ARGS...]

For scripts that print a table but do not write BENCHMARKS.md themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_retrieval import write_section

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    section, command = sys.argv[1], sys.argv[3:]
    run = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    result = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        sys.exit(result.returncode)
    write_section(section, "```\n" + result.stdout.strip() + "\n```\n", " ".join(command))


if __name__ == "__main__":
    main()
