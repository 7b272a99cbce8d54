"""Issue 27, item 13: a TPR at an FPR below 1/n0 (n0 non-members) is the TPR at zero false positives, and is
reported as such everywhere (metrics, results, the CLI's table, the ladder's claims), never as "TPR at 0.1% FPR"."""

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from leakage.api import MembershipResult, summary_frame
from leakage.claims.lz_ladder import SCORE_COLUMNS, label_only_vs_score_based, rmia_vs_lira
from leakage.cli import _interval, main
from leakage.metrics import (ZERO_FP, fpr_resolution, resolve_low_fprs, resolved_tpr_at_fpr,
                             shown_tpr, summarize, tpr_at_fpr, tpr_at_zero_fp)


def hand_example(n_non: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-members score 0, 1, ..., n_non - 1; 100 members: 5 above every non-member, 4 between the two largest
    non-members' scores, 3 between the 2nd and 3rd largest, one tied with the largest (not above it), the rest
    at 0.5. By hand: TPR at 0 false positives 5/100; at most 1 false positive (flag >= the largest non-member
    score): 10/100, the tied member included; at most 2: 13/100."""
    top = n_non - 1
    members = np.r_[np.full(5, 3.0 * n_non), np.full(4, top - 0.5), np.full(3, top - 1.5), [float(top)],
                    np.full(87, 0.5)]
    scores = np.r_[members, np.arange(n_non, dtype=float)]
    return scores, np.r_[np.ones(100, bool), np.zeros(n_non, bool)]


def test_fpr_resolution_says_what_a_tpr_at_a_low_fpr_measures():
    r = fpr_resolution(120, 0.001)
    assert not r.resolvable and r.false_positives == 0 and r.needed == 1000
    assert r.label == "TPR at 0 FP (0.1% FPR < 1/120)" and "0.83%" in r.reason and "1,000 non-members" in r.reason
    assert fpr_resolution(120, 0.01).resolvable and fpr_resolution(120, 0.01).false_positives == 1
    assert fpr_resolution(1000, 0.001).resolvable and not fpr_resolution(999, 0.001).resolvable
    assert fpr_resolution(100, 0.01).resolvable and not fpr_resolution(99, 0.01).resolvable
    assert fpr_resolution(2000, 0.001).label == "TPR at 0.1% FPR" and fpr_resolution(2000, 0.001).reason == ""
    assert fpr_resolution(5, 0.0).resolvable and fpr_resolution(5, 0.0).label == "TPR at 0 FP"
    assert shown_tpr("tpr_at_0.1pct_fpr", 120) == (ZERO_FP, "TPR at 0 FP (0.1% FPR < 1/120)")
    assert shown_tpr("tpr_at_0.1pct_fpr", 2000) == ("tpr_at_0.1pct_fpr", "TPR at 0.1% FPR")
    with pytest.raises(ValueError, match="n_non_members=0"):
        fpr_resolution(0, 0.01)
    with pytest.raises(ValueError, match="max_fpr must be in"):
        fpr_resolution(10, 1.5)
    with pytest.raises(ValueError, match="name must be one of"):
        shown_tpr("tpr_at_5pct_fpr", 10)


def test_with_120_non_members_the_tpr_at_0_1pct_fpr_is_left_out_and_the_tpr_at_zero_fp_reported():
    scores, is_member = hand_example(120)
    assert tpr_at_zero_fp(scores, is_member) == 0.05  # the member tied with the largest non-member is not counted
    assert tpr_at_fpr(scores, is_member, 0.001) == 0.05  # what "TPR at 0.1% FPR" was: the TPR at 0 FP
    assert math.isnan(resolved_tpr_at_fpr(scores, is_member, 0.001))
    assert resolved_tpr_at_fpr(scores, is_member, 0.01) == 0.1  # 1% of 120: one false positive allowed
    out = summarize(scores, is_member, n_boot=50, tpr_intervals=True)
    assert out["tpr_at_0fp"] == 0.05 and out["tpr_at_1pct_fpr"] == 0.1
    assert all(math.isnan(out[k]) for k in ("tpr_at_0.1pct_fpr", "tpr_at_0.1pct_fpr_lo", "tpr_at_0.1pct_fpr_hi"))
    assert out["tpr_at_0fp_lo"] <= out["tpr_at_0fp_hi"] and out["tpr_at_1pct_fpr_lo"] <= out["tpr_at_1pct_fpr_hi"]


def test_with_2000_non_members_the_tpr_at_0_1pct_fpr_is_reported():
    scores, is_member = hand_example(2000)
    out = summarize(scores, is_member, n_boot=50, tpr_intervals=True)
    # 0.1% of 2000 non-members: two false positives allowed; 1%: twenty (all 13 members above the 21st largest)
    assert out["tpr_at_0.1pct_fpr"] == 0.13 and out["tpr_at_0fp"] == 0.05 and out["tpr_at_1pct_fpr"] == 0.13
    assert out["tpr_at_0.1pct_fpr_lo"] <= out["tpr_at_0.1pct_fpr_hi"]


def test_a_result_labels_its_metrics_and_gives_the_zero_fp_tpr_its_exact_interval():
    rng = np.random.default_rng(0)
    is_member = np.r_[np.ones(120, bool), np.zeros(120, bool)]
    scores = rng.normal(is_member * 1.5)
    result = MembershipResult("toy", scores, is_member, n_boot=100, seed=3)
    m = result.metrics
    assert math.isnan(m["tpr_at_0.1pct_fpr"]) and math.isnan(m["tpr_at_0.1pct_fpr_lo"])
    assert m["tpr_at_0fp"] == tpr_at_zero_fp(scores, is_member) and not math.isnan(m["tpr_at_1pct_fpr"])
    # the Clopper-Pearson interval of the members above the largest non-member (k of 120)
    k = int(np.sum(scores[is_member] > scores[~is_member].max()))
    assert m["tpr_at_0fp"] == k / 120
    assert (m["tpr_at_0fp_lo"], m["tpr_at_0fp_hi"]) == pytest.approx(
        (beta.ppf(0.025, k, 121 - k), beta.ppf(0.975, k + 1, 120 - k)), rel=1e-9)
    row = summary_frame([result]).iloc[0]
    assert row["tpr_at_0fp"] == m["tpr_at_0fp"] and pd.isna(row["tpr_at_0.1pct_fpr"])


def test_stored_metrics_of_old_artefacts_are_resolved_on_reading():
    old = {"tpr_at_1pct_fpr": 0.2, "tpr_at_1pct_fpr_lo": 0.1, "tpr_at_1pct_fpr_hi": 0.3, "tpr_at_0.1pct_fpr": 0.2,
           "auc": 0.7, "n_non_members": 30}
    new = resolve_low_fprs(old)
    assert all(math.isnan(new[k]) for k in old if k.startswith("tpr")) and new["auc"] == 0.7
    assert resolve_low_fprs({**old, "n_non_members": 100})["tpr_at_1pct_fpr"] == 0.2
    with pytest.raises(ValueError, match="n_non_members"):
        resolve_low_fprs({"tpr_at_1pct_fpr": 0.2})


def test_the_cli_cells_name_what_the_sample_gives():
    for n_non, cell in ((120, "n/a (1/120 > 0.1%)"), (2000, None)):
        scores, is_member = hand_example(n_non)
        m = summarize(scores, is_member, n_boot=20, tpr_intervals=True)
        shown = _interval(m, "tpr_at_0.1pct_fpr")
        assert shown == cell if cell else shown.startswith("0.130 [")
        assert _interval(m, "tpr_at_0fp").startswith("0.050 [")


def test_score_texts_prints_tpr_at_zero_fp_not_a_tpr_at_0_1pct_fpr(tmp_path, capsys, monkeypatch, one_thread):
    from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    words = ["river", "letter", "jury", "school", "market", "winter", "garden", "station", "music", "paper", "window",
             "bridge"]
    texts = [f"Day {i}: the {words[i % 12]} near the {words[(i // 12) % 12]}." for i in range(240)]
    tokenizer = train_tokenizer(texts, 300)
    model = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=64, vocab_size=300), tokenizer, 0)
    model.save_pretrained(tmp_path / "target")
    tokenizer.save_pretrained(tmp_path / "target")
    (tmp_path / "m.txt").write_text("\n".join(texts[:120]) + "\n")
    (tmp_path / "n.txt").write_text("\n".join(texts[120:]) + "\n")
    out = tmp_path / "scores.csv"
    assert main(["score-texts", "--model", str(tmp_path / "target"), "--members", str(tmp_path / "m.txt"),
                 "--non-members", str(tmp_path / "n.txt"), "--max-tokens", "32", "--n-boot", "20",
                 "--neighbours", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[0]
    assert "TPR@0FP [95% CI]" in header and "120 + 120" in printed
    loss_row = next(line for line in printed.splitlines() if line.strip().startswith("loss"))
    assert "n/a (1/120 > 0.1%)" in loss_row  # no number under "TPR@0.1%FPR"
    frame = pd.read_csv(out)
    loss = frame[frame.attack == "loss"]
    expected = tpr_at_zero_fp(loss.score.to_numpy(), loss.is_member.to_numpy(bool))
    intervals = re.findall(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", loss_row)  # AUC, TPR@1%FPR, TPR@0FP
    assert len(intervals) == 3 and intervals[2].startswith(f"{expected:.3f} [")


# --------------------------------------------------------------------------- the ladder's claims


def ladder_frame(n_non: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    is_member = np.r_[np.ones(n_non, bool), np.zeros(n_non, bool)]
    strong = rng.normal(is_member * 2.0)
    attacks = {"lo-coarse": np.clip(np.round(strong), -1, 2), "RMIA": strong, "LiRA": strong + rng.normal(0, .05,
                                                                                                          2 * n_non)}
    rows = [pd.DataFrame({"dataset": "toy", "model": "M-5", "threat": "label-only" if a.startswith("lo") else
                          "score-based", "attack": a, "candidate": np.arange(2 * n_non), "is_member": is_member,
                          "score": s}) for a, s in attacks.items()]
    return pd.concat(rows, ignore_index=True)[list(SCORE_COLUMNS)]


def test_a_claim_at_an_fpr_the_sample_cannot_resolve_is_not_testable():
    small = ladder_frame(120)
    low = label_only_vs_score_based(small, "toy", name="tpr_at_0.1pct_fpr", n_boot=50)
    assert low.verdict == "not comparable" and "not testable at this sample size" in low.note
    assert "1,000 non-members" in low.note and "M-5 has 120" in low.note and math.isnan(low.effect)
    assert label_only_vs_score_based(small, "toy", name="auc", n_boot=50).verdict != "not comparable"
    assert rmia_vs_lira(small, "toy", reference_models=2, name="tpr_at_1pct_fpr", n_boot=50).verdict != \
        "not comparable"  # 1% of 120: one false positive, resolved
    tiny = ladder_frame(50)
    tpr = rmia_vs_lira(tiny, "toy", reference_models=2, name="tpr_at_1pct_fpr", n_boot=50)
    assert tpr.verdict == "not comparable" and "needs at least 100 non-members" in tpr.note
    big = label_only_vs_score_based(ladder_frame(2000), "toy", name="tpr_at_0.1pct_fpr", n_boot=50)
    assert big.verdict != "not comparable" and "allows 2 false positives" in big.note


# --------------------------------------------------------------------------- the ladder's frames


def test_the_ladder_frames_leave_unresolved_tprs_out_and_give_the_tpr_at_zero_fp():
    from leakage.experiments import ladder

    runs = {}
    for n_non, index in ((120, 5), (2000, 2)):
        scores, is_member = hand_example(n_non)
        extras = {"checkpoints": np.array([1, 10]), "checkpoint_dist": np.stack([scores, scores], 1),
                  "checkpoint_score": np.stack([scores, scores], 1)}
        for label in ladder.ATTACKS:
            runs["toy", index, label] = MembershipResult(label, scores, is_member, extras=extras, n_boot=20,
                                                         cost={"queries_per_candidate": 1.0})
    table = ladder.ladder_table(runs).set_index("model")
    small, big = table.loc["M-5"].iloc[0], table.loc["M-2"].iloc[0]
    assert small["n_non_members"] == 120 and small[["tpr_at_0.1pct_fpr", "tpr_at_0.1pct_fpr_hi"]].isna().all()
    assert small["tpr_at_0fp"] == 0.05 and small["tpr_at_1pct_fpr"] == 0.1
    assert big["tpr_at_0.1pct_fpr"] == 0.13 and big["tpr_at_0fp"] == 0.05
    queries = ladder.query_frame({k: v for k, v in runs.items() if k[1] == 5})
    assert (queries.tpr_at_1pct_fpr == 0.1).all() and (queries.tpr_at_0fp == 0.05).all()
    few = {k: MembershipResult(v.attack, v.scores[:150], v.is_member[:150], cost=v.cost,  # 50 non-members
                               extras={**v.extras, "checkpoint_dist": v.extras["checkpoint_dist"][:150],
                                       "checkpoint_score": v.extras["checkpoint_score"][:150]})
           for k, v in runs.items() if k[1] == 5}
    assert ladder.query_frame(few).tpr_at_1pct_fpr.isna().all()  # 1% < 1/50: left out


def test_the_zero_fp_interval_covers_the_tpr_of_the_zero_fp_threshold_at_95_percent():
    """Simulation: members N(1, 1), non-members N(0, 1); the TPR of the threshold t* = the largest non-member score
    is 1 - Phi(t* - 1). The exact interval must cover it in at least 95% of draws (up to Monte Carlo error: 2,000
    draws, so a true 95% gives at least 94% with probability > 0.99), at several sizes."""
    from scipy.stats import norm

    from leakage.metrics import tpr_at_zero_fp, tpr_at_zero_fp_interval

    rng = np.random.default_rng(0)
    for n_members, n_non_members in ((100, 120), (30, 30), (500, 1000)):
        covered = 0
        for _ in range(2000):
            members, others = rng.normal(1.0, 1.0, n_members), rng.normal(0.0, 1.0, n_non_members)
            scores = np.r_[members, others]
            is_member = np.r_[np.ones(n_members, bool), np.zeros(n_non_members, bool)]
            truth = norm.sf(others.max() - 1.0)
            low, high = tpr_at_zero_fp_interval(scores, is_member)
            assert low <= tpr_at_zero_fp(scores, is_member) <= high
            covered += low <= truth <= high
        assert covered / 2000 >= 0.94, (n_members, n_non_members, covered / 2000)
