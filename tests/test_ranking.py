"""The ranking's arithmetic on small hand-made matrices: article scores, standardising, the
second pass and the choice of the fact to quote. No encoders and no store are needed here;
the whole path is exercised on the sample article in test_answer.py."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from news import answer
from news.embed import Encoders
from news.knowledge import Knowledge, scan
from news.ranker import Ranker, shipped_ranker
from storage.search import TermRows, append_codes, append_rows, dot_products, quantise

rng = np.random.default_rng(7)


def _unit(rows: int, dims: int) -> np.ndarray:
    vectors = rng.normal(size=(rows, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _matrix(articles: int = 6, sentences_per_article: int = 4) -> answer.FactMatrix:
    """Articles of sentences; every sentence has one clause after it; two languages."""
    fact_ids, sentence_ids, article_ids, groups = [], [], [], []
    fact = 0
    for article in range(articles):
        for sentence in range(sentences_per_article):
            sentence_id = article * 100 + sentence
            for _sentence_then_clause in range(2):
                fact += 1
                fact_ids.append(fact)
                sentence_ids.append(sentence_id)
                article_ids.append(article + 1)
                groups.append(article % 2)
    count = len(fact_ids)
    flags = np.zeros((count, 3), np.bool_)
    flags[1::4, 0] = True  # every other sentence's clause carries a figure
    return answer.FactMatrix(
        fact_ids=np.array(fact_ids, np.int64),
        sentence_ids=np.array(sentence_ids, np.int64),
        article_ids=np.array(article_ids, np.int64),
        language_group=np.array(groups, np.intp),
        flags=flags,
        use=quantise(_unit(count, 8)),  # held as int8 codes
        e5=quantise(_unit(count, 6)),
    )


def _signals(matrix: answer.FactMatrix, weights: answer.RankWeights) -> answer.SentenceSignals:
    scores = (
        answer.encoder_scores(matrix, 0, _unit(1, 8)[0], weights),
        answer.encoder_scores(matrix, 1, _unit(1, 6)[0], weights),
    )
    signals = answer.sentence_signals(matrix, scores, {}, (True, False, False), 0)
    answer.set_candidates(signals, weights)
    return signals


def test_article_cosines_equal_the_cosine_with_each_normalised_centroid() -> None:
    matrix = _matrix()
    layout = matrix.layout
    query = _unit(1, 8)[0]
    sentence_vectors = matrix.use.floats(layout.sentence_starts)
    expected = []
    for article in range(layout.article_count):
        summed = sentence_vectors[layout.article_of_sentence == article].sum(axis=0)
        expected.append(summed @ query / np.linalg.norm(summed))
    found = layout.article_cosines(0, sentence_vectors @ query)
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-5)


def _rows(matrix: answer.FactMatrix, rows: slice) -> answer.FactMatrix:
    return answer.FactMatrix(
        fact_ids=matrix.fact_ids[rows],
        sentence_ids=matrix.sentence_ids[rows],
        article_ids=matrix.article_ids[rows],
        language_group=matrix.language_group[rows],
        flags=matrix.flags[rows],
        use=matrix.use[rows],
        e5=matrix.e5[rows],
    )


def _assert_same_layout(found: answer.Layout, expected: answer.Layout) -> None:
    for name in answer.Layout.__slots__:
        value, wanted = getattr(found, name), getattr(expected, name)
        if isinstance(wanted, np.ndarray):
            np.testing.assert_allclose(value, wanted, rtol=1e-6, err_msg=name)
        elif isinstance(wanted, answer.LanguageGroups):
            for part in ("code", "sizes", "indicator"):
                np.testing.assert_array_equal(getattr(value, part), getattr(wanted, part))
        else:  # clause steps
            assert len(value) == len(wanted), name
            for (sentences, rows), (want_sentences, want_rows) in zip(value, wanted, strict=True):
                np.testing.assert_array_equal(sentences, want_sentences)
                np.testing.assert_array_equal(rows, want_rows)


def test_a_matrix_extended_by_newer_articles_reuses_their_norms_and_lays_out_the_same() -> None:
    whole = _matrix(articles=6)
    first, added = _rows(whole, slice(0, 32)), _rows(whole, slice(32, None))  # articles 1-4, 5-6
    assert first.layout.article_count == 4  # derived, as the served matrix's always is
    extended = answer.concatenate(first, added)
    assert extended._prefix_layout is first.layout  # handed on, so not summed again
    _assert_same_layout(extended.layout, answer.Layout.of(whole))
    # Rows that continue an article already held: nothing is handed on, and all is summed.
    half_of_fourth = _rows(whole, slice(0, 28))
    assert half_of_fourth.layout.article_count == 4
    split_article = answer.concatenate(half_of_fourth, _rows(whole, slice(28, None)))
    assert split_article._prefix_layout is None
    _assert_same_layout(split_article.layout, answer.Layout.of(whole))


def test_standardising_is_per_language_unless_a_group_is_too_small() -> None:
    scores = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 30.0], np.float32)
    groups = answer.LanguageGroups.of(np.array([5, 5, 5, 9, 9, 9]))
    z, means = answer.standardise_by_language(scores, groups, min_size=3)
    np.testing.assert_allclose(z[:3], z[3:], atol=1e-5)  # same shape within each language
    np.testing.assert_allclose(means, [2, 2, 2, 20, 20, 20], rtol=1e-6)
    pooled, pooled_means = answer.standardise_by_language(scores, groups, min_size=4)
    assert pooled[3] > pooled[2]  # one pool: the second language's scores all rank higher
    np.testing.assert_allclose(pooled_means, np.full(6, scores.mean()), rtol=1e-6)


def test_standardising_matches_the_textbook_z_score_with_a_prior() -> None:
    scores = rng.normal(0.7, 0.03, size=500).astype(np.float32)
    groups = answer.LanguageGroups.of(np.r_[np.zeros(200, np.intp), np.ones(300, np.intp)])
    z, means = answer.standardise_by_language(scores, groups, 30, (0.72, 0.05), 100.0)
    for rows in (slice(0, 200), slice(200, 500)):
        values = scores[rows].astype(np.float64)
        count = len(values) + 100.0
        mean = (values.sum() + 100.0 * 0.72) / count
        spread = ((values - mean) ** 2).sum() + 100.0 * (0.05**2 + (0.72 - mean) ** 2)
        expected = (values - mean) / (np.sqrt(spread / count) + 1e-6)
        np.testing.assert_allclose(z[rows], expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(means[rows], mean, rtol=1e-6)


def test_a_sentence_max_covers_the_sentence_and_all_its_clauses() -> None:
    matrix = _matrix()
    # Give some sentences more clauses by merging the next sentence's rows into theirs.
    matrix.sentence_ids[2:4] = matrix.sentence_ids[1]
    matrix.sentence_ids[10:13] = matrix.sentence_ids[9]
    layout = matrix.layout
    values = rng.normal(size=len(matrix.fact_ids)).astype(np.float32)
    expected = np.maximum.reduceat(values, layout.sentence_starts)
    np.testing.assert_array_equal(layout.sentence_max(values), expected)


def test_second_pass_ranks_every_candidate_above_the_rest_in_first_pass_order() -> None:
    weights = answer.RankWeights(soft_candidates=5)
    signals = _signals(_matrix(), weights)
    final = answer.final_scores(signals, weights)
    candidates = signals.candidates
    others = np.setdiff1d(np.arange(len(final)), candidates)
    assert final[candidates].min() > final[others].max()
    by_first_pass = others[np.argsort(-signals.first_pass[others], kind="stable")]
    by_final = others[np.argsort(-final[others], kind="stable")]
    assert by_first_pass.tolist() == by_final.tolist()
    features = answer.candidate_features(signals)
    assert features.shape == (len(candidates), len(answer.RERANK_FEATURES))
    assert weights.ranker is not None
    expected = weights.ranker.score(features)
    np.testing.assert_allclose(final[candidates], expected, rtol=1e-5)


def test_without_coefficients_the_first_pass_ranks() -> None:
    weights = answer.RankWeights(ranker=None)
    signals = _signals(_matrix(), weights)
    np.testing.assert_array_equal(
        answer.final_scores(signals, weights), answer.fuse(signals, weights)
    )


@pytest.mark.parametrize("quote_kind", [0.0, 100.0])
def test_the_quote_prefers_the_clause_carrying_what_is_asked(quote_kind: float) -> None:
    weights = answer.RankWeights(quote_kind=quote_kind)
    matrix = _matrix()
    signals = _signals(matrix, weights)  # the question asks for a figure
    figure_facts = set(matrix.fact_ids[matrix.flags[:, 0]].tolist())
    quoted = [found.best_fact_id for found in answer.rank(signals, weights, limit=24)]
    with_figure = [found for found in quoted if found in figure_facts]
    sentences_with_figure = len(figure_facts)
    if quote_kind:
        assert len(with_figure) == sentences_with_figure
    else:
        assert len(with_figure) < sentences_with_figure  # the encoders alone pick others too


def _ranker(units: int) -> Ranker:
    count = len(answer.RERANK_FEATURES)
    return Ranker(
        features=answer.RERANK_FEATURES,
        mean=rng.normal(size=count),
        scale=rng.uniform(0.5, 2.0, size=count),
        linear=rng.normal(size=count),
        hidden=rng.normal(size=(count, units)),
        hidden_bias=rng.normal(size=units),
        output=rng.normal(size=units),
    )


@pytest.mark.parametrize("units", [0, 3])
def test_the_ranker_scores_standardised_features_and_survives_its_file(
    units: int, tmp_path: Path
) -> None:
    ranker = _ranker(units)
    features = rng.normal(size=(5, len(answer.RERANK_FEATURES)))
    z = (features - ranker.mean) / ranker.scale
    expected = z @ ranker.linear + np.tanh(z @ ranker.hidden + ranker.hidden_bias) @ ranker.output
    np.testing.assert_allclose(ranker.score(features), expected, rtol=1e-9)
    ranker.save(tmp_path / "ranker.json")
    reloaded = Ranker.from_json(json.loads((tmp_path / "ranker.json").read_text()))
    np.testing.assert_allclose(reloaded.score(features), expected, rtol=1e-3, atol=1e-3)


def test_a_small_feature_scale_survives_the_file() -> None:
    ranker = _ranker(2)
    ranker.scale[0] = 3.2e-7  # a feature that hardly varies in the fitting data
    reloaded = Ranker.from_json(ranker.to_json())
    np.testing.assert_allclose(reloaded.scale, ranker.scale, rtol=1e-5)


def test_a_ranker_fitted_on_other_features_is_refused() -> None:
    stale = Ranker.from_json(
        {**_ranker(2).to_json(), "features": ["an old feature"] * len(answer.RERANK_FEATURES)}
    )
    with pytest.raises(ValueError, match="refit"):
        answer.RankWeights(ranker=stale)
    assert shipped_ranker().features == answer.RERANK_FEATURES


def test_a_sentences_keyword_score_is_its_best_facts() -> None:
    matrix = _matrix()
    weights = answer.RankWeights()
    scores = (
        answer.encoder_scores(matrix, 0, _unit(1, 8)[0], weights),
        answer.encoder_scores(matrix, 1, _unit(1, 6)[0], weights),
    )
    bm25 = {2: 4.0, 3: 1.0, 4: 2.0, 17: 8.0}  # a clause, a sentence and its clause, another
    signals = answer.sentence_signals(matrix, scores, bm25, (False, False, False), 0)
    expected = np.zeros(len(signals.sentence_ids), np.float32)
    for fact_id, value in bm25.items():
        sentence = signals.fact_sentence[fact_id - 1]  # fact ids are 1.. in row order
        expected[sentence] = max(expected[sentence], value / 8.0)
    np.testing.assert_allclose(signals.keywords, expected, rtol=1e-5)


def test_a_known_word_is_its_own_nearest_and_others_are_searched() -> None:
    vectors = _unit(4, 8)
    terms = TermRows(
        ids=np.arange(1, 5, dtype=np.int64),
        words=["cost", "price", "تكلفة", "chips"],
        stems=["cost", "price", "تكلف", "chip"],
        is_arabic=np.array([False, False, True, False]),
        article_counts=np.ones(4, np.float32),
        vectors=vectors,
    )
    near_arabic = vectors[2] + 0.1 * vectors[1]
    question = np.stack([vectors[3], near_arabic / np.linalg.norm(near_arabic)])
    found = Knowledge._question_words(["chips", "expense"], question, terms)
    assert found.nearest.tolist() == [3, 2]
    assert found.nearest.tolist() == np.argmax(question @ vectors.T, axis=1).tolist()


@pytest.mark.parametrize("rows", [10, 50_000])  # one thread, then split over two
async def test_the_fact_scan_equals_one_matrix_product(rows: int) -> None:
    vectors = _unit(rows, 16)
    query = _unit(1, 16)[0]
    found = await scan(quantise(vectors), query)
    assert found.dtype == np.float32 and found.shape == (rows,)
    # Both the rows and the question are rounded to int8 codes, each with its own scale.
    expected = vectors @ query
    np.testing.assert_allclose(found, expected, atol=0.02)
    assert np.abs(found - expected).mean() < 0.005


def test_codes_hold_each_row_to_within_half_a_step() -> None:
    vectors = _unit(200, 32)
    codes = quantise(vectors)
    assert codes.codes.dtype == np.int8 and np.abs(codes.codes).max(axis=1).min() == 127
    steps = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(codes.floats(slice(None)) - vectors) <= steps / 2 + 1e-7)
    assert np.all(quantise(np.zeros((2, 4), np.float32)).codes == 0)  # no division by zero


def test_dot_products_keep_the_reference_count_of_none() -> None:
    # SimSIMD's ``out=`` path gave back None without a reference of its own: every scan took
    # one from None, and the process crashed once none were left.
    vectors, query = quantise(_unit(50, 8)), _unit(1, 8)[0]
    before = sys.getrefcount(None)
    for _ in range(1000):
        dot_products(vectors, query)
    assert sys.getrefcount(None) - before > -10  # other code may take a few, not one per call


def test_dot_products_of_no_rows_is_empty() -> None:
    assert dot_products(quantise(np.zeros((0, 4), np.float32)), _unit(1, 4)[0]).shape == (0,)


def test_rows_are_appended_in_place_while_the_buffer_has_room() -> None:
    buffer = rng.normal(size=(10, 4)).astype(np.float32)
    head = buffer[:6]
    older = head.copy()
    tail = rng.normal(size=(3, 4)).astype(np.float32)
    joined = append_rows(head, tail)
    assert np.shares_memory(joined, buffer)
    np.testing.assert_array_equal(joined, np.concatenate([older, tail]))
    np.testing.assert_array_equal(head, older)  # a view held elsewhere sees no change
    # No room left for five more: a larger buffer, and the next append goes in place again.
    grown = append_rows(joined, rng.normal(size=(5, 4)).astype(np.float32))
    assert not np.shares_memory(grown, buffer)
    np.testing.assert_array_equal(grown[:9], joined)
    again = append_rows(grown, tail)
    assert np.shares_memory(again, grown)
    np.testing.assert_array_equal(again[14:], tail)


def test_codes_and_their_scales_are_appended_together() -> None:
    head, tail = quantise(_unit(5, 8)), quantise(_unit(3, 8))
    joined = append_codes(head, tail)
    np.testing.assert_array_equal(joined.codes, np.concatenate([head.codes, tail.codes]))
    np.testing.assert_array_equal(joined.scales, np.concatenate([head.scales, tail.scales]))
    # One-dimensional rows (the scales) grow their buffer in place too.
    again = append_rows(joined.scales, tail.scales)
    assert np.shares_memory(again, joined.scales)


def test_a_copy_is_never_written_through() -> None:
    head = rng.normal(size=(4, 2)).astype(np.float32)  # owns its memory: no buffer to fill
    joined = append_rows(head, head)
    assert not np.shares_memory(joined, head)
    np.testing.assert_array_equal(joined, np.concatenate([head, head]))


def test_e5_always_runs_on_its_own_thread(encoders: Encoders) -> None:
    seen: set[str] = set()
    model = encoders._e5
    original = model.query

    def recording(texts: list[str]) -> np.ndarray:
        seen.add(threading.current_thread().name)
        return original(texts)

    model.query = recording
    try:
        callers = [threading.Thread(target=encoders.query_e5, args=("a question",)) for _ in "ab"]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        encoders.query_e5("from the main thread")
    finally:
        model.query = original
    assert len(seen) == 1
    assert seen.pop().startswith("e5")


def test_the_leading_sentences_are_the_best_final_scores() -> None:
    weights = answer.RankWeights()
    signals = _signals(_matrix(articles=10), weights)
    scores = answer.final_scores(signals, weights)
    for count in (1, 5, len(signals.candidates), len(signals.candidates) + 3):
        found = answer.leading(signals, weights, scores, count)
        np.testing.assert_array_equal(scores[found], np.sort(scores)[::-1][:count])
