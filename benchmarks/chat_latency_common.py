"""Shared by the chat latency benchmarks: the questions asked and a percentile helper.

The questions are about the sample articles in examples/ (English and Arabic), plus one the
store cannot answer.
"""

from __future__ import annotations

import statistics

QUESTIONS = [
    "How many GPUs did DeepSeek need to train V3?",
    "What license is DeepSeek-R1 released under?",
    "How much cheaper is DeepSeek's model to use?",
    "Which platform did DeepSeek-R1 top in downloads?",
    "Which OpenAI model does DeepSeek-R1 compare to?",
    "Which chip makers did investors reconsider after DeepSeek?",
    "How much did the Riverside reading room cost?",
    "How long did the library reading room take to build?",
    "Who is the director of the Riverside library?",
    "How many desks does the reading room have?",
    "When can visitors enter with their library card?",
    "Is the Riverside reading room open at night?",
    "What did ByteDance release?",
    "Which models does UI-TARS beat?",
    "What did Abraham Daniels say about Chinese labs?",
    "Who owns TikTok?",
    "What does UI-TARS do on a screen?",
    "What did Kuaishou open to the public?",
    "How much rain fell on the Green Valley lake?",
    "When was the lake last full?",
    "What did the farmer say about the lake?",
    "كم وحدة معالجة رسومات احتاجت DeepSeek لتدريب V3؟",
    "ما ترخيص نموذج DeepSeek-R1؟",
    "كم كلّفت قاعة القراءة في مكتبة ريفرسايد؟",
    "من هي مديرة مكتبة ريفرسايد؟",
    "كم ملم من الأمطار هطلت على البحيرة؟",
    "منذ متى لم تمتلئ بحيرة الوادي الأخضر؟",
    "ماذا قال المزارع سالم الحربي؟",
    "ما الذي أطلقته ByteDance؟",
    "Who is the mayor of Paris?",
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def format_table(timings: dict[str, list[float]]) -> str:
    """Median, p95 and max per path, in milliseconds."""
    lines = [f"{'path':<18}{'n':>5}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}"]
    for name, values in timings.items():
        if not values:
            continue
        lines.append(
            f"{name:<18}{len(values):>5}{1000 * statistics.median(values):>12.1f}"
            f"{1000 * percentile(values, 0.95):>10.1f}{1000 * max(values):>10.1f}"
        )
    return "\n".join(lines)


def report(table: str, section: str, command: str, write: bool) -> None:
    """Print ``table``; with ``write``, also put it in BENCHMARKS.md's ``section``."""
    print(table)
    if write:
        from eval_retrieval import write_section  # reads the evaluation set up: only when asked

        write_section(section, f"```\n{table}\n```\n", command)
