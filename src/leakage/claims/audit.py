"""The audit chapter's claims (``audit``) as tested hypotheses on its published frames.

Frames, as the chapter publishes them:

- ``canaries`` (``audit-canaries``): one row per (model, target epsilon, attack, canary): ``model``,
  ``target_epsilon`` (inf: trained without DP), ``attack``, ``canary`` (its index), ``included`` (the seeded
  coin), ``score`` (higher = member);
- ``eps`` (``audit-eps``): one row per (model, target epsilon, attack), with ``accountant_epsilon`` (the
  epsilon the accountant reports for the noise used) and ``delta``.

An audit's eps_LB is a one-sided 95% lower confidence limit for the privacy loss of the training run: its
"CI" is [eps_LB, inf) (``ci_high`` = inf), with the canaries (each an independent fair coin) as the
resampling unit. A claim takes the best bound over several attacks and both audits (the threshold audit and
the one-run audit of :mod:`leakage.audit.bounds`), so each bound is computed at the Bonferroni level of the
bounds it is compared with (:func:`leakage.audit.bounds.family_confidence`); the best is then a 95% limit.

- ``audit-eps-valid`` ("every DP model's privacy loss is at most its accountant's epsilon"): an audit can
  refute a DP guarantee, never prove one. The claim is *contradicted* when some DP model's best eps_LB
  exceeds its accountant's epsilon (the limit lies wholly above it) and *reproduced* when none does (no
  evidence against the guarantee; the margin is shown). It looks at every DP model at once, so the
  Bonferroni family is every attack x audit x DP model: a correct DP training is called contradicted with
  probability at most 5%. Shown on the deciding model (the smallest margin).
- ``audit-nodp-large`` ("without DP, canaries are memorised: eps_LB > 0"): per model trained without DP, the
  best eps_LB over its attacks and audits (Bonferroni over those); *reproduced* when it is above 0 for
  every such model (an intersection-union test: each at 95%, no correction across models), else
  *inconclusive* (an audit cannot show that a model leaks nothing). Shown on the deciding model (the
  smallest bound), with the ceiling a perfect attack could reach with these canaries.

Training noise (one run per model and epsilon) is part of what the bounds cover: eps_LB bounds the privacy
loss of the randomised training itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from leakage.audit.bounds import epsilon_lower_bound, family_confidence, one_run_epsilon, split_ceiling
from leakage.claims.core import LEVEL, Evidence, hypothesis, not_comparable, require_columns

CHAPTER = "audit"
CANARY_COLUMNS = ("model", "target_epsilon", "attack", "canary", "included", "score")
EPS_COLUMNS = ("model", "target_epsilon", "accountant_epsilon", "delta")
UNIT = "canaries"


def _runs(canaries: pd.DataFrame) -> dict[tuple[str, float], pd.DataFrame]:
    """One frame per training run (model, target epsilon)."""
    return {(str(k[0]), float(k[1])): g for k, g in canaries.groupby(["model", "target_epsilon"], sort=False)}


def _attack_scores(run: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({attack: scores (m,)}, included (m,)) of one run, canaries in index order; ``ValueError`` when attacks
    score different canaries or disagree on a canary's inclusion."""
    scores, included = {}, None
    for attack, cell in run.groupby("attack", sort=False):
        cell = cell.sort_values("canary")
        if cell.canary.duplicated().any():
            raise ValueError(f"attack {attack} scores a canary twice")
        if included is None:
            canaries, included = cell.canary.to_numpy(), cell.included.to_numpy(bool)
        elif not (np.array_equal(cell.canary.to_numpy(), canaries)
                  and np.array_equal(cell.included.to_numpy(bool), included)):
            raise ValueError(f"attack {attack} scores other canaries (or other inclusions) than the first attack")
        scores[str(attack)] = cell.score.to_numpy(float)
    return scores, included


def best_bound(scores: dict[str, np.ndarray], included: np.ndarray, *, delta: float, confidence: float, seed: int
               ) -> tuple[float, str, str]:
    """(the largest eps_LB, its attack, its audit) over every attack and both audits, each bound at
    ``confidence`` (the caller's Bonferroni level)."""
    best = (0.0, "none", "none")
    for attack, values in scores.items():
        for audit, eps in (("threshold", epsilon_lower_bound(values, included, delta, confidence, seed).epsilon),
                           ("one-run", one_run_epsilon(values, included, delta, confidence).epsilon)):
            if eps > best[0]:
                best = (eps, attack, audit)
    return best


def _lower_limit(claim_id: str, *, chapter: str, claim: str, statistic: str, effect: float, null: float, direction: int,
                 verdict: str, n: str, n_unit: float, ours: str, note: str, needed: str = "",
                 extra: dict | None = None) -> Evidence:
    """Evidence whose CI is a one-sided lower confidence limit [effect, inf): the core's rule needs both ends
    finite, so the verdict is decided here (see the module docstring) and set on the core's record."""
    evidence = hypothesis(claim_id, chapter=chapter, claim=claim, statistic=statistic, effect=effect,
                          ci=(effect, np.inf), null=null, direction=direction, n=n, unit=UNIT, n_unit=n_unit,
                          ours=ours, note=note, extra=extra)
    return dataclasses.replace(evidence, verdict=verdict, needed=needed)


def validity(canaries: pd.DataFrame, eps: pd.DataFrame, *, seed: int, level: float = LEVEL,
             claim_id: str = "audit-eps-valid", chapter: str = CHAPTER) -> Evidence:
    """``audit-eps-valid``: for every DP model, the best eps_LB (every attack x audit x DP model in one
    Bonferroni family) against the accountant's epsilon. Effect: eps_LB - epsilon on the deciding model.
    ``claim_id`` and ``chapter``: another chapter's instance of the claim (e.g. the fine-tuned LM's)."""
    claim = "every DP model's privacy loss is at most its accountant's epsilon (no eps_LB exceeds it)"
    require_columns(canaries, CANARY_COLUMNS, "canaries")
    require_columns(eps, EPS_COLUMNS, "audit-eps")
    runs = {k: v for k, v in _runs(canaries).items() if np.isfinite(k[1])}
    if not runs:
        return not_comparable(claim_id, chapter=chapter, claim=claim, reason="this build trained no model with DP")
    accountant = eps.groupby(["model", "target_epsilon"]).agg(epsilon=("accountant_epsilon", "first"),
                                                             delta=("delta", "first"))
    audits = {k: _attack_scores(v) for k, v in runs.items()}
    family = sum(2 * len(scores) for scores, _ in audits.values())
    strict = family_confidence(level, family)
    per = {}
    for key, (scores, included) in audits.items():
        if key not in accountant.index:
            raise ValueError(f"the audit-eps frame has no accountant epsilon for {key[0]} at {key[1]:g}")
        target = accountant.loc[key]
        bound, attack, audit = best_bound(scores, included, delta=float(target.delta), confidence=strict, seed=seed)
        per[key] = {"bound": bound, "epsilon": float(target.epsilon), "attack": attack, "audit": audit,
                    "canaries": len(included)}
    deciding = max(per, key=lambda k: per[k]["bound"] - per[k]["epsilon"])
    d = per[deciding]
    violated = [k for k, v in per.items() if v["bound"] > v["epsilon"]]
    source = f" ({d['attack']}, {d['audit']})" if d["bound"] > 0 else " (no bound above 0)"
    ours = (f"{deciding[0]} at eps {d['epsilon']:.2f}: eps_LB {d['bound']:.2f}{source}; "
            + "; ".join(f"{k[0]} eps {v['epsilon']:.2f}: {v['bound']:.2f}" for k, v in per.items() if k != deciding))
    note = (f"eps_LB is a {level:.0%} lower limit over {family} bounds (every attack x 2 audits x {len(per)} DP "
            f"models, each at {strict:.4f}); an audit can refute a DP guarantee, never prove it: reproduced = no "
            f"eps_LB above the accountant's epsilon")
    if violated:
        note += f"; violated by {', '.join(f'{k[0]} at {k[1]:g}' for k in violated)}"
    return _lower_limit(claim_id, chapter=chapter, claim=claim,
                        statistic="best eps_LB - accountant epsilon (deciding DP model)",
                        effect=d["bound"] - d["epsilon"], null=0.0, direction=-1,
                        verdict="contradicted" if violated else "reproduced",
                        n=f"{d['canaries']} canaries (each in w.p. 1/2)", n_unit=d["canaries"], ours=ours, note=note,
                        extra={"per_model": {f"{k[0]} {k[1]:g}": v for k, v in per.items()}})


def no_dp_leaks(canaries: pd.DataFrame, eps: pd.DataFrame, *, seed: int, level: float = LEVEL,
                claim_id: str = "audit-nodp-large", chapter: str = CHAPTER) -> Evidence:
    """``audit-nodp-large``: for every model trained without DP, the best eps_LB over its attacks and audits
    (Bonferroni over them) is above 0. Effect: that bound on the deciding (smallest) model. ``claim_id`` and
    ``chapter``: another chapter's instance of the claim."""
    claim = "without DP, canaries are memorised: eps_LB > 0 for every model trained without DP"
    require_columns(canaries, CANARY_COLUMNS, "canaries")
    require_columns(eps, EPS_COLUMNS, "audit-eps")
    runs = {k: v for k, v in _runs(canaries).items() if not np.isfinite(k[1])}
    if not runs:
        return not_comparable(claim_id, chapter=chapter, claim=claim,
                              reason="this build trained no model without DP")
    deltas = eps.groupby(["model", "target_epsilon"]).delta.first()
    per = {}
    for key, run in runs.items():
        scores, included = _attack_scores(run)
        strict = family_confidence(level, 2 * len(scores))
        delta = float(deltas.loc[key])
        bound, attack, audit = best_bound(scores, included, delta=delta, confidence=strict, seed=seed)
        per[key] = {"bound": bound, "attack": attack, "audit": audit, "canaries": len(included),
                    "bounds": 2 * len(scores), "ceiling": split_ceiling(included, delta, strict, seed)}
    deciding = min(per, key=lambda k: per[k]["bound"])
    d = per[deciding]
    source = f"{d['attack']}, {d['audit']}; " if d["bound"] > 0 else ""
    ours = (f"{deciding[0]}: eps_LB {d['bound']:.2f} ({source}threshold ceiling "
            f"{d['ceiling']:.2f} for {d['canaries']} canaries)"
            + "".join(f"; {k[0]}: {v['bound']:.2f}" for k, v in per.items() if k != deciding))
    reproduced = d["bound"] > 0
    return _lower_limit(claim_id, chapter=chapter, claim=claim, statistic="best eps_LB (deciding no-DP model)",
                        effect=d["bound"], null=0.0, direction=1,
                        verdict="reproduced" if reproduced else "inconclusive",
                        needed="" if reproduced else "more canaries, or an attack that separates them better",
                        n=f"{d['canaries']} canaries (each in w.p. 1/2)", n_unit=d["canaries"], ours=ours,
                        note=(f"eps_LB is a {level:.0%} lower limit: the best of {d['bounds']} bounds (attacks x 2 "
                              f"audits), each at the Bonferroni level; each no-DP model tested on its own "
                              f"(intersection-union)"),
                        extra={"per_model": {k[0]: v for k, v in per.items()}})


def audit_claims(canaries: pd.DataFrame, eps: pd.DataFrame, *, seed: int) -> list[Evidence]:
    """Every claim of the audit chapter, from its published frames."""
    return [validity(canaries, eps, seed=seed), no_dp_leaks(canaries, eps, seed=seed)]
