"""Li & Zhang chapters' claims (targets, transfer, defences) on synthetic frames whose answer is known."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims.lz_defences import (LARGE_DROP, UNCHANGED_BAND, augmentation_does_not_cut, defence_claims,
                                        memguard_chance, memguard_label_only_unchanged, memguard_published,
                                        strong_defences_cost, strong_defences_cut, strongest)
from leakage.claims.lz_targets import overfitting_grows
from leakage.claims.lz_transfer import (ON_PAR_MARGIN, ace_larger_for_members, loss_is_best, m5_published,
                                        paired_aucs, shadow_size_helps, transfer_claims, transfer_on_par,
                                        transfer_trend)
from leakage.claims.paper import paper_entry

N_BOOT = 300


def cells(shifts: dict, per_side: int, seed: int, own_noise: float = 0.5) -> tuple[dict, np.ndarray, np.ndarray]:
    """Scores of several attacks on the same candidates: a shared latent N(0, 1) per candidate, plus
    ``shift`` for members, plus ``own_noise`` N(0, 1) per attack. Returns ({label: scores}, candidate ids,
    is_member)."""
    rng = np.random.default_rng(seed)
    is_member = np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]
    latent = rng.normal(size=2 * per_side)
    ids = rng.permutation(10 * per_side)[:2 * per_side]  # data set indices, not positions
    return ({k: s * is_member + latent + own_noise * rng.normal(size=2 * per_side) for k, s in shifts.items()},
            ids, is_member)


def rows(scores: np.ndarray, ids: np.ndarray, is_member: np.ndarray, **keys) -> pd.DataFrame:
    return pd.DataFrame({**keys, "candidate": ids, "is_member": is_member, "score": scores})


def check(evidence, claim_id: str, verdict: str):
    assert evidence.claim_id == claim_id and evidence.verdict == verdict, (evidence.verdict, evidence.ours)
    assert evidence.paper == paper_entry(claim_id).text  # the paper column is the table's
    assert (evidence.needed != "") == (verdict == "inconclusive")


# --------------------------------------------------------------------------- lz_targets


@pytest.mark.parametrize("gaps, expected", [
    ([0.05, 0.1, 0.2, 0.3, 0.45, 0.6], "reproduced"),
    ([0.2, 0.1, 0.25, 0.15, 0.2, 0.18], "inconclusive"),
    ([0.6, 0.45, 0.3, 0.2, 0.1, 0.05], "contradicted"),
])
def test_overfitting_trend(gaps, expected):
    frame = pd.DataFrame({"dataset": "d", "model": [f"M-{i}" for i in range(6)], "gap": gaps})
    (evidence,) = overfitting_grows(frame, n_boot=N_BOOT)
    check(evidence, "lz-targets-overfit", expected)
    assert evidence.unit == "targets"


def test_overfitting_per_dataset_and_too_few_targets():
    frame = pd.DataFrame({"dataset": ["a"] * 6 + ["b"] * 2, "model": [f"M-{i}" for i in range(6)] + ["M-0", "M-1"],
                          "gap": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.1, 0.2]})
    first, second = overfitting_grows(frame, n_boot=N_BOOT)
    assert "(a)" in first.claim and first.verdict == "reproduced"
    assert second.verdict == "not comparable" and "needs 3" in second.note
    with pytest.raises(ValueError, match="M-0"):
        overfitting_grows(frame.assign(model="model zero"))


# --------------------------------------------------------------------------- lz_transfer


def transfer_frame(per_side: int, transfer_shift, baseline_shift=0.6, *, dataset="digits", targets=6,
                   stats=None) -> pd.DataFrame:
    """lz-scores of ``targets`` targets; shifts may be a number or a function of the model index."""
    frames = []
    for i in range(targets):
        shift = lambda s: s(i) if callable(s) else s  # noqa: E731
        wanted = {("transfer", "loss, lowest"): shift(transfer_shift), ("baseline", "-"): shift(baseline_shift)}
        for stat, s in (stats or {}).items():
            wanted["transfer", f"{stat}, keep"] = shift(s)
        scores, ids, is_member = cells(wanted, per_side, seed=i)
        frames += [rows(v, ids, is_member, dataset=dataset, model=f"M-{i}", attack=a, variant=var)
                   for (a, var), v in scores.items()]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("transfer_shift, per_side, expected", [
    (1.5, 200, "reproduced"),      # transfer clearly stronger on every target
    (0.6, 1000, "reproduced"),     # equal: within the on-par margin, with 1000 a side
    (-1.0, 200, "contradicted"),   # transfer far weaker everywhere
    (0.6, 6, "inconclusive"),      # equal, but too few candidates to tell
])
def test_transfer_on_par_on_the_worst_target(transfer_shift, per_side, expected):
    (evidence,) = transfer_on_par(transfer_frame(per_side, transfer_shift), n_boot=N_BOOT)
    check(evidence, "lz-fig2-transfer-vs-baseline", expected)
    assert evidence.null == -ON_PAR_MARGIN and "on every target" in evidence.claim
    assert len(evidence.extra["per_target"]) == 6


def test_one_weak_target_decides_the_on_par_claim():
    frame = transfer_frame(200, lambda i: -1.0 if i == 3 else 1.5)
    (evidence,) = transfer_on_par(frame, n_boot=N_BOOT)
    assert evidence.verdict == "contradicted" and "M-3" in evidence.claim and evidence.effect < -0.2


@pytest.mark.parametrize("shift, per_side, expected", [
    (lambda i: 0.2 + 0.3 * i, 150, "reproduced"),
    (lambda i: 0.8, 150, "inconclusive"),
    (lambda i: 1.7 - 0.3 * i, 150, "contradicted"),
])
def test_transfer_trend(shift, per_side, expected):
    (evidence,) = transfer_trend(transfer_frame(per_side, shift), n_boot=N_BOOT)
    check(evidence, "lz-fig2-trend", expected)


def test_the_published_m5_numbers_are_compared_on_cifar10_only():
    # AUC = Phi(shift / sqrt(2 * 1.25)) (latent + own noise): 2.4 -> 0.936, 1.4 -> 0.812, the paper's 0.94, 0.815
    frame = transfer_frame(2000, 2.4, baseline_shift=1.4, dataset="cifar10", targets=6)
    transfer, baseline = m5_published(frame, n_boot=N_BOOT)
    assert transfer.claim_id == "lz-fig2-m5-transfer" and baseline.claim_id == "lz-fig2-m5-baseline"
    check(transfer, "lz-fig2-m5-transfer", "reproduced")
    check(baseline, "lz-fig2-m5-baseline", "reproduced")
    assert transfer.note.startswith("tolerance")
    other = m5_published(transfer_frame(50, 2.4), n_boot=N_BOOT)
    assert [e.verdict for e in other] == ["not comparable"] * 2 and "digits, not cifar10" in other[0].note
    far = m5_published(transfer_frame(2000, 0.0, baseline_shift=0.0, dataset="cifar10"), n_boot=N_BOOT)
    assert [e.verdict for e in far] == ["contradicted", "contradicted"]  # AUC about 0.5


def grid_frame(gain: float, per_side: int) -> pd.DataFrame:
    frames = []
    for w, width in enumerate((4, 8, 16)):
        scores, ids, is_member = cells({s: 0.5 + gain * k for k, s in enumerate((300, 700, 1400))}, per_side, seed=w)
        frames += [rows(v, ids, is_member, dataset="digits", model="M-0", shadow_width=width, shadow_size=s)
                   for s, v in scores.items()]
    # the grid scores one target's candidates: make the ids the same in every width
    frames = [f.assign(candidate=np.arange(len(f))) for f in frames]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("gain, per_side, expected", [
    (0.5, 200, "reproduced"), (0.0, 200, "inconclusive"), (-0.5, 200, "contradicted"), (0.1, 5, "inconclusive")])
def test_shadow_size(gain, per_side, expected):
    check(shadow_size_helps(grid_frame(gain, per_side), n_boot=N_BOOT), "lz-fig3-shadow-size", expected)


def test_shadow_size_with_one_size_is_not_comparable():
    frame = grid_frame(0.5, 20)
    evidence = shadow_size_helps(frame[frame.shadow_size == 300], n_boot=N_BOOT)
    assert evidence.verdict == "not comparable"


@pytest.mark.parametrize("case, per_side, expected", [
    ("clear", 200, "reproduced"), ("identical", 200, "inconclusive"), ("opposite", 200, "contradicted"),
    ("small", 5, "inconclusive")])
def test_loss_is_best(case, per_side, expected):
    loss = {"clear": 1.8, "identical": 0.8, "opposite": 0.0, "small": 1.0}[case]
    frame = transfer_frame(per_side, 1.0, stats={"loss": loss, "max_confidence": 0.8, "entropy": 0.8})
    if case == "identical":  # the three statistics rank the candidates alike: a difference of exactly 0
        loss_scores = frame.loc[frame.variant == "loss, keep", "score"].to_numpy()
        for other in ("max_confidence, keep", "entropy, keep"):
            frame.loc[frame.variant == other, "score"] = loss_scores
    (evidence,) = loss_is_best(frame, n_boot=N_BOOT)
    check(evidence, "lz-fig5-loss-best", expected)


@pytest.mark.parametrize("shift, per_side, expected", [
    (1.0, 200, "reproduced"), (0.0, 200, "inconclusive"), (-1.0, 200, "contradicted"), (0.5, 4, "inconclusive")])
def test_ace(shift, per_side, expected):
    rng = np.random.default_rng(0)
    is_member = np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]
    frame = pd.DataFrame({"dataset": "digits", "model": "M-0", "candidate": np.arange(2 * per_side),
                          "is_member": is_member, "ace": 3 + shift * is_member + rng.normal(size=2 * per_side)})
    (evidence,) = ace_larger_for_members(frame, n_boot=N_BOOT)
    check(evidence, "lz-tab2-ace", expected)


def test_paired_comparisons_need_the_same_candidates():
    scores, ids, is_member = cells({"a": 1.0, "b": 0.5}, 30, seed=0)
    a, b = rows(scores["a"], ids, is_member), rows(scores["b"], ids, is_member)
    rng = np.random.default_rng(0)
    point, boot, members, non = paired_aucs([a, b], n_boot=50, rng=rng)
    assert boot.shape == (50, 2) and (members, non) == (30, 30)
    shuffled = b.sample(frac=1, random_state=0)  # order does not matter, candidate ids do
    assert np.allclose(paired_aucs([a, shuffled], n_boot=50, rng=np.random.default_rng(0))[0], point)
    with pytest.raises(ValueError, match="same candidates"):
        paired_aucs([a, b.assign(candidate=b.candidate + 10 ** 6)], n_boot=50, rng=rng)
    with pytest.raises(ValueError, match="member in one cell"):
        paired_aucs([a, b.assign(is_member=~b.is_member)], n_boot=50, rng=rng)


def test_transfer_claims_in_order():
    frame = transfer_frame(40, 1.2, stats={"loss": 1.2, "max_confidence": 0.8, "entropy": 0.8})
    ace = pd.DataFrame({"dataset": "digits", "model": "M-0", "candidate": range(20), "is_member": [True, False] * 10,
                        "ace": np.arange(20.0)})
    evidence = transfer_claims(frame, grid_frame(0.3, 30), ace, n_boot=100)
    assert [e.claim_id for e in evidence] == ["lz-fig2-transfer-vs-baseline", "lz-fig2-trend", "lz-fig2-m5-transfer",
                                              "lz-fig2-m5-baseline", "lz-fig3-shadow-size", "lz-fig5-loss-best",
                                              "lz-tab2-ace"]
    assert {e.chapter for e in evidence} == {"lz_transfer"}


# --------------------------------------------------------------------------- lz_defences


def defence_frame(per_side: int, shifts: dict, attacks=("baseline", "transfer", "boundary")) -> pd.DataFrame:
    """lz-fig13-scores: ``shifts`` maps (defence, strength) -> member shift of every label-only attack."""
    frames = []
    for k, attack in enumerate(attacks):
        scores, ids, is_member = cells(shifts, per_side, seed=10 + k)
        frames += [rows(v, ids, is_member, dataset="digits", model="M-2", defence=d, strength=s, attack=attack)
                   for (d, s), v in scores.items()]
    return pd.concat(frames, ignore_index=True)


UNDEF = ("none", "-")


@pytest.mark.parametrize("defended, per_side, expected", [
    (0.0, 200, "reproduced"), (1.2, 200, "inconclusive"), (2.5, 200, "contradicted"), (0.9, 5, "inconclusive")])
def test_strong_defences_cut_leakage(defended, per_side, expected):
    shifts = {UNDEF: 1.2, ("L2", "0.01"): 1.2, ("L2", "0.1"): defended, ("L1", "0.005"): defended,
              ("DP-SGD", "noise 1.1"): defended, ("dropout", "0.5"): 1.2}
    (evidence,) = strong_defences_cut(defence_frame(per_side, shifts), n_boot=N_BOOT)
    check(evidence, "lz-fig13-strong-defences", expected)
    assert "L2 0.1" in evidence.claim and "L2 0.01" not in evidence.claim and "DP-SGD noise 1.1" in evidence.claim


def test_strongest_setting_of_each_defence():
    frame = pd.DataFrame({"defence": ["L2", "L2", "DP-SGD", "DP-SGD", "DP-SGD", "none", "augmentation"],
                          "strength": ["0.01", "0.1", "eps 8", "eps 1", "noise 0.5", "-", "flip_crop"]})
    assert strongest(frame, "L2") == "0.1" and strongest(frame, "DP-SGD") == "noise 0.5"
    assert strongest(frame[frame.strength != "noise 0.5"], "DP-SGD") == "eps 1"
    assert strongest(frame, "L1") is None and strongest(frame, "none") == "-"


def accuracy_frame(n: int, undefended: float, defended: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = [pd.DataFrame({"dataset": "digits", "model": "M-2", "defence": d, "strength": s, "example": np.arange(n),
                            "correct": rng.random(n) < p})
              for (d, s), p in {UNDEF: undefended, ("L2", "0.1"): defended, ("DP-SGD", "noise 1.1"): defended}.items()]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("defended, n, expected", [
    (0.5, 1000, "reproduced"), (0.85, 1000, "inconclusive"), (0.9, 1000, "contradicted"), (0.8, 20, "inconclusive")])
def test_strong_defences_cost_accuracy(defended, n, expected):
    (evidence,) = strong_defences_cost(accuracy_frame(n, 0.9, defended), n_boot=N_BOOT)
    check(evidence, "lz-fig13-accuracy-cost", expected)
    assert evidence.null == LARGE_DROP and evidence.unit == "held-out examples"


@pytest.mark.parametrize("undefended, augmented, per_side, expected", [
    (1.2, 1.2, 300, "reproduced"), (1.2, 0.85, 200, "inconclusive"), (1.2, 0.0, 200, "contradicted"),
    (0.4, 0.4, 5, "inconclusive")])
def test_augmentation_does_not_cut(undefended, augmented, per_side, expected):
    shifts = {UNDEF: undefended, ("augmentation", "flip_crop"): augmented, ("augmentation", "strong"): undefended}
    (evidence,) = augmentation_does_not_cut(defence_frame(per_side, shifts), n_boot=N_BOOT)
    check(evidence, "lz-fig13-augmentation", expected)


def memguard_frame(per_side: int, score_with: float, label_change: float = 0.0, dataset="digits") -> pd.DataFrame:
    frames = []
    for k, attack in enumerate(("baseline", "transfer", "boundary", "score-based")):
        with_shift = score_with if attack == "score-based" else 1.0 + label_change
        scores, ids, is_member = cells({"without": 1.0, "with": with_shift}, per_side, seed=20 + k,
                                       own_noise=0.0 if attack != "score-based" else 0.5)
        frames += [rows(v, ids, is_member, dataset=dataset, model="M-2", attack=attack, memguard=side)
                   for side, v in scores.items()]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("score_with, per_side, expected", [
    (0.0, 3000, "reproduced"), (0.0, 50, "inconclusive"), (1.0, 300, "contradicted")])
def test_memguard_drives_the_score_based_attack_to_chance(score_with, per_side, expected):
    (evidence,) = memguard_chance(memguard_frame(per_side, score_with), n_boot=N_BOOT)
    check(evidence, "lz-tab6-memguard-chance", expected)


def test_memguard_published_numbers_need_the_papers_data_sets():
    cifar, face = memguard_published(memguard_frame(50, 0.0), n_boot=N_BOOT)
    assert (cifar.claim_id, face.claim_id) == ("lz-tab6-memguard-score", "lz-tab6-memguard-score-face")
    assert cifar.verdict == face.verdict == "not comparable" and "digits" in cifar.note
    cifar, face = memguard_published(memguard_frame(3000, 0.0, dataset="cifar10"), n_boot=N_BOOT)
    assert cifar.verdict == "reproduced" and face.verdict == "not comparable"


@pytest.mark.parametrize("change, per_side, expected", [
    (0.0, 20, "reproduced"),      # identical scores (MemGuard keeps every label): exactly unchanged
    (1.5, 200, "contradicted"),   # label-only attacks much stronger behind MemGuard: a bug
    (0.04, 100, "inconclusive"),  # a small change, not enough candidates to place it inside the band
])
def test_memguard_leaves_label_only_attacks_unchanged(change, per_side, expected):
    (evidence,) = memguard_label_only_unchanged(memguard_frame(per_side, 0.0, change), n_boot=N_BOOT)
    check(evidence, "lz-tab6-memguard-label-only", expected)
    assert evidence.null == UNCHANGED_BAND and evidence.direction == -1


def test_defence_claims_in_order():
    shifts = {UNDEF: 1.2, ("L2", "0.1"): 0.0, ("augmentation", "flip_crop"): 1.2}
    evidence = defence_claims(defence_frame(30, shifts), accuracy_frame(100, 0.9, 0.5), memguard_frame(30, 0.0),
                              n_boot=100)
    assert [e.claim_id for e in evidence] == ["lz-tab6-memguard-chance", "lz-tab6-memguard-score",
                                              "lz-tab6-memguard-score-face", "lz-tab6-memguard-label-only",
                                              "lz-fig13-strong-defences", "lz-fig13-accuracy-cost",
                                              "lz-fig13-augmentation"]
    assert {e.chapter for e in evidence} == {"lz_defences"}


def test_the_deciding_case_of_an_every_case_claim():
    from leakage.claims.lz_transfer import deciding

    per = {"a": (0.3, 0.2, 0.4), "b": (0.1, 0.02, 0.2), "c": (0.2, 0.05, 0.3)}
    assert deciding(per, 0.0, 1) == "b"  # all on the paper's side: the one nearest the null decides
    per["d"] = (-0.1, -0.2, -0.01)
    per["e"] = (-0.3, -0.5, -0.1)
    assert deciding(per, 0.0, 1) == "e"  # some wholly off it: the furthest one
    assert deciding({"a": (0.5, 0.4, 0.6), "b": (0.2, 0.1, 0.3)}, 0.35, -1) == "a"
