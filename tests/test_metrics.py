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
