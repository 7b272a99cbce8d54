"""Metrics against scikit-learn and brute force; one sign convention (higher = member)."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from leakage.metrics import (best_f1, bootstrap_auc, f1_at_threshold, roc_auc, roc_curve, summarize,
                             tpr_at_fpr)


@pytest.fixture(params=[0, 1, 2])
def data(request):
    rng = np.random.default_rng(request.param)
    is_member = rng.random(300) < 0.5
    scores = rng.normal(size=300) + 0.8 * is_member
    if request.param == 2:  # heavy ties
        scores = np.round(scores)
    return scores, is_member


def test_auc_matches_sklearn(data):
    scores, is_member = data
    assert roc_auc(scores, is_member) == pytest.approx(roc_auc_score(is_member, scores), abs=1e-12)


def test_roc_curve_matches_sklearn(data):
    scores, is_member = data
    fpr, tpr, thr = roc_curve(scores, is_member)
    sk_fpr, sk_tpr, _ = sk_roc_curve(is_member, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)


def test_tpr_at_fpr_is_the_best_tpr_within_the_fpr_budget(data):
    scores, is_member = data
    fpr, tpr, _ = sk_roc_curve(is_member, scores)
    for budget in (0.0, 0.01, 0.1, 0.5):
        assert tpr_at_fpr(scores, is_member, budget) == pytest.approx(tpr[fpr <= budget].max())


def test_f1_matches_sklearn_and_best_f1_is_the_brute_force_maximum(data):
    scores, is_member = data
    for threshold in np.quantile(scores, [0.1, 0.5, 0.9]):
        expected = f1_score(is_member, scores >= threshold)
        assert f1_at_threshold(scores, is_member, threshold) == pytest.approx(expected)
    brute = max(f1_score(is_member, scores >= t) for t in np.unique(scores))
    f1, threshold = best_f1(scores, is_member)
    assert f1 == pytest.approx(brute) and f1_score(is_member, scores >= threshold) == pytest.approx(f1)


def test_sign_convention_perfect_and_inverted_attacks():
    is_member = np.array([True, True, False, False])
    assert roc_auc(np.array([2.0, 3.0, 0.0, 1.0]), is_member) == 1.0
    assert roc_auc(np.array([0.0, 1.0, 2.0, 3.0]), is_member) == 0.0
    assert tpr_at_fpr(np.array([2.0, 3.0, 0.0, 1.0]), is_member, 0.0) == 1.0


def test_bootstrap_ci_brackets_the_auc_is_deterministic_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = rng.random(100) < 0.5
    scores_small = rng.normal(size=100) + small
    big = rng.random(4000) < 0.5
    scores_big = rng.normal(size=4000) + big
    lo, hi = bootstrap_auc(scores_small, small, n_boot=500, seed=1)
    assert lo < roc_auc(scores_small, small) < hi
    assert (lo, hi) == bootstrap_auc(scores_small, small, n_boot=500, seed=1)
    lo_big, hi_big = bootstrap_auc(scores_big, big, n_boot=200, seed=1)
    assert hi_big - lo_big < hi - lo


def test_bad_inputs_are_clear_errors_and_nothing_is_dropped():
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([0.1, np.nan]), np.array([True, False]))
    with pytest.raises(ValueError, match="both members and non-members"):
        roc_auc(np.array([0.1, 0.2]), np.array([True, True]))
    with pytest.raises(ValueError, match="equal length"):
        roc_auc(np.array([0.1, 0.2, 0.3]), np.array([True, False]))
    with pytest.raises(ValueError, match="boolean"):
        roc_auc(np.array([0.1, 0.2]), np.array([2, 0]))


def test_summarize_reports_everything():
    rng = np.random.default_rng(0)
    is_member = np.repeat([True, False], 100)
    out = summarize(rng.normal(size=200) + is_member, is_member, n_boot=100)
    assert out["auc_lo"] <= out["auc"] <= out["auc_hi"]
    assert out["n_members"] == out["n_non_members"] == 100
    assert {"tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "best_f1"} <= set(out)


# ------------------------------------------------------------------ extreme scores: +/-inf and ties, exactly

INF = np.inf


def _adversarial_cases():
    """(name, scores, is_member): every kind of tie and infinity the attacks can produce."""
    rng = np.random.default_rng(7)
    mixed_member = rng.random(60) < 0.4
    mixed = rng.choice([-INF, -1.0, 0.0, 0.5, 2.0, INF], size=60)
    return [
        ("all tied", np.zeros(6), np.array([1, 0, 1, 0, 0, 1], bool)),
        ("all +inf", np.full(5, INF), np.array([1, 0, 0, 1, 0], bool)),
        ("all -inf", np.full(4, -INF), np.array([0, 1, 1, 0], bool)),
        ("+inf and -inf only", np.array([INF, -INF, INF, -INF, INF]), np.array([1, 1, 0, 0, 1], bool)),
        ("members +inf, non-members finite", np.array([INF, INF, 3.0, 1e308, -5.0]), np.array([1, 1, 0, 0, 0], bool)),
        ("non-members +inf (inverted)", np.array([1.0, 2.0, INF, INF]), np.array([1, 1, 0, 0], bool)),
        ("every member tied with a non-member", np.repeat([INF, 1.0, -INF, 0.0], 2), np.tile([True, False], 4)),
        ("one member among +inf ties", np.array([INF, INF, INF, -INF, 0.0]), np.array([0, 1, 0, 0, 0], bool)),
        ("random mix of ties and infinities", mixed, mixed_member),
        ("largest finite floats", np.array([np.finfo(float).max, -np.finfo(float).max, INF, 0.0]),
         np.array([1, 0, 1, 0], bool)),
    ]


CASES = _adversarial_cases()
IDS = [c[0] for c in CASES]


def _brute_force_points(scores, is_member):
    """(flags nothing, then scores >= t for every distinct t, descending): tp, fp counts; no cleverness."""
    points = [(0, 0)]
    for t in sorted(set(scores.tolist()), reverse=True):
        flagged = np.array([s >= t for s in scores.tolist()])
        points.append((int((flagged & is_member).sum()), int((flagged & ~is_member).sum())))
    return points


def _brute_force_auc(scores, is_member):
    pos, neg = scores[is_member].tolist(), scores[~is_member].tolist()
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _dense(scores):
    """Scores mapped to dense ranks: finite, same order and ties, so scikit-learn accepts them."""
    return np.unique(scores, return_inverse=True)[1].reshape(-1).astype(float)


@pytest.mark.parametrize("name,scores,is_member", CASES, ids=IDS)
def test_auc_is_exact_with_ties_and_infinities(name, scores, is_member):
    auc = roc_auc(scores, is_member)
    assert auc == pytest.approx(_brute_force_auc(scores, is_member), abs=1e-12)
    assert auc == pytest.approx(roc_auc_score(is_member, _dense(scores)), abs=1e-12)


@pytest.mark.parametrize("name,scores,is_member", CASES, ids=IDS)
def test_roc_curve_is_exact_with_ties_and_infinities(name, scores, is_member):
    fpr, tpr, thr = roc_curve(scores, is_member)
    n_pos, n_neg = is_member.sum(), (~is_member).sum()
    expected = _brute_force_points(scores, is_member)
    np.testing.assert_array_equal(tpr, [tp / n_pos for tp, _ in expected])
    np.testing.assert_array_equal(fpr, [fp / n_neg for _, fp in expected])
    sk_fpr, sk_tpr, _ = sk_roc_curve(is_member, _dense(scores), drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr) and np.testing.assert_allclose(tpr, sk_tpr)
    for f, t, threshold in zip(fpr, tpr, thr):  # each threshold flags exactly its point's samples
        flagged = scores >= threshold
        assert (flagged & is_member).sum() / n_pos == t and (flagged & ~is_member).sum() / n_neg == f
    assert (thr[0] == INF) != bool(np.any(scores == INF)) and (np.isnan(thr[0]) == bool(np.any(scores == INF)))


@pytest.mark.parametrize("name,scores,is_member", CASES, ids=IDS)
def test_tpr_at_fpr_is_exact_with_ties_and_infinities(name, scores, is_member):
    n_pos, n_neg = is_member.sum(), (~is_member).sum()
    points = _brute_force_points(scores, is_member)
    for budget in (0.0, 0.01, 0.25, 0.5, 1.0):
        expected = max(tp / n_pos for tp, fp in points if fp / n_neg <= budget)
        assert tpr_at_fpr(scores, is_member, budget) == pytest.approx(expected)


@pytest.mark.parametrize("name,scores,is_member", CASES, ids=IDS)
def test_f1_is_exact_with_ties_and_infinities(name, scores, is_member):
    thresholds = sorted(set(scores.tolist())) + [INF, -INF]
    for t in thresholds:
        assert f1_at_threshold(scores, is_member, t) == pytest.approx(f1_score(is_member, scores >= t,
                                                                               zero_division=0.0))
    brute = max(f1_score(is_member, scores >= t, zero_division=0.0) for t in thresholds)
    f1, threshold = best_f1(scores, is_member)
    assert f1 == pytest.approx(brute) and threshold in set(scores.tolist())
    assert f1_at_threshold(scores, is_member, threshold) == pytest.approx(f1)


@pytest.mark.parametrize("name,scores,is_member", CASES, ids=IDS)
def test_bootstrap_auc_is_exact_with_ties_and_infinities(name, scores, is_member):
    lo, hi = bootstrap_auc(scores, is_member, n_boot=50, seed=3)
    assert np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi <= 1
    # the same resamples on the dense ranks (same order and ties) give the same interval
    assert (lo, hi) == pytest.approx(bootstrap_auc(_dense(scores), is_member, n_boot=50, seed=3))
    if np.unique(scores).size == 1:
        assert lo == hi == 0.5


def test_a_never_flipped_member_at_plus_inf_ranks_above_everything():
    is_member = np.array([True, True, False, False])
    scores = np.array([INF, 2.0, 1.0, 3.0])
    assert roc_auc(scores, is_member) == 0.75
    assert tpr_at_fpr(scores, is_member, 0.0) == 0.5
    assert f1_at_threshold(scores, is_member, INF) == pytest.approx(2 / 3)
    out = summarize(scores, is_member, n_boot=20)
    assert out["best_f1"] == pytest.approx(f1_score(is_member, scores >= out["best_f1_threshold"]))


def test_nan_scores_thresholds_and_budgets_are_clear_errors():
    is_member = np.array([True, False, True])
    for function in (roc_auc, roc_curve, best_f1, bootstrap_auc, summarize):
        with pytest.raises(ValueError, match="scores: 1 value.*NaN"):
            function(np.array([INF, np.nan, 0.0]), is_member)
    with pytest.raises(ValueError, match="NaN"):
        tpr_at_fpr(np.array([INF, np.nan, 0.0]), is_member, 0.1)
    with pytest.raises(ValueError, match="threshold is NaN"):
        f1_at_threshold(np.array([1.0, 0.0, 2.0]), is_member, np.nan)
    with pytest.raises(ValueError, match="max_fpr"):
        tpr_at_fpr(np.array([1.0, 0.0, 2.0]), is_member, np.nan)
    with pytest.raises(ValueError, match="level"):
        bootstrap_auc(np.array([1.0, 0.0, 2.0]), is_member, level=1.5)
