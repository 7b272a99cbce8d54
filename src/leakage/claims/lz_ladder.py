"""The threat-model ladder's claims (``lz_ladder``) as tested hypotheses on the chapter's per-candidate scores.

Frame, as the chapter publishes it (``lz-ladder-scores``): one row per (target, attack, candidate): ``dataset``,
``model`` ("M-i"), ``threat`` ("label-only" or "score-based"), ``attack`` (baseline, transfer, boundary,
augmentation, noise, ML-Leaks, RMIA, LiRA), ``candidate`` (index in the data set), ``is_member``, ``score``
(higher = member). Every attack of a target scores the same candidates.

Claims (from the papers behind the ladder's attacks, none with a number to match):

- ``ladder-rmia-vs-lira`` and ``ladder-rmia-vs-lira-tpr`` (Zarifzadeh et al., ICML 2024): with few reference
  models RMIA at least matches LiRA: AUC(RMIA) - AUC(LiRA), and the same for TPR at 1% FPR, above
  -PAPER_TOLERANCE on every target (non-inferiority; shown on the deciding target, an intersection-union test);
- ``ladder-label-only-auc`` (Li & Zhang, CCS 2021; Choquette-Choo et al., ICML 2021): on an overfit target the
  best label-only attack comes within PAPER_TOLERANCE of the best score-based one in AUC;
- ``ladder-label-only-lowfpr`` (Carlini et al., S&P 2022's argument for low FPRs): but at 0.1% FPR it stays more
  than PAPER_TOLERANCE below it in TPR.

The overfit target is the build's most overfit one: the highest i of M-i (the smallest D_train, Li & Zhang's
Table 7; the lz_targets chapter checks that the train-test gap grows with i). "Best" is taken inside every
bootstrap resample (the best attack of each threat model on that resample), so the interval covers the choice.

Resampling unit: **candidates**, members and non-members resampled separately within a target; one resample
serves every attack of the target (paired). A target trained once: training noise is not in these CIs.
TPR at an FPR f on n non-members is the TPR of the best threshold with at most floor(f n) false positives
(:func:`leakage.metrics.allowed_false_positives`). Below f = 1/n it would be the TPR at no false positive at all,
another statistic (:func:`leakage.metrics.fpr_resolution`): a claim at such an FPR is "not comparable" (not
testable at this sample size: with fewer than 1,000 non-members per target for 0.1% FPR, fewer than 100 for 1%).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from leakage.claims.core import (PAPER_TOLERANCE, Evidence, enough_per_side, hypothesis, model_order, not_comparable,
                                 require_columns, sides, sizes)
from leakage.claims.lz_transfer import deciding
from leakage.claims.stats import percentile_ci, resampled_aucs, stratified_resamples
from leakage.metrics import allowed_false_positives, fpr_resolution
from leakage.metrics import resampled_tprs as _batched_tprs
from leakage.metrics import roc_auc, tpr_at_fpr
from leakage.seed import seeded_rng

CHAPTER = "lz_ladder"
LABEL_ONLY, SCORE_BASED = "label-only", "score-based"
SCORE_COLUMNS = ("dataset", "model", "threat", "attack", "candidate", "is_member", "score")
UNIT = "candidates per side"
#: The statistics the claims use: name -> max FPR (None = AUC).
STATISTICS: dict[str, float | None] = {"auc": None, "tpr_at_1pct_fpr": 0.01, "tpr_at_0.1pct_fpr": 0.001}
NAMES = {"auc": "AUC", "tpr_at_1pct_fpr": "TPR at 1% FPR", "tpr_at_0.1pct_fpr": "TPR at 0.1% FPR"}


# --------------------------------------------------------------------------- helpers


def resampled_tprs(scores: np.ndarray, sample: np.ndarray, labels: np.ndarray, max_fpr: float) -> np.ndarray:
    """TPR at ``max_fpr`` (B,) of ``scores`` on each resample (``sample`` (B, N) indices, ``labels`` (N,) their
    membership, from :func:`leakage.claims.stats.stratified_resamples`), batched
    (:func:`leakage.metrics.resampled_tprs`: what :func:`leakage.metrics.tpr_at_fpr` gives on each resample, ties
    and +/-inf included)."""
    return _batched_tprs(scores[sample], labels, max_fpr)


def statistic_of(name: str, scores: np.ndarray, is_member: np.ndarray) -> float:
    """``name`` of :data:`STATISTICS` of one attack's scores (N,)."""
    fpr = STATISTICS[name]
    return roc_auc(scores, is_member) if fpr is None else tpr_at_fpr(scores, is_member, fpr)


def target_matrix(scores: pd.DataFrame, dataset: str, model: str) -> tuple[list[str], list[str], np.ndarray,
                                                                             np.ndarray]:
    """(attacks, their threat models, scores (N, A), is_member (N,)) of one target: one column per attack, rows
    the candidates. Raises ``ValueError`` when the attacks do not score the same candidates or disagree on a
    candidate's membership."""
    part = scores[(scores.dataset == dataset) & (scores.model == model)]
    wide = part.pivot_table(index="candidate", columns="attack", values="score", aggfunc="first")
    if wide.isna().any().any():
        raise ValueError(f"every attack on {model} ({dataset}) must score the same candidates; some lack scores")
    membership = part.groupby("candidate")["is_member"].agg(["min", "max"]).loc[wide.index]
    if (membership["min"] != membership["max"]).any():
        raise ValueError("a candidate is a member in one row and a non-member in another")
    attacks = [a for a in dict.fromkeys(part.attack)]  # the frame's order
    threat = part.groupby("attack")["threat"].first()
    return attacks, [threat[a] for a in attacks], wide[attacks].to_numpy(float), membership["min"].to_numpy(bool)


def paired_statistics(values: np.ndarray, is_member: np.ndarray, name: str, *, n_boot: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(statistic ``name`` per attack (A,), on every resample (B, A)) of scores ``values`` (N, A): one stratified
    resample of candidates serves every attack (paired)."""
    sample, labels = stratified_resamples(is_member, n_boot, rng)
    fpr = STATISTICS[name]
    point = np.array([statistic_of(name, values[:, a], is_member) for a in range(values.shape[1])])
    boot = np.stack([resampled_aucs(values[:, a], sample, labels) if fpr is None
                     else resampled_tprs(values[:, a], sample, labels, fpr) for a in range(values.shape[1])], 1)
    return point, boot


def _too_few(claim_id: str, claim: str, statistic: str, why: str, *, null: float, direction: int) -> Evidence:
    nan = float("nan")
    evidence = hypothesis(claim_id, chapter=CHAPTER, claim=claim, statistic=statistic, effect=nan, ci=(nan, nan),
                          null=null, direction=direction, n=why, unit=UNIT, n_unit=0, ours="too few candidates",
                          note="no CI: a bootstrap needs at least 2 members and 2 non-members per target")
    return replace(evidence, needed="more than 2 candidates per side on every target")


def resolution_note(is_member: np.ndarray, name: str) -> str:
    """What TPR at ``name``'s FPR means on these candidates (how many false positives it allows)."""
    fpr = STATISTICS[name]
    if fpr is None:
        return ""
    non = int((~is_member).sum())
    k = allowed_false_positives(non, fpr)
    return f"{NAMES[name]} on {non} non-members allows {k} false positive{'s' if k != 1 else ''}"


def unresolved(claim_id: str, claim: str, statistic: str, name: str, targets: dict[str, np.ndarray]
               ) -> Evidence | None:
    """A "not comparable" verdict (not testable at this sample size) when some target's non-members in
    ``targets`` (model -> is_member (N,)) cannot resolve ``name``'s FPR (:func:`leakage.metrics.fpr_resolution`):
    the TPR there would be the TPR at zero false positives, not the claim's statistic. None when all can."""
    fpr = STATISTICS[name]
    if fpr is None:
        return None
    short = {model: fpr_resolution(int((~members).sum()), fpr) for model, members in targets.items()
             if (~members).any()}
    short = {model: r for model, r in short.items() if not r.resolvable}
    if not short:
        return None
    model, first = next(iter(short.items()))
    reason = (f"not testable at this sample size: {NAMES[name]} needs at least {first.needed:,} non-members per "
              f"target, and {', '.join(f'{m} has {r.n_non_members:,}' for m, r in short.items())}; below that no "
              f"threshold has an FPR between 0 and 1/n, so the TPR would be the TPR at zero false positives")
    counts = "; ".join(f"{m}: {sizes(*sides(targets[m]), UNIT)['n']}" for m in short)
    return not_comparable(claim_id, chapter=CHAPTER, claim=claim, reason=reason, statistic=statistic, n=counts,
                          unit=UNIT, ours=f"not testable with {first.n_non_members:,} non-members ({model})")


# --------------------------------------------------------------------------- the claims


def rmia_vs_lira(scores: pd.DataFrame, dataset: str, *, reference_models: int, name: str = "auc",
                 n_boot: int = 1000, seed: int = 0) -> Evidence:
    """``ladder-rmia-vs-lira`` (``name`` "auc") / ``ladder-rmia-vs-lira-tpr`` ("tpr_at_1pct_fpr"): with
    ``reference_models`` reference models each, RMIA's statistic minus LiRA's is above -PAPER_TOLERANCE on
    every target of ``dataset`` (non-inferiority, paired bootstrap over candidates per target, shown on the
    deciding target, :func:`leakage.claims.lz_transfer.deciding`: reproduced only if every target's CI lies above
    the margin, contradicted if one lies wholly below it)."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    claim_id = "ladder-rmia-vs-lira" if name == "auc" else "ladder-rmia-vs-lira-tpr"
    claim = (f"RMIA at least matches LiRA in {NAMES[name]} with {reference_models} reference models each, on every "
             f"target ({dataset})")
    statistic = f"{NAMES[name]}(RMIA) - {NAMES[name]}(LiRA), deciding target"
    part = scores[(scores.dataset == dataset) & scores.attack.isin(["RMIA", "LiRA"])]
    if set(part.attack) != {"RMIA", "LiRA"}:
        return not_comparable(claim_id, chapter=CHAPTER, claim=claim,
                              reason=f"RMIA and LiRA were not both run on {dataset}")
    matrices = {model: target_matrix(part, dataset, model) for model in model_order(part.model)}
    untestable = unresolved(claim_id, claim, statistic, name, {m: t[3] for m, t in matrices.items()})
    if untestable is not None:
        return untestable
    parts = []
    rng = seeded_rng(seed)
    for model in model_order(part.model):
        attacks, _, values, is_member = matrices[model]
        if not enough_per_side(is_member):
            return _too_few(claim_id, claim, statistic, f"{model}: {sizes(*sides(is_member), UNIT)['n']}",
                            null=-PAPER_TOLERANCE, direction=1)
        values = values[:, [attacks.index("RMIA"), attacks.index("LiRA")]]
        point, boot = paired_statistics(values, is_member, name, n_boot=n_boot, rng=rng)
        low, high = percentile_ci(boot[:, 0] - boot[:, 1])
        parts.append({"model": model, "effect": float(point[0] - point[1]), "low": low, "high": high,
                      "is_member": is_member, "values": point})
    worst = next(p for p in parts if p["model"] == deciding({p["model"]: (p["effect"], p["low"], p["high"])
                                                             for p in parts}, -PAPER_TOLERANCE, 1))
    ours = "; ".join(f"{p['model']}: RMIA {p['values'][0]:.3f} vs LiRA {p['values'][1]:.3f}, {p['effect']:+.3f} "
                     f"[{p['low']:+.3f}, {p['high']:+.3f}]" for p in parts)
    note = "; ".join(filter(None, [
        f"'at least matches' read as at most {PAPER_TOLERANCE} below; one CI per target, reproduced if all lie "
        "above, contradicted if one lies wholly below", resolution_note(worst["is_member"], name)]))
    return hypothesis(claim_id, chapter=CHAPTER, claim=claim, statistic=statistic, effect=worst["effect"],
                      ci=(worst["low"], worst["high"]), null=-PAPER_TOLERANCE, direction=1,
                      **sizes(*sides(worst["is_member"]), UNIT), ours=ours, note=note,
                      extra={"per_target": {p["model"]: (p["effect"], p["low"], p["high"]) for p in parts}})


def overfit_target(scores: pd.DataFrame, dataset: str) -> str:
    """The most overfit target of ``dataset`` in this build: the highest i of M-i (the smallest D_train)."""
    return model_order(scores.loc[scores.dataset == dataset, "model"])[-1]


def label_only_vs_score_based(scores: pd.DataFrame, dataset: str, *, name: str = "auc", n_boot: int = 1000,
                              seed: int = 0) -> Evidence:
    """On the most overfit target (:func:`overfit_target`), the best label-only attack's statistic minus the best
    score-based attack's, both taken inside every resample (paired bootstrap over candidates).

    - ``name`` "auc": ``ladder-label-only-auc``, the label-only attacks approach the score-based ones: the
      difference is above -PAPER_TOLERANCE;
    - ``name`` "tpr_at_0.1pct_fpr": ``ladder-label-only-lowfpr``, but not at 0.1% FPR: the difference is below
      -PAPER_TOLERANCE; "not comparable" (not testable at this sample size) with fewer than 1,000 non-members.
    """
    require_columns(scores, SCORE_COLUMNS, "scores")
    auc = name == "auc"
    claim_id = "ladder-label-only-auc" if auc else "ladder-label-only-lowfpr"
    model = overfit_target(scores, dataset)
    claim = (f"on the most overfit target ({model}, {dataset}) the best label-only attack comes within "
             f"{PAPER_TOLERANCE} of the best score-based attack in AUC" if auc else
             f"on the most overfit target ({model}, {dataset}) the best label-only attack stays more than "
             f"{PAPER_TOLERANCE} below the best score-based attack in TPR at 0.1% FPR")
    statistic = f"best label-only {NAMES[name]} - best score-based {NAMES[name]}"
    direction = 1 if auc else -1
    attacks, threats, values, is_member = target_matrix(scores, dataset, model)
    label_only = [a for a, t in enumerate(threats) if t == LABEL_ONLY]
    score_based = [a for a, t in enumerate(threats) if t == SCORE_BASED]
    if not label_only or not score_based:
        return not_comparable(claim_id, chapter=CHAPTER, claim=claim,
                              reason=f"{model} was not attacked under both threat models")
    untestable = unresolved(claim_id, claim, statistic, name, {model: is_member})
    if untestable is not None:
        return untestable
    if not enough_per_side(is_member):
        return _too_few(claim_id, claim, statistic, sizes(*sides(is_member), UNIT)["n"], null=-PAPER_TOLERANCE,
                        direction=direction)
    point, boot = paired_statistics(values, is_member, name, n_boot=n_boot, rng=seeded_rng(seed))
    effect = float(point[label_only].max() - point[score_based].max())
    low, high = percentile_ci(boot[:, label_only].max(1) - boot[:, score_based].max(1))
    best_label = attacks[label_only[int(np.argmax(point[label_only]))]]
    best_score = attacks[score_based[int(np.argmax(point[score_based]))]]
    ours = (f"{best_label} {point[attacks.index(best_label)]:.3f} vs {best_score} "
            f"{point[attacks.index(best_score)]:.3f}: {effect:+.3f} [{low:+.3f}, {high:+.3f}]")
    note = "; ".join(filter(None, [
        "the best attack of each threat model taken in every resample (the CI covers the choice)",
        f"'within' read as at most {PAPER_TOLERANCE} below" if auc else
        f"'not approaching' read as more than {PAPER_TOLERANCE} below", resolution_note(is_member, name)]))
    return hypothesis(claim_id, chapter=CHAPTER, claim=claim, statistic=statistic, effect=effect, ci=(low, high),
                      null=-PAPER_TOLERANCE, direction=direction, **sizes(*sides(is_member), UNIT), ours=ours,
                      note=note,
                      extra={"per_attack": dict(zip(attacks, point.tolist()))})


def chapter_claims(scores: pd.DataFrame, *, reference_models: int, n_boot: int = 1000, seed: int = 0
                   ) -> list[Evidence]:
    """Every claim of the chapter, per data set, in the scorecard's order."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    evidence: list[Evidence] = []
    kw = {"n_boot": n_boot, "seed": seed}
    for dataset in dict.fromkeys(scores.dataset):
        evidence += [rmia_vs_lira(scores, dataset, reference_models=reference_models, name="auc", **kw),
                     rmia_vs_lira(scores, dataset, reference_models=reference_models, name="tpr_at_1pct_fpr", **kw),
                     label_only_vs_score_based(scores, dataset, name="auc", **kw),
                     label_only_vs_score_based(scores, dataset, name="tpr_at_0.1pct_fpr", **kw)]
    return evidence
