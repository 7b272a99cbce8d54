"""The VP chapter's claims on synthetic frames whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims import Evidence
from leakage.claims.paper import paper_entry
from leakage.claims.vp import (CHAPTER, F1_MARGIN, NEAR_ONE, RANDOM_TOLERANCE, logits_loss_lead, mia_near_one,
                               nmid_below_goal, nmid_near_chance, nmid_utility, strongest_setting, vp_claims)

MODELS = ("BiLSTM", "BiGRU")


def shift_for(auc: float) -> float:
    """Members ~ N(shift, 1) vs non-members ~ N(0, 1) have AUC Phi(shift / sqrt(2))."""
    from scipy.stats import norm

    return float(np.sqrt(2) * norm.ppf(auc))


def scores(cells: dict, per_side: int = 300, seed: int = 0) -> pd.DataFrame:
    """A scores frame: ``cells`` maps (model, level, sigma, features) to the true AUC of that attack; every
    attack scores the same functions (members first)."""
    rng = np.random.default_rng(seed)
    is_member = np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]
    rows = []
    for (model, level, sigma, features), auc in cells.items():
        score = rng.normal(size=2 * per_side) + shift_for(auc) * is_member
        rows.append(pd.DataFrame({"model": model, "classifier": "mlp", "level": level, "sigma": sigma,
                                  "features": features, "function": np.arange(2 * per_side),
                                  "is_member": is_member, "score": score}))
    return pd.concat(rows, ignore_index=True)


def undefended(aucs: dict) -> dict:
    """Cells of the undefended attack: ``aucs`` maps feature set to AUC (the same for every model)."""
    return {(m, "none", 0.0, f): a for m in MODELS for f, a in aucs.items()}


def strongest(auc: float, sigma: float = 10.0) -> dict:
    """Cells of the NMID sweep: a mild setting (coarse-0) and the strongest (top1 at ``sigma``)."""
    cells = {}
    for m in MODELS:
        for f in ("logits+loss+confidence", "all"):
            cells[m, "coarse", 0.0, f] = 0.8
            cells[m, "top1", sigma, f] = auc
    return cells


@pytest.mark.parametrize("auc, per_side, expected", [
    (0.99, 300, "reproduced"),
    (NEAR_ONE, 300, "inconclusive"),
    (0.75, 300, "contradicted"),
    (0.93, 6, "inconclusive"),
])
def test_near_one(auc, per_side, expected):
    frame = scores(undefended({"logits": auc, "loss": auc - 0.02, "confidence": 0.6}), per_side)
    evidence = mia_near_one(frame, n_boot=400)
    assert isinstance(evidence, Evidence) and evidence.chapter == CHAPTER
    assert evidence.verdict == expected, evidence
    assert (evidence.needed != "") == (expected == "inconclusive")
    assert evidence.paper == paper_entry("vp-mia-near-one").text  # the paper column is the table's
    assert evidence.null == NEAR_ONE and set(evidence.extra["best_auc"]) == set(MODELS)


def test_near_one_takes_the_worst_model():
    cells = undefended({"logits": 0.99, "loss": 0.98})
    cells["BiGRU", "none", 0.0, "logits"] = cells["BiGRU", "none", 0.0, "loss"] = 0.7
    assert mia_near_one(scores(cells), n_boot=300).verdict == "contradicted"


@pytest.mark.parametrize("lead, other, per_side, expected", [
    (0.9, 0.7, 300, "reproduced"),
    (0.8, 0.8, 300, "inconclusive"),
    (0.65, 0.9, 300, "contradicted"),
    (0.75, 0.7, 8, "inconclusive"),
])
def test_logits_or_loss_lead(lead, other, per_side, expected):
    frame = scores(undefended({"logits": lead, "loss": lead - 0.05, "embedding": other, "confidence": other - 0.05,
                               "all": 0.95}), per_side)
    evidence = logits_loss_lead(frame, n_boot=400)
    assert evidence.verdict == expected, evidence
    assert evidence.paper == paper_entry("vp-mia-logits-loss").text
    assert (evidence.needed != "") == (expected == "inconclusive")


def test_logits_or_loss_without_the_other_features_is_not_comparable():
    evidence = logits_loss_lead(scores(undefended({"logits": 0.9, "all": 0.95})), n_boot=100)
    assert evidence.verdict == "not comparable" and evidence.note


@pytest.mark.parametrize("auc, per_side, expected", [
    (0.52, 300, "reproduced"),
    (paper_entry("vp-nmid-tradeoff").value, 300, "inconclusive"),
    (0.85, 300, "contradicted"),
    (0.6, 6, "inconclusive"),
])
def test_nmid_below_the_papers_goal(auc, per_side, expected):
    frame = scores({**undefended({"logits": 0.95}), **strongest(auc)}, per_side)
    evidence = nmid_below_goal(frame, n_boot=400)
    assert evidence.verdict == expected, evidence
    assert evidence.null == paper_entry("vp-nmid-tradeoff").value == 0.65 and evidence.direction == -1
    assert evidence.extra["setting"] == ("top1", 10.0) and "top1-10" in evidence.statistic


@pytest.mark.parametrize("auc, per_side, expected", [
    (0.5, 2000, "reproduced"),
    (0.5 + RANDOM_TOLERANCE, 300, "inconclusive"),
    (0.8, 300, "contradicted"),
    (0.5, 6, "inconclusive"),
])
def test_nmid_near_chance(auc, per_side, expected):
    evidence = nmid_near_chance(scores({**undefended({"logits": 0.95}), **strongest(auc)}, per_side), n_boot=400)
    assert evidence.verdict == expected, evidence
    assert evidence.paper == paper_entry("vp-nmid-strongest").text and f"±{RANDOM_TOLERANCE:g}" in evidence.note


def test_without_noise_the_strongest_setting_is_not_comparable():
    frame = scores({**undefended({"logits": 0.95}), **strongest(0.5, sigma=0.0)})
    assert strongest_setting(frame) is None
    assert nmid_below_goal(frame).verdict == nmid_near_chance(frame).verdict == "not comparable"
    assert strongest_setting(pd.DataFrame({"level": ["label", "coarse", "top1"], "sigma": [10.0, 5.0, 0.0]})) == \
        ("coarse", 5.0)


def predictions(flip: float, n: int = 400, seed: int = 0, sigma: float = 10.0) -> pd.DataFrame:
    """Held-out predictions: the model is right on 85%; the defended release flips a ``flip`` share of its
    correct vulnerable predictions."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in MODELS:
        label = np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]
        undefended = np.where(rng.random(n) < 0.85, label, 1 - label)
        defended = np.where((undefended == 1) & (label == 1) & (rng.random(n) < flip), 0, undefended)
        rows.append(pd.DataFrame({"model": model, "level": "top1", "sigma": sigma, "function": np.arange(n),
                                  "label": label, "undefended": undefended, "defended": defended}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("flip, n, expected", [
    (0.0, 400, "reproduced"),     # the label is kept: no drop at all
    (0.025, 400, "inconclusive"),  # a drop near the margin
    (0.3, 400, "contradicted"),
    (0.03, 20, "inconclusive"),
])
def test_nmid_utility(flip, n, expected):
    evidence = nmid_utility(predictions(flip, n), n_boot=400)
    assert evidence.verdict == expected, evidence
    assert evidence.null == F1_MARGIN and evidence.unit == "held-out functions"
    assert evidence.paper == paper_entry("vp-nmid-utility").text


def test_misaligned_frames_are_clear_errors():
    frame = scores(undefended({"logits": 0.9, "loss": 0.9}))
    with pytest.raises(ValueError, match="same functions"):
        mia_near_one(frame.drop(index=frame.index[:3]), n_boot=50)
    with pytest.raises(ValueError, match="lacks the columns"):
        mia_near_one(frame.drop(columns="classifier"))


def test_all_claims_record(tmp_path, monkeypatch):
    from leakage.claims import load_evidence, record_evidence

    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path))
    frame = scores({**undefended({"logits": 0.97, "loss": 0.96, "embedding": 0.8, "confidence": 0.85}),
                    **strongest(0.55)}, per_side=200)
    evidence = vp_claims(frame, predictions(0.0), n_boot=200)
    assert [e.claim_id for e in evidence] == ["vp-mia-near-one", "vp-mia-logits-loss", "vp-nmid-tradeoff",
                                              "vp-nmid-utility", "vp-nmid-strongest"]
    record_evidence("smoke", CHAPTER, evidence)
    back = load_evidence("smoke")
    assert list(back.claim_id) == [e.claim_id for e in evidence]
    assert list(back.verdict[:4]) == ["reproduced"] * 4


def test_scores_frame_numbers_functions_as_the_artefact_does():
    from leakage.experiments.vp import VPAttackRunConfig, scores_frame

    config = VPAttackRunConfig(feature_sets=("logits", "all"))
    result = {"is_member": np.array([True, True, False]), "scores_0": np.array([0.9, 0.8, 0.1]),
              "scores_1": np.array([0.5, 0.6, 0.4])}
    frame = scores_frame(config, result)
    assert list(frame.features) == ["logits"] * 3 + ["all"] * 3 and list(frame.function) == [0, 1, 2] * 2
    assert list(frame.score[frame.features == "all"]) == [0.5, 0.6, 0.4] and frame.is_member.sum() == 4
