"""Fit the ranking weights and the abstention rule on XQuAD-R's OTHER languages.

Usage: python benchmarks/fit_weights.py [--languages ru,de] [--similarities 0.6,0.7]

Arabic and English paragraphs are never used here (English questions are, over the other
languages' paragraphs, as the evaluation README allows). Settings fitted on, with X and Y the
two languages given:
  en->X, en->Y, X->X, Y->Y, and a mixed store (even articles in X, odd in Y, 40-47 absent)
  asked in X, Y and English.
The objective is the mean Recall@1 over the settings. Prints the chosen weights; copy them into
``RankWeights`` in news/answer.py (a person decides, so the code never changes behind review).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import xquad
from eval_retrieval import STORED_ARTICLES, store_sources

from news import answer
from news.answer import RankWeights


@dataclasses.dataclass
class Case:
    signals: answer.SentenceSignals
    gold: int | None  # index into the signals' sentence arrays, None when unanswerable


async def collect(pool: xquad.Pool, items: list[xquad.Question], language: str) -> list[Case]:
    cases = []
    position_of: dict[tuple[int, int, int], list[int]] = {}
    for question in items:
        signals = await pool.knowledge.signals(question.text, language)
        assert signals is not None
        if not position_of:
            for index, sentence_id in enumerate(signals.sentence_ids):
                key = pool.sentence_gold[int(sentence_id)]
                position_of.setdefault(key, []).append(index)
        target = (question.article_index, question.paragraph_index, question.gold_sentence)
        if question.article_index not in pool.stored_articles:
            gold = None
        else:
            gold = position_of.get(target, [None])[0]
        cases.append(Case(signals, gold))
    return cases


def recall_at_1(cases: list[Case], weights: RankWeights) -> float:
    answerable = [c for c in cases if c.gold is not None]
    hits = 0
    for case in answerable:
        scores = answer.fuse(case.signals, weights)
        hits += int(np.argmax(scores) == case.gold)
    return hits / max(1, len(answerable))


def objective(settings: dict[str, list[Case]], weights: RankWeights) -> float:
    return float(np.mean([recall_at_1(cases, weights) for cases in settings.values()]))


GRID = {
    "use": [0.3, 0.4, 0.5, 0.6, 0.7],
    "clause": [0.0, 0.25, 0.5, 0.75, 1.0],
    # 1.0 and 1.25 were tried too: +0.002 mean R@1, not worth a refit of everything after it.
    "article": [0.0, 0.15, 0.3, 0.5, 0.75],
    "keywords": [0.0, 0.3, 0.6, 1.0, 1.5],
    "translated": [0.0, 0.3, 0.6, 1.0, 1.5],
    "kind": [0.0, 0.15, 0.3, 0.5],
    "soft": [0.0, 0.5, 1.0, 1.5, 2.0],
}


def coordinate_ascent(
    settings: dict[str, list[Case]], start: RankWeights, rounds: int = 3
) -> tuple[RankWeights, float]:
    best = start
    best_score = objective(settings, best)
    for _ in range(rounds):
        improved = False
        for name, values in GRID.items():
            for value in values:
                candidate = dataclasses.replace(best, **{name: value})
                score = objective(settings, candidate)
                if score > best_score + 1e-9:
                    best, best_score, improved = candidate, score, True
            print(f"  {name}={getattr(best, name)} -> {best_score:.4f}", flush=True)
        if not improved:
            break
    return best, best_score


async def cosine_priors(
    pools: list[xquad.Pool], questions: list[str]
) -> tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...]]:
    """Mean and std of question-fact and question-centroid cosines, per encoder."""
    fact_values: list[list[np.ndarray]] = [[], []]
    article_values: list[list[np.ndarray]] = [[], []]
    for pool in pools:
        matrix = await pool.knowledge._fact_matrix()
        for question in questions:
            query = pool.knowledge.encoders.query(question)
            for row, (vectors, vector) in enumerate(
                ((matrix.use, query.use[0]), (matrix.e5, query.e5[0]))
            ):
                fact_values[row].append(vectors @ vector)
                article_values[row].append(matrix.layout.centroids[row] @ vector)

    def stats(chunks: list[np.ndarray]) -> tuple[float, float]:
        values = np.concatenate(chunks)
        return round(float(values.mean()), 4), round(float(values.std()), 4)

    return (
        (stats(fact_values[0]), stats(fact_values[1])),
        (stats(article_values[0]), stats(article_values[1])),
    )


def answer_features(signals: answer.SentenceSignals, weights: RankWeights) -> np.ndarray:
    """Features of the best sentence that say whether it answers (see news/answer.py)."""
    return answer.answer_features(signals, weights)


def fit_abstention(cases: list[Case], weights: RankWeights) -> tuple[np.ndarray, float]:
    """Logistic regression: is the top sentence a real answer? Returns coefficients and bias."""
    features = np.array([answer_features(c.signals, weights) for c in cases])
    labels = np.array([c.gold is not None for c in cases], np.float64)
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-9
    x = (features - mean) / std
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        grad = p - labels
        w -= 0.1 * (x.T @ grad / len(x) + 1e-3 * w)
        b -= 0.1 * grad.mean()
    # Express in raw feature units so the product needs no scaler.
    coefficients = w / std
    bias = b - float((w * mean / std).sum())
    return coefficients, bias


def abstention_table(
    cases: list[Case], weights: RankWeights, coefficients: np.ndarray, bias: float
) -> list[tuple[float, float, float]]:
    rows = []
    logits = np.array([answer_features(c.signals, weights) @ coefficients + bias for c in cases])
    answerable = np.array([c.gold is not None for c in cases])
    for threshold in np.arange(-2.0, 2.01, 0.25):
        rejected_unanswerable = float((logits[~answerable] < threshold).mean())
        wrongly_false = float((logits[answerable] < threshold).mean())
        rows.append((float(threshold), rejected_unanswerable, wrongly_false))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--languages", default="ru,de")
    parser.add_argument("--similarities", default="0.6,0.7")
    parser.add_argument("--prior-strength", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=3, help="0: keep the current weights")
    parser.add_argument(
        "--store-only", action="store_true", help="only the mixed store (abstention, store R@1)"
    )
    parser.add_argument(
        "--more-stores",
        default="",
        help="extra even,odd language pairs (e.g. es,ru) whose stores join the abstention fit",
    )
    args = parser.parse_args()
    first, second = args.languages.split(",")
    for forbidden in ("ar", "en"):
        if forbidden in (first, second):
            sys.exit("Arabic and English are the held-out evaluation: fit on other languages")
    encoders = xquad.CachedEncoders(xquad.CACHE_DIR / "vectors-fit.npz")
    pools = {}
    for language in (first, second):
        pools[language] = await xquad.build_pool(
            xquad.CACHE_DIR / f"pool-{language}.db",
            encoders,
            [(language, xquad.paragraphs(xquad.load(language)))],
        )
    store = await xquad.build_pool(
        xquad.CACHE_DIR / f"store-{first}-{second}.db", encoders, store_sources(first, second)
    )
    encoders.save()
    questions = {lang: xquad.questions(xquad.load(lang)) for lang in ("en", first, second)}
    sample = [q.text for lang in ("en", first, second) for q in questions[lang][::10]]
    fact_priors, article_priors = await cosine_priors([pools[first], pools[second]], sample)
    print(f"fact_priors={fact_priors} article_priors={article_priors}", flush=True)
    base = dataclasses.replace(
        RankWeights(),
        fact_priors=fact_priors,  # type: ignore[arg-type]
        article_priors=article_priors,  # type: ignore[arg-type]
        prior_strength=args.prior_strength,
    )
    results = []
    for similarity in [float(v) for v in args.similarities.split(",")]:
        weights = dataclasses.replace(base, translation_min_similarity=similarity)
        settings: dict[str, list[Case]] = {}
        for language in () if args.store_only else (first, second):
            pools[language].knowledge.weights = weights
            settings[f"en->{language}"] = await collect(pools[language], questions["en"], "en")
            settings[f"{language}->{language}"] = await collect(
                pools[language], questions[language], language
            )
        store.knowledge.weights = weights
        store_cases = {}
        for language in ("en", first, second):
            store_cases[language] = await collect(store, questions[language], language)
            settings[f"store {language}"] = store_cases[language]
        encoders.save()
        print(
            f"translation_min_similarity={similarity}: start {objective(settings, weights):.4f}",
            flush=True,
        )
        best, score = coordinate_ascent(settings, weights, rounds=args.rounds)
        results.append((score, best, settings, store_cases))
    score, best, settings, store_cases = max(results, key=lambda item: item[0])
    print("\nper setting R@1 with the chosen weights:")
    for name, cases in settings.items():
        print(f"  {name}: {recall_at_1(cases, best):.3f}")
    all_store = [case for cases in store_cases.values() for case in cases]
    for pair in filter(None, args.more_stores.split(";")):
        even, odd = pair.split(",")
        if {"ar", "en"} & {even, odd}:
            sys.exit("Arabic and English are the held-out evaluation: fit on other languages")
        extra = await xquad.build_pool(
            xquad.CACHE_DIR / f"store-{even}-{odd}.db", encoders, store_sources(even, odd)
        )
        extra.knowledge.weights = best
        for language in ("en", even, odd):
            asked = xquad.questions(xquad.load(language))
            all_store += await collect(extra, asked, language)
        encoders.save()
        await extra.knowledge.db.close()
    coefficients, bias = fit_abstention(all_store, best)
    print(f"\nabstention coefficients {np.round(coefficients, 4).tolist()} bias {bias:.4f}")
    print("threshold | unanswerable answered false | answerable wrongly false")
    for threshold, rejected, wrong in abstention_table(all_store, best, coefficients, bias):
        print(f"{threshold:+.2f} | {rejected:.3f} | {wrong:.3f}")
    print(f"\nchosen: {best}\nmean R@1 {score:.4f}")
    print(f"stored articles: 0-{STORED_ARTICLES - 1}")


if __name__ == "__main__":
    asyncio.run(main())
