"""The ``audit`` chapter's bounds and frames: empirical epsilon lower bounds (:mod:`leakage.audit.bounds`) of
every attack's canary scores (:class:`~leakage.experiments.audit.targets.AuditScores`), and the tidy frames the
notebook shows and publishes (``audit-eps``, ``audit-curve``, ``audit-canaries``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from leakage.audit.bounds import (epsilon_lower_bound, family_confidence, one_run_epsilon, split_ceiling,
                                  split_sizes)
from leakage.experiments.audit.targets import AuditScores
from leakage.experiments.parameters import AuditParameters
from leakage.metrics import roc_auc


def audit_rows(model: str, epsilon: float, result: AuditScores, delta: float, confidence: float, *,
               seed: int = 0) -> list[dict]:
    """One row per attack: theoretical epsilon, eps_LB (threshold audit and one-run audit), AUC.

    ``eps_lb`` and ``eps_lb_one_run`` hold at ``confidence`` each (one attack, one audit). The chapter's best
    over attacks and audits needs ``eps_lb_family`` and ``eps_lb_one_run_family``: the same bounds at
    :func:`family_confidence` over ``family`` = 2 x attacks bounds, so that their maximum (:func:`tightest_bounds`)
    holds at ``confidence``. ``seed`` draws the threshold audit's split (the half that chooses the threshold);
    ``fpr``/``fnr`` are the chosen test's rates on the other half, ``ceiling`` a perfect attack's bound there.
    """
    rows = []
    m = len(result.included)
    family = 2 * len(result.scores)
    strict = family_confidence(confidence, family)
    ceiling = split_ceiling(result.included, delta, confidence, seed)
    for attack, scores in result.scores.items():
        threshold = epsilon_lower_bound(scores, result.included, delta, confidence, seed)
        one_run = one_run_epsilon(scores, result.included, delta, confidence)
        rows.append({"model": model, "target_epsilon": epsilon if epsilon else np.inf,
                     "accountant_epsilon": result.metrics["dp_epsilon"], "delta": delta, "attack": attack,
                     "canaries": m, "auc": roc_auc(scores, result.included),
                     "eps_lb": threshold.epsilon, "eps_lb_one_run": one_run.epsilon,
                     "eps_lb_family": epsilon_lower_bound(scores, result.included, delta, strict, seed).epsilon,
                     "eps_lb_one_run_family": one_run_epsilon(scores, result.included, delta, strict).epsilon,
                     "family": family, "ceiling": ceiling, "confidence": confidence, "fpr": threshold.fpr,
                     "fnr": threshold.fnr, "selection": threshold.selection})
    return rows


def curve_rows(model: str, epsilon: float, result: AuditScores, sizes: list[int], delta: float,
               confidence: float, *, seed: int = 0) -> list[dict]:
    """The threshold audit's eps_LB of every attack using only the first n canaries, for each n in ``sizes`` (one
    training run): ``eps_lb`` at ``confidence`` per attack, ``eps_lb_family`` at :func:`family_confidence` over
    the attacks (their maximum holds at ``confidence``). Sizes whose split leaves a half without included (or
    excluded) canaries are skipped."""
    rows = []
    strict = family_confidence(confidence, len(result.scores))
    for n in sizes:
        included = result.included[:n]
        if n > len(result.included) or n < 4 or min(split_sizes(included, seed)) == 0:
            continue
        ceiling = split_ceiling(included, delta, confidence, seed)
        for attack, scores in result.scores.items():
            rows.append({"model": model, "target_epsilon": epsilon if epsilon else np.inf, "attack": attack,
                         "canaries": n, "eps_lb": epsilon_lower_bound(scores[:n], included, delta, confidence,
                                                                      seed).epsilon,
                         "eps_lb_family": epsilon_lower_bound(scores[:n], included, delta, strict, seed).epsilon,
                         "ceiling": ceiling})
    return rows


def tightest_bounds(table: pd.DataFrame) -> pd.DataFrame:
    """Per model and epsilon: the best eps_LB over attacks and audits, each bound at the Bonferroni level of its
    family (``eps_lb_family``, ``eps_lb_one_run_family`` of :func:`audit_rows`), so the best holds at the
    table's ``confidence``; with the attack and audit that gave it."""
    audits = {"eps_lb_family": "threshold", "eps_lb_one_run_family": "one-run"}
    keys = ["model", "target_epsilon", "accountant_epsilon", "attack", "family", "confidence"]
    long = table[keys + list(audits)].melt(id_vars=keys, value_vars=list(audits), var_name="audit",
                                           value_name="eps_lb")
    long["audit"] = long.audit.map(audits)
    top = long.loc[long.groupby(["model", "target_epsilon"], sort=False)["eps_lb"].idxmax()]
    return top[["model", "target_epsilon", "accountant_epsilon", "attack", "audit", "eps_lb", "family",
                "confidence"]].rename(columns={"attack": "tightest_attack", "family": "bounds_compared"}
                                      ).reset_index(drop=True)


def epsilon_label(epsilon: float) -> str:
    """How the chapter's figures name a target epsilon: ``"no DP"`` for inf (or 0), else ``f"{epsilon:g}"``."""
    return "no DP" if not epsilon or np.isinf(epsilon) else f"{epsilon:g}"


def models_frame(results: Mapping[tuple[str, float], AuditScores]) -> pd.DataFrame:
    """The audited models, one row each: ``model``, ``target_epsilon`` (inf: no DP) and the target's numbers
    (``dp_epsilon`` of the accountant, ``noise_multiplier``, accuracies or final training loss, train size and
    seconds, the CNN's accuracy on included / excluded canaries)."""
    return pd.DataFrame([{"model": name, "target_epsilon": eps if eps else np.inf, **result.metrics}
                         for (name, eps), result in results.items()])


def eps_frame(results: Mapping[tuple[str, float], AuditScores], params: AuditParameters) -> pd.DataFrame:
    """Every model x epsilon x attack's bounds (:func:`audit_rows`, at the parameters' ``delta`` and
    ``confidence``; threshold splits drawn from ``seed``): the chapter's ``audit-eps`` table."""
    return pd.DataFrame([row for (name, eps), result in results.items()
                         for row in audit_rows(name, eps, result, params.delta, params.confidence,
                                               seed=params.seed)])


def curve_frame(results: Mapping[tuple[str, float], AuditScores], params: AuditParameters) -> pd.DataFrame:
    """The threshold audit's bounds on the first n canaries of each run (:func:`curve_rows`), n in the
    parameters' ``curve_sizes`` and every run's m, with an ``epsilon`` label column (:func:`epsilon_label`):
    the chapter's ``audit-curve`` table."""
    curve = pd.DataFrame([row for (name, eps), result in results.items()
                          for row in curve_rows(name, eps, result, sorted({*params.curve_sizes,
                                                                          len(result.included)}),
                                                params.delta, params.confidence, seed=params.seed)])
    curve["epsilon"] = curve.target_epsilon.map(epsilon_label)
    return curve


def best_curve(curve: pd.DataFrame) -> pd.DataFrame:
    """Per model, epsilon label and number of canaries: the best attack's ``eps_lb`` (the maximum of
    ``eps_lb_family``, so it holds at the curve's confidence) and the perfect attack's ``ceiling``."""
    return curve.groupby(["model", "epsilon", "canaries"], as_index=False).agg(eps_lb=("eps_lb_family", "max"),
                                                                              ceiling=("ceiling", "first"))


def canary_frame(results: Mapping[tuple[str, float], AuditScores]) -> pd.DataFrame:
    """Every canary's inclusion and score, one row per model, epsilon (inf: no DP), canary index and attack
    (higher score = member): the chapter's ``audit-canaries`` CSV and the claims' input."""
    return pd.concat([
        pd.DataFrame({"model": name, "target_epsilon": eps if eps else np.inf, "canary": np.arange(len(scores)),
                      "included": result.included, "attack": attack, "score": scores})
        for (name, eps), result in results.items() for attack, scores in result.scores.items()], ignore_index=True)
