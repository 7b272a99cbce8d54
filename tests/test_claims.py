"""Claims as tested hypotheses: verdicts on synthetic data whose answer is known, CIs that cover."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims import Evidence, decide, equivalence, hypothesis, load_evidence, not_comparable, record_evidence
from leakage.claims.core import (PAPER_TOLERANCE, enough_per_side, model_index, model_order, require_columns, sides,
                                 samples_needed, sizes)
from leakage.claims.paper import TABLE, paper_entry, paper_table
from leakage.claims.stats import auc_ci, auc_trend, mean_difference, paired_auc_difference, proportion_ci, value_trend


def gaussian_scores(shift: float, per_side: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Members ~ N(shift, 1), non-members ~ N(0, 1): true AUC = Phi(shift / sqrt(2))."""
    rng = np.random.default_rng(seed)
    scores = np.r_[rng.normal(shift, 1, per_side), rng.normal(0, 1, per_side)]
    return scores, np.r_[np.ones(per_side, bool), np.zeros(per_side, bool)]


def claim(effect, ci, n_unit=100):
    return hypothesis("lz-fig2-transfer-vs-baseline", chapter="lz_transfer", claim="transfer >= baseline",
                      statistic="AUC(transfer) - AUC(baseline)", effect=effect, ci=ci, n="100 + 100",
                      unit="candidates per side", n_unit=n_unit)


def test_the_verdict_follows_the_ci_and_the_papers_side():
    assert decide(0.01, 0.2, 0.0, 1) == "reproduced"
    assert decide(-0.1, 0.2, 0.0, 1) == "inconclusive"
    assert decide(-0.3, -0.1, 0.0, 1) == "contradicted"
    assert decide(-0.3, -0.1, 0.0, -1) == "reproduced"
    assert decide(0.55, 0.7, 0.5, -1) == "contradicted"
    assert decide(float("nan"), 0.1, 0.0, 1) == "inconclusive"
    with pytest.raises(ValueError, match="out of order"):
        decide(0.2, 0.1, 0.0, 1)


@pytest.mark.parametrize("shift_a, per_side, expected", [
    (1.5, 200, "reproduced"),      # a clear effect
    (0.0, 200, "inconclusive"),    # no effect
    (-1.5, 200, "contradicted"),   # the opposite effect
    (0.4, 8, "inconclusive"),      # a real but small effect, too few samples
])
def test_paired_auc_claims_on_synthetic_attacks(shift_a, per_side, expected):
    rng = np.random.default_rng(1)
    base, is_member = gaussian_scores(0.5, per_side, seed=2)
    other = base + shift_a * is_member + 0.3 * rng.normal(size=len(base))  # the same candidates, a stronger attack
    effect, lo, hi = paired_auc_difference(other, base, is_member, n_boot=500, seed=0)
    evidence = claim(effect, (lo, hi), n_unit=per_side)
    assert evidence.verdict == expected
    assert (evidence.needed != "") == (expected == "inconclusive")
    assert evidence.paper == paper_entry("lz-fig2-transfer-vs-baseline").text  # the paper column is the table's
    assert evidence.item == "lz-fig2"


def test_the_power_note_scales_with_the_ci():
    # effect 0.05 with a CI half-width of 0.098 at n = 100: 80% power needs about (2.8 * 0.05 / 0.05)^2 * 100
    needed = samples_needed(0.05, 0.05 - 0.098, 0.05 + 0.098, 0.0, 100)
    assert 700 < needed < 900
    assert samples_needed(0.0, -0.1, 0.1, 0.0, 100) is None
    assert "about" in claim(0.05, (-0.048, 0.148)).needed


def test_equivalence_to_a_published_number_uses_the_one_tolerance():
    value = paper_entry("lz-fig2-m5-transfer").value
    assert value == 0.94 and PAPER_TOLERANCE == 0.05
    def verdict(estimate, half):
        return equivalence("lz-fig2-m5-transfer", chapter="lz_transfer", claim="M-5 transfer AUC", statistic="AUC",
                           estimate=estimate, ci=(estimate - half, estimate + half), n="n", unit="candidates",
                           n_unit=100).verdict
    assert verdict(0.93, 0.01) == "reproduced"
    assert verdict(0.80, 0.02) == "contradicted"
    assert verdict(0.92, 0.1) == "inconclusive"
    other = equivalence("lz-fig2-m5-transfer", chapter="lz_transfer", claim="c", statistic="AUC", estimate=0.7,
                        ci=(0.6, 0.8), n="n", unit="candidates", n_unit=1, comparable=False, reason="Fashion-MNIST")
    assert other.verdict == "not comparable" and "Fashion-MNIST" in other.note


def test_every_row_of_the_paper_table_is_well_formed_and_unknown_ids_are_clear_errors():
    table = paper_table()
    assert table.claim_id.is_unique and (table.text != "").all() and (table.item.str.match(r"^[a-z]+-[a-z0-9-]+$")).all()
    for value in table.value:
        assert value == "" or float(value) == float(value)
    with pytest.raises(KeyError, match="not in the paper table"):
        paper_entry("no-such-claim")
    assert TABLE.name == "paper_values.csv"


def test_no_notebook_types_a_paper_number_or_a_verdict():
    from leakage.paths import project_root

    for path in (project_root() / "notebooks").glob("*.py"):
        text = path.read_text()
        assert "Claim(" not in text and "holds=" not in text, f"{path.name} still builds a claim by hand"


def test_auc_ci_covers_the_true_auc_about_95_percent_of_the_time():
    from scipy.stats import norm

    truth = norm.cdf(0.6 / np.sqrt(2))
    covered = [lo <= truth <= hi for lo, hi in
               (auc_ci(*gaussian_scores(0.6, 60, seed), n_boot=400, seed=seed)[1:] for seed in range(200))]
    assert 0.90 <= np.mean(covered) <= 0.99  # percentile bootstrap, 200 simulations: 95% +- 3 s.e.


def test_mean_difference_and_trends():
    rng = np.random.default_rng(0)
    effect, lo, hi = mean_difference(rng.normal(1, 1, 300), rng.normal(0, 1, 300), n_boot=500)
    assert lo < 1 < hi and lo > 0.7
    groups = [gaussian_scores(shift, 100, seed) for seed, shift in enumerate([0.0, 0.3, 0.6, 0.9, 1.2, 1.5])]
    slope, lo, hi = auc_trend(groups, n_boot=300)
    assert lo > 0 and slope > 0.05
    flat = [gaussian_scores(0.5, 100, seed) for seed in range(6)]
    assert decide(*auc_trend(flat, n_boot=300)[1:], 0.0, 1) == "inconclusive"
    slope, lo, hi = value_trend(np.array([0.1, 0.2, 0.35, 0.4, 0.5, 0.7]), n_boot=500)
    assert lo > 0 and abs(slope - 0.109) < 0.01
    with pytest.raises(ValueError, match="at least 3"):
        auc_trend(groups[:2])
    assert proportion_ci(5, 10)[1] < 0.5 < proportion_ci(5, 10)[2]


def test_evidence_is_recorded_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path))
    rows = [claim(0.1, (0.02, 0.18)),
            not_comparable("lz-fig2-m5-transfer", chapter="lz_transfer", claim="M-5 CIFAR-10", reason="no CIFAR-10")]
    record_evidence("smoke", "lz_transfer", rows)
    back = load_evidence("smoke")
    assert list(back.verdict) == ["reproduced", "not comparable"] and np.isnan(back.effect.iloc[1])
    with pytest.raises(ValueError, match="other chapters"):
        record_evidence("smoke", "audit", rows)
    (tmp_path / "smoke" / "claims" / "old.csv").write_text("chapter,item,claim,paper,ours,holds,verdict\n")
    with pytest.raises(ValueError, match="older format"):
        load_evidence("smoke")
    assert isinstance(rows[0], Evidence) and isinstance(back, pd.DataFrame)


def test_the_forest_plot_puts_each_claim_on_the_side_its_verdict_says():
    from leakage.claims.plot import forest_plot, standardised

    rng = np.random.default_rng(3)
    rows = []
    for i in range(60):
        effect = rng.normal(0, 0.1)
        low, high = effect - rng.uniform(0.01, 0.15), effect + rng.uniform(0.01, 0.15)  # asymmetric CIs
        rows.append(hypothesis("lz-fig2-transfer-vs-baseline", chapter="lz_transfer", claim=f"c{i}", statistic="s",
                               effect=effect, ci=(low, high), null=0.02, direction=1 if i % 2 else -1, n="n",
                               unit="candidates", n_unit=100).row())
        estimate = 0.94 + rng.normal(0, 0.06)
        rows.append(equivalence("lz-fig2-m5-transfer", chapter="lz_transfer", claim=f"e{i}", statistic="AUC",
                                estimate=estimate, ci=(estimate - rng.uniform(0.005, 0.05), estimate + 0.02), n="n",
                                unit="candidates", n_unit=100).row())
    frame = standardised(pd.DataFrame(rows))
    assert len(frame) == 120
    assert ((frame.z_low > 0) == (frame.verdict == "reproduced")).all()
    assert ((frame.z_high < 0) == (frame.verdict == "contradicted")).all()
    assert forest_plot(pd.DataFrame(rows)) is not None


def test_the_shared_helpers_check_frames_count_sides_and_order_targets():
    with pytest.raises(ValueError, match="the scores frame lacks the columns score, model; it needs"):
        require_columns(pd.DataFrame({"is_member": [True]}), ("is_member", "score", "model"), "scores")
    require_columns(pd.DataFrame({"score": [0.5]}), ("score",), "scores")  # nothing missing: no error
    is_member = np.array([True, True, True, False, False])
    assert sides(is_member) == (3, 2) and enough_per_side(is_member) and not enough_per_side(is_member, 3)
    assert sizes(3, 2, "texts per side", detail="texts") == {"n": "3 members + 2 non-members (texts)",
                                                             "unit": "texts per side", "n_unit": 2}
    assert sizes(*sides(is_member), "candidates per side")["n"] == "3 members + 2 non-members"
    assert model_order(["M-10", "M-2", "M-0", "M-2"]) == ["M-0", "M-2", "M-10"]  # by index, not as text
    assert model_index(pd.Series(["M-5", "M-0"])).tolist() == [5, 0]
    with pytest.raises(ValueError, match="'M-0'..'M-5', got \\['shadow'\\]"):
        model_order(["M-1", "shadow"])
