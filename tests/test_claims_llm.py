"""The LLM chapter's claims on synthetic per-text frames whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims.llm import (COLUMNS, llm_claims, memorisation, mink_beats_loss, pooled_paired_auc_difference,
                                reference_beats_loss, score_matrix)
from leakage.claims.paper import paper_entry
from leakage.claims.stats import paired_auc_difference

MINK = "min-k (20%)"


def frame(per_side: int, *, shifts: dict, epochs=(1, 3), target="toy", seed=0, noise=1.0) -> pd.DataFrame:
    """Per-text scores of one target: ``shifts[attack]`` maps an epoch to the members' mean shift over
    non-members (the attack's signal); every attack shares a per-text noise term, as attacks reading the
    same model's loss do."""
    rng = np.random.default_rng(seed)
    is_member = np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]
    common = rng.normal(size=2 * per_side)
    rows = []
    for epoch in epochs:
        for attack, shift in shifts.items():
            score = common + shift(epoch) * is_member + noise * rng.normal(size=2 * per_side)
            rows.append(pd.DataFrame({"target": target, "epoch": epoch, "attack": attack,
                                      "text": np.arange(2 * per_side), "is_member": is_member, "score": score}))
    return pd.concat(rows, ignore_index=True)


def attack_vs_loss(delta: float, per_side: int, attack: str, seed: int = 0) -> pd.DataFrame:
    return frame(per_side, shifts={"loss": lambda e: 0.5, attack: lambda e: 0.5 + delta}, seed=seed)


def most_inconclusive(evidence_of_seed, draws: int = 10) -> bool:
    """At least 8 of ``draws`` synthetic data sets give 'inconclusive' (and none 'contradicted')."""
    verdicts = [evidence_of_seed(seed).verdict for seed in range(draws)]
    return verdicts.count("inconclusive") >= 0.8 * draws and "contradicted" not in verdicts


CASES = [(1.0, 200, "reproduced"),      # a clear effect
         (0.0, 200, "inconclusive"),    # no effect
         (-0.45, 200, "contradicted"),  # the opposite effect
         (0.3, 6, "inconclusive")]      # a real but small effect, too few texts


@pytest.mark.parametrize("delta, per_side, expected", CASES)
def test_reference_beats_loss(delta, per_side, expected):
    (evidence,) = reference_beats_loss(attack_vs_loss(delta, per_side, "reference (disjoint)"), n_boot=400)
    if per_side < 20:  # a percentile bootstrap of 6 texts per side covers less than 95%: judge the rate
        assert most_inconclusive(lambda seed: reference_beats_loss(
            attack_vs_loss(delta, per_side, "reference (disjoint)", seed), n_boot=400)[0])
    else:
        assert evidence.verdict == expected
    assert evidence.claim_id == "llm-reference-beats-loss" and evidence.chapter == "llm_mia"
    assert evidence.paper == paper_entry("llm-reference-beats-loss").text  # the paper column is the table's
    assert (evidence.needed != "") == (evidence.verdict == "inconclusive")
    assert evidence.n == f"{per_side} members + {per_side} non-members (texts)"


@pytest.mark.parametrize("delta, per_side, expected", CASES)
def test_mink_beats_loss(delta, per_side, expected):
    (evidence,) = mink_beats_loss(attack_vs_loss(delta, per_side, MINK), attack=MINK, n_boot=400)
    if per_side < 20:
        assert most_inconclusive(lambda seed: mink_beats_loss(attack_vs_loss(delta, per_side, MINK, seed),
                                                               attack=MINK, n_boot=400)[0])
    else:
        assert evidence.verdict == expected
    assert evidence.paper == paper_entry("llm-mink-beats-loss").text


@pytest.mark.parametrize("growth, per_side, expected", [
    (1.0, 200, "reproduced"),     # the loss gap widens with training
    (0.0, 200, "inconclusive"),   # no change
    (-0.6, 200, "contradicted"),  # weaker after more training
    (0.3, 6, "inconclusive"),     # too few texts
])
def test_memorisation(growth, per_side, expected):
    scores = frame(per_side, shifts={"loss": lambda e: 0.8 + growth * (e - 1) / 2}, epochs=(1, 2, 3))
    (evidence,) = memorisation(scores, n_boot=400)
    if per_side < 20:
        assert most_inconclusive(lambda seed: memorisation(frame(
            per_side, shifts={"loss": lambda e: 0.8 + growth * (e - 1) / 2}, epochs=(1, 2, 3), seed=seed), n_boot=400)[0])
    else:
        assert evidence.verdict == expected
    assert "epoch 3" in evidence.statistic and "epoch 1" in evidence.statistic  # last vs first attacked epoch
    assert evidence.paper == paper_entry("llm-memorisation").text


def test_memorisation_is_the_paired_bootstrap_over_the_same_texts():
    scores = frame(40, shifts={"loss": lambda e: 0.5 * e}, epochs=(1, 4))
    (evidence,) = memorisation(scores, n_boot=300, seed=3)
    _, by, is_member = score_matrix(scores, "toy", ["loss"])
    assert (evidence.effect, evidence.ci_low, evidence.ci_high) == pytest.approx(
        paired_auc_difference(by[4, "loss"], by[1, "loss"], is_member, n_boot=300, seed=3))


def test_saturated_attacks_say_so_and_leave_the_verdict_to_the_ci():
    scores = frame(50, shifts={"loss": lambda e: 20.0, "reference (disjoint)": lambda e: 20.0})
    (evidence,) = reference_beats_loss(scores, n_boot=200)
    assert evidence.effect == 0 and evidence.verdict == "inconclusive" and "saturated" in evidence.note
    (grown,) = memorisation(frame(50, shifts={"loss": lambda e: 20.0}), n_boot=200)
    assert "Saturated" in grown.note and grown.verdict == "inconclusive"


def test_a_saturated_epoch_scales_the_pooled_effect_but_not_its_verdict():
    rng = np.random.default_rng(0)
    is_member = np.r_[np.ones(60, bool), np.zeros(60, bool)]
    base = rng.normal(size=120) + 0.4 * is_member
    better = base + 0.8 * is_member + 0.3 * rng.normal(size=120)
    perfect = is_member.astype(float)
    one = pooled_paired_auc_difference([(better, base)], is_member, n_boot=300, seed=1)
    two = pooled_paired_auc_difference([(better, base), (perfect, perfect)], is_member, n_boot=300, seed=1)
    assert np.allclose(two, np.array(one) / 2)
    assert one == pytest.approx(paired_auc_difference(better, base, is_member, n_boot=300, seed=1))


def test_one_claim_per_target_and_reference_and_not_comparable_cases():
    scratch = frame(30, shifts={"loss": lambda e: 1, "reference (disjoint)": lambda e: 1, MINK: lambda e: 1},
                    epochs=(4,), target="scratch")
    pretrained = frame(30, shifts={"loss": lambda e: 1, "reference (disjoint)": lambda e: 1,
                                   "reference (base)": lambda e: 1}, target="pretrained")
    evidence = llm_claims(pd.concat([scratch, pretrained]), mink_attack=MINK, n_boot=100)
    claims = {(e.claim_id, e.claim): e.verdict for e in evidence}
    assert sum(i == "llm-reference-beats-loss" for i, _ in claims) == 3  # scratch: disjoint; pretrained: both
    assert claims["llm-mink-beats-loss", f"{MINK} beats LOSS (pretrained)"] == "not comparable"  # not run there
    assert claims["llm-memorisation", "LOSS AUC grows with training (scratch)"] == "not comparable"  # one epoch
    assert {e.chapter for e in evidence} == {"llm_mia"}


def test_the_frame_is_checked():
    scores = attack_vs_loss(0.5, 20, MINK)
    with pytest.raises(ValueError, match="lacks the columns"):
        mink_beats_loss(scores.drop(columns="text"), attack=MINK)
    with pytest.raises(ValueError, match="repeats"):
        mink_beats_loss(pd.concat([scores, scores.iloc[:1]]), attack=MINK)
    moved = scores.copy()
    moved.loc[(moved["epoch"] == 3) & (moved["text"] == 0), "is_member"] = False
    with pytest.raises(ValueError, match="not the same texts"):
        mink_beats_loss(moved, attack=MINK)
    fewer = scores[~((scores["epoch"] == 3) & (scores["attack"] == "loss") & (scores["text"] == 5))]
    with pytest.raises(ValueError, match="texts scored elsewhere"):
        mink_beats_loss(fewer, attack=MINK)
    assert list(scores.columns) == list(COLUMNS)
