"""The audit chapter's claims on synthetic frames: a valid and a violated DP guarantee, a no-DP model that leaks
and one whose scores carry nothing, and builds without the runs a claim needs."""

import numpy as np
import pandas as pd
import pytest

from leakage.claims.audit import audit_claims, no_dp_leaks, validity

M = 400


def _run(model: str, target: float, separation: float, seed: int, attacks=("loss", "zlib")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    included = rng.random(M) < 0.5
    return pd.concat([pd.DataFrame({"model": model, "target_epsilon": target, "attack": attack,
                                    "canary": np.arange(M), "included": included,
                                    "score": separation * included + rng.normal(size=M)})
                      for attack in attacks], ignore_index=True)


def _eps(canaries: pd.DataFrame, accountant: dict) -> pd.DataFrame:
    rows = canaries[["model", "target_epsilon", "attack"]].drop_duplicates()
    return rows.assign(accountant_epsilon=[accountant.get((m, t), np.inf) for m, t in
                                           zip(rows.model, rows.target_epsilon)], delta=1e-5)


def _frames(dp_separation: float, nodp_separation: float, accountant: float = 1.0):
    canaries = pd.concat([_run("CNN", 1.0, dp_separation, 0), _run("CNN", np.inf, nodp_separation, 1),
                          _run("GPT-2", 1.0, 0.0, 2, ("loss", "zlib", "min-k")),
                          _run("GPT-2", np.inf, nodp_separation, 3, ("loss", "zlib", "min-k"))], ignore_index=True)
    return canaries, _eps(canaries, {("CNN", 1.0): accountant, ("GPT-2", 1.0): accountant})


def test_dp_models_whose_scores_carry_nothing_keep_their_guarantee():
    canaries, eps = _frames(dp_separation=0.0, nodp_separation=20.0)
    evidence = validity(canaries, eps, seed=0)
    assert evidence.verdict == "reproduced" and evidence.claim_id == "audit-eps-valid" and evidence.chapter == "audit"
    assert evidence.effect == pytest.approx(-1.0) and evidence.ci_low == evidence.effect and evidence.ci_high == np.inf
    assert evidence.direction == -1 and evidence.null == 0.0
    assert "10 bounds" in evidence.note  # 2 + 3 attacks, x 2 audits: one Bonferroni family over both DP models


def test_a_dp_model_that_leaks_beyond_its_epsilon_contradicts_the_claim():
    canaries, eps = _frames(dp_separation=20.0, nodp_separation=20.0)  # perfectly separated: far above eps 1
    evidence = validity(canaries, eps, seed=0)
    assert evidence.verdict == "contradicted" and evidence.effect > 1.0
    assert evidence.ours.startswith("CNN at eps 1.00") and "violated by CNN at 1" in evidence.note
    # the same leak is consistent with a large enough accountant epsilon
    canaries, eps = _frames(dp_separation=20.0, nodp_separation=20.0, accountant=50.0)
    assert validity(canaries, eps, seed=0).verdict == "reproduced"


def test_a_no_dp_model_that_memorises_gives_a_positive_bound():
    canaries, eps = _frames(dp_separation=0.0, nodp_separation=4.0)
    evidence = no_dp_leaks(canaries, eps, seed=0)
    assert evidence.verdict == "reproduced" and evidence.claim_id == "audit-nodp-large"
    assert evidence.effect > 1.0 and evidence.ci_low == evidence.effect and evidence.ci_high == np.inf
    assert evidence.extra["per_model"]["CNN"]["bounds"] == 4 and evidence.extra["per_model"]["GPT-2"]["bounds"] == 6


def test_a_no_dp_model_whose_scores_carry_nothing_is_inconclusive():
    canaries, eps = _frames(dp_separation=0.0, nodp_separation=0.0)
    evidence = no_dp_leaks(canaries, eps, seed=0)
    assert evidence.verdict == "inconclusive" and evidence.effect == 0.0 and evidence.needed


def test_claims_without_the_runs_they_need_are_not_comparable():
    canaries, eps = _frames(dp_separation=0.0, nodp_separation=4.0)
    dp_only = canaries[np.isfinite(canaries.target_epsilon)]
    nodp_only = canaries[~np.isfinite(canaries.target_epsilon)]
    assert no_dp_leaks(dp_only, eps, seed=0).verdict == "not comparable"
    assert validity(nodp_only, eps, seed=0).verdict == "not comparable"
    assert [e.claim_id for e in audit_claims(canaries, eps, seed=0)] == ["audit-eps-valid", "audit-nodp-large"]


def test_bad_frames_are_clear_errors():
    canaries, eps = _frames(dp_separation=0.0, nodp_separation=4.0)
    with pytest.raises(ValueError, match="lacks the columns score"):
        validity(canaries.drop(columns="score"), eps, seed=0)
    flipped = canaries.copy()
    flipped.loc[(flipped.attack == "zlib") & (flipped.canary == 0), "included"] ^= True
    with pytest.raises(ValueError, match="other inclusions"):
        no_dp_leaks(flipped, eps, seed=0)
    with pytest.raises(ValueError, match="no accountant epsilon"):
        validity(canaries, eps[eps.model != "GPT-2"], seed=0)
