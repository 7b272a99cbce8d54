"""The boundary chapter's claims on synthetic frames whose answer is known: a clear effect is reproduced, none
is inconclusive, the opposite is contradicted, too few candidates are inconclusive; the paper column is the
table's."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims import lz_boundary as lz
from leakage.claims.paper import paper_entry

MODELS = [f"M-{i}" for i in range(6)]


def membership(per_side):
    return np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]


def scores_frame(shift, per_side=150, *, l0_shift=0.0, method="HopSkipJump", dataset="digits", seed=0,
                 models=MODELS, flip_model=None):
    """Perturbations: members' L1/L2/L∞ shifted up by ``shift`` (per target), L0 by ``l0_shift``; ``flip_model``
    gets the opposite shift."""
    rng = np.random.default_rng(seed)
    rows = []
    member = membership(per_side)
    for model in models:
        s = -shift if model == flip_model else shift
        base = rng.normal(size=2 * per_side)
        for measure in lz.NORMS:
            effect = l0_shift if measure == "l0" else s
            noise = 0.3 * rng.normal(size=2 * per_side)
            rows.append(pd.DataFrame({"dataset": dataset, "model": model, "method": method, "attack_norm": "l2",
                                      "measure": measure, "candidate": np.arange(2 * per_side), "is_member": member,
                                      "score": 2.0 + base + noise + effect * member}))
    return pd.concat(rows, ignore_index=True)


def verdict_parametrize():
    return pytest.mark.parametrize("shift, per_side, expected", [
        (1.5, 150, "reproduced"), (0.0, 150, "inconclusive"), (-1.5, 150, "contradicted"), (1.5, 1, "inconclusive")])


@verdict_parametrize()
def test_perturbation_larger_on_every_target(shift, per_side, expected):
    evidence = lz.perturbation_larger(scores_frame(shift, per_side), "digits", n_boot=300)
    assert evidence.verdict == expected
    assert evidence.paper == paper_entry("lz-fig7-perturbation").text
    assert (evidence.needed != "") == (expected == "inconclusive")


def test_one_opposite_target_contradicts_an_every_target_claim_and_qeba_has_its_own_row():
    evidence = lz.perturbation_larger(scores_frame(1.5, flip_model="M-3"), "digits", n_boot=300)
    assert evidence.verdict == "contradicted" and "M-3" in evidence.ours
    qeba = lz.perturbation_larger(scores_frame(1.5, method="QEBA"), "digits", "QEBA", n_boot=300)
    assert qeba.claim_id == "lz-fig14-perturbation" and qeba.verdict == "reproduced"
    assert lz.perturbation_larger(scores_frame(1.5), "cifar10", n_boot=100).verdict == "not comparable"


@verdict_parametrize()
def test_norms_beat_l0(shift, per_side, expected):
    # L1 / L2 / L∞ carry the membership signal ``shift`` above L0's (L0 has none)
    evidence = lz.norms_beat_l0(scores_frame(shift, per_side), "digits", n_boot=300)
    assert evidence.verdict == expected
    assert evidence.paper == paper_entry("lz-fig8-norms").text


def test_published_numbers_are_equivalence_tests_and_other_data_is_not_comparable():
    frame = scores_frame(1.0, 200, dataset="cifar10")
    value = paper_entry("lz-fig7-m5-member").value
    members = frame.is_member & (frame.measure == "l2") & (frame.model == "M-5")
    rng = np.random.default_rng(3)
    frame.loc[members, "score"] = value + 0.01 * rng.normal(size=members.sum())
    assert lz.m5_mean_perturbation(frame, "cifar10", n_boot=300).verdict == "reproduced"
    frame.loc[members, "score"] = value + 0.5
    assert lz.m5_mean_perturbation(frame, "cifar10", n_boot=300).verdict == "contradicted"
    other = lz.m5_mean_perturbation(frame.assign(dataset="digits"), "digits", n_boot=300)
    assert other.verdict == "not comparable" and "cifar10" in other.note
    assert lz.m1_l2_auc(frame.assign(dataset="digits"), "digits", n_boot=100).verdict == "not comparable"


def curve_frame(rise, late_gain, per_side=200, budget=600, seed=0):
    """M-5 scores at checkpoints 0, 1, 10, 100 (= budget / 6), 131, 300, 600: the membership shift grows by
    ``rise`` up to a sixth of the budget, then by ``late_gain`` to the end."""
    rng = np.random.default_rng(seed)
    member = membership(per_side)
    base = rng.normal(size=2 * per_side)
    rows = []
    for q in (0, 1, 10, 100, 131, 300, budget):
        shift = 0.2 + (rise * min(q, 100) / 100) + (late_gain * max(q - 100, 0) / (budget - 100))
        rows.append(pd.DataFrame({"dataset": "digits", "model": "M-5", "method": "HopSkipJump", "attack_norm": "l2",
                                  "queries": q, "candidate": np.arange(2 * per_side), "is_member": member,
                                  "score": base + 0.2 * rng.normal(size=2 * per_side) + shift * member}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("late_gain, per_side, expected", [
    (0.0, 200, "reproduced"),      # flat after a sixth of the budget
    (3.0, 200, "contradicted"),    # still rising a lot
    (0.0, 1, "inconclusive"),      # too few candidates for a CI
])
def test_plateau(late_gain, per_side, expected):
    evidence = lz.queries_plateau(curve_frame(1.0, late_gain, per_side), "digits", n_boot=300)
    assert evidence.verdict == expected and evidence.direction == -1


@pytest.mark.parametrize("rise, expected", [(1.5, "reproduced"), (0.0, "inconclusive"), (-1.5, "contradicted")])
def test_rise(rise, expected):
    assert lz.queries_rise(curve_frame(rise, 0.0), "digits", n_boot=300).verdict == expected


def test_auc_at_131_queries_uses_the_data_sets_own_row():
    frame = curve_frame(1.0, 0.0)
    assert lz.auc_at_quoted_queries(frame, "digits", n_boot=100).verdict == "not comparable"
    cifar100 = lz.auc_at_quoted_queries(frame.assign(dataset="cifar100"), "cifar100", n_boot=100)
    assert cifar100.claim_id == "lz-fig9-m5-131-cifar100"
    assert cifar100.paper == paper_entry("lz-fig9-m5-131-cifar100").text
    assert cifar100.verdict in ("reproduced", "inconclusive", "contradicted")


def compare_frame(boundary_gap, per_side=200, best_only=False, seed=0):
    """Score-based attack with membership shift 1.5; the boundary attack's shift differs by ``boundary_gap``
    (on every target, or on M-5 alone with the others far below)."""
    rng = np.random.default_rng(seed)
    member = membership(per_side)
    rows = []
    for model in MODELS:
        gap = boundary_gap if (not best_only or model == "M-5") else -1.4
        base = rng.normal(size=2 * per_side)
        for attack, shift in (("score-based", 1.5), ("boundary", 1.5 + gap)):
            rows.append(pd.DataFrame({"dataset": "digits", "model": model, "attack": attack,
                                      "candidate": np.arange(2 * per_side), "is_member": member,
                                      "score": base + 0.5 * rng.normal(size=2 * per_side) + shift * member}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("gap, per_side, best_only, expected", [
    (0.5, 200, False, "reproduced"),
    (0.5, 200, True, "reproduced"),       # "in some cases": one target suffices
    (-1.4, 200, False, "contradicted"),   # far below on every target
    (0.0, 1, False, "inconclusive"),      # too few candidates for a CI
])
def test_boundary_vs_score(gap, per_side, best_only, expected):
    evidence = lz.boundary_vs_score(compare_frame(gap, per_side, best_only), "digits", n_boot=400)
    assert evidence.verdict == expected
    if best_only:
        assert "M-5" in evidence.ours


def threshold_frames(shift, per_side=200, seed=0):
    """Candidates of M-5 (members shifted by ``shift``) and random inputs like the non-members."""
    rng = np.random.default_rng(seed)
    scores = scores_frame(shift, per_side, models=["M-5"], seed=seed)
    reference = pd.DataFrame({"dataset": "digits", "model": "M-5", "sample": np.arange(100),
                              "l2": 2.0 + rng.normal(size=100), "flipped": True})
    return scores, reference


@pytest.mark.parametrize("shift, per_side, expected", [
    (4.0, 200, "reproduced"),      # members far above the random inputs: F1 near 1 on the whole band
    (-3.0, 200, "contradicted"),   # members below: F1 far under flagging everyone
    (4.0, 1, "inconclusive"),      # too few candidates
])
def test_threshold_band(shift, per_side, expected):
    scores, reference = threshold_frames(shift, per_side)
    evidence = lz.threshold_band(scores, reference, "digits", n_boot=300)
    assert evidence.verdict == expected


def radii_frame(gaps, per_side=150, certified="target", seed=0):
    rng = np.random.default_rng(seed)
    member = membership(per_side)
    return pd.concat([pd.DataFrame({"dataset": "digits", "model": f"M-{i}", "certified": certified,
                                    "candidate": np.arange(2 * per_side), "is_member": member,
                                    "radius": np.clip(0.3 + 0.1 * rng.normal(size=2 * per_side) + gap * member, 0,
                                                      None)})
                      for i, gap in enumerate(gaps)], ignore_index=True)


@pytest.mark.parametrize("gap, per_side, expected", [
    (0.1, 150, "reproduced"), (0.0, 150, "inconclusive"), (-0.1, 150, "contradicted"), (0.1, 1, "inconclusive")])
def test_acr_larger(gap, per_side, expected):
    assert lz.acr_larger(radii_frame([gap] * 6, per_side), "digits", n_boot=300).verdict == expected
    shadow = lz.acr_larger(radii_frame([gap] * 6, per_side, "shadow"), "digits", "shadow", n_boot=300)
    assert shadow.claim_id == "lz-tab5-acr" and shadow.verdict == expected


@pytest.mark.parametrize("gaps, expected", [
    ([0.0, 0.04, 0.08, 0.12, 0.16, 0.2], "reproduced"),
    ([0.05] * 6, "inconclusive"),
    ([0.2, 0.16, 0.12, 0.08, 0.04, 0.0], "contradicted"),
])
def test_acr_gap_trend(gaps, expected):
    evidence = lz.acr_gap_trend(radii_frame(gaps), "digits", n_boot=300)
    assert evidence.verdict == expected and evidence.unit == "targets"


def test_m5_acr_rows_and_too_few_targets_for_a_trend():
    frame = radii_frame([0.1] * 6)
    assert lz.m5_acr(frame, "digits", "shadow", "non-member", n_boot=100).claim_id == "lz-tab5-m5-shadow-non-member"
    assert lz.m5_acr(frame, "digits", n_boot=100).verdict == "not comparable"
    two = frame[frame.model.isin(["M-0", "M-1"])]
    assert lz.acr_gap_trend(two, "digits", n_boot=100).verdict == "not comparable"


def test_chapter_claims_cover_every_claim_once_per_data_set():
    scores = pd.concat([scores_frame(1.0, 30), scores_frame(1.0, 30, method="QEBA")], ignore_index=True)
    curve = curve_frame(1.0, 0.0, 30)
    compare = compare_frame(0.2, 30)
    _, reference = threshold_frames(1.0, 30)
    evidence = lz.chapter_claims(scores=scores, curve=curve, compare=compare, reference=reference,
                                 radii=pd.concat([radii_frame([0.1] * 6, 30), radii_frame([0.1] * 6, 30, "shadow")]),
                                 n_boot=100)
    ids = [e.claim_id for e in evidence]
    assert len(ids) == len(set(ids)) == 19
    assert all(e.chapter == "lz_boundary" for e in evidence)
    for e in evidence:
        assert e.paper == paper_entry(e.claim_id).text
