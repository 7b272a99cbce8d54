"""The ladder's claims (leakage.claims.lz_ladder): the batched TPR of every resample is the metric's, and the verdicts
follow from the CIs on frames with known effects."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims.lz_ladder import (SCORE_COLUMNS, allowed_false_positives, chapter_claims, label_only_vs_score_based,
                                      resampled_tprs, rmia_vs_lira)
from leakage.claims.stats import stratified_resamples
from leakage.metrics import tpr_at_fpr


def test_allowed_false_positives_matches_the_metrics_rule():
    assert allowed_false_positives(100, 0.01) == 1 and allowed_false_positives(99, 0.01) == 0
    assert allowed_false_positives(1000, 0.001) == 1 and allowed_false_positives(10, 1.0) == 10
    with pytest.raises(ValueError, match="at least one non-member"):
        allowed_false_positives(0, 0.01)


@pytest.mark.parametrize("fpr", [0.0, 0.001, 0.01, 0.1, 0.5, 1.0])
def test_resampled_tprs_are_the_metric_on_each_resample(fpr):
    rng = np.random.default_rng(1)
    is_member = np.r_[np.ones(40, bool), np.zeros(150, bool)]
    scores = np.round(rng.normal(is_member * 1.0, 1.0), 1)  # ties
    scores[[3, 60]] = np.inf
    scores[[5, 70]] = -np.inf
    sample, labels = stratified_resamples(is_member, 30, rng)
    batched = resampled_tprs(scores, sample, labels, fpr)
    assert batched.tolist() == [tpr_at_fpr(scores[s], labels, fpr) for s in sample]


def frame(targets: dict[str, dict[str, np.ndarray]], is_member: np.ndarray) -> pd.DataFrame:
    """The scores frame of targets -> attack -> scores (label-only attacks named 'lo-*')."""
    rows = [pd.DataFrame({"dataset": "toy", "model": model, "threat": "label-only" if attack.startswith("lo") else
                          "score-based", "attack": attack, "candidate": np.arange(len(is_member)),
                          "is_member": is_member, "score": values})
            for model, attacks in targets.items() for attack, values in attacks.items()]
    return pd.concat(rows, ignore_index=True)[list(SCORE_COLUMNS)]


def test_verdicts_follow_the_intervals():
    rng = np.random.default_rng(0)
    n = 2000
    is_member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    strong = rng.normal(is_member * 2.0, 1.0)
    weak = rng.normal(is_member * 0.3, 1.0)
    # label-only: a coarse score (few distinct values) as good as the score-based one in AUC, but its top is
    # shared by members and non-members alike, so it finds no member without false positives
    coarse = np.clip(np.round(strong), -1, 2)
    scores = frame({"M-2": {"lo-coarse": coarse, "RMIA": strong, "LiRA": strong + rng.normal(0, 0.05, 2 * n)},
                    "M-5": {"lo-coarse": coarse, "RMIA": strong, "LiRA": weak}}, is_member)
    rmia = rmia_vs_lira(scores, "toy", reference_models=4, n_boot=200)
    assert rmia.verdict == "reproduced" and abs(rmia.effect) < 0.02  # shown on M-2, the weakest target
    worse = rmia_vs_lira(frame({"M-0": {"RMIA": weak, "LiRA": strong}}, is_member), "toy", reference_models=4,
                         n_boot=200)
    assert worse.verdict == "contradicted" and worse.effect < -0.05
    auc = label_only_vs_score_based(scores, "toy", name="auc", n_boot=200)
    assert "M-5" in auc.claim and abs(auc.effect) < 0.05
    low = label_only_vs_score_based(scores, "toy", name="tpr_at_0.1pct_fpr", n_boot=200)
    assert low.verdict == "reproduced" and low.effect < -0.05 and low.direction == -1
    assert [e.claim_id for e in chapter_claims(scores, reference_models=4, n_boot=50)] == [
        "ladder-rmia-vs-lira", "ladder-rmia-vs-lira-tpr", "ladder-label-only-auc", "ladder-label-only-lowfpr"]


def test_missing_attacks_and_too_few_candidates_are_said_so():
    is_member = np.array([True, False, False])
    scores = frame({"M-5": {"lo-a": np.array([1.0, 0.0, 0.5]), "RMIA": np.array([1.0, 0.0, 0.2]),
                            "LiRA": np.array([0.9, 0.1, 0.3])}}, is_member)
    assert rmia_vs_lira(scores, "toy", reference_models=2, n_boot=10).verdict == "inconclusive"
    only_label = scores[scores.threat == "label-only"]
    assert label_only_vs_score_based(only_label, "toy", n_boot=10).verdict == "not comparable"
    assert rmia_vs_lira(only_label, "toy", reference_models=2, n_boot=10).verdict == "not comparable"
    with pytest.raises(ValueError, match="lacks the columns"):
        rmia_vs_lira(scores.drop(columns="threat"), "toy", reference_models=2)
