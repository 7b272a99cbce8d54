"""The LLM chapter's claims (``llm_mia``) as tested hypotheses, from its published per-text frame.

Every function reads ``llm-scores``: one row per (target, epoch, attack, text) with columns ``target``,
``epoch`` (a checkpoint attacked), ``attack`` (the attack's label, e.g. ``loss``, ``reference (disjoint)``,
``min-k (20%)``), ``text`` (the index of the evaluation text in its target's pools), ``is_member`` and
``score`` (higher = member). A target's evaluation texts are the same at every epoch (its pools do not
depend on the epoch); :func:`score_matrix` checks that each text keeps its membership across epochs and
attacks and that every (epoch, attack) scores the same texts.

The resampling unit is the evaluation text, members and non-members resampled separately:

- an attack vs LOSS (:func:`reference_beats_loss`, :func:`mink_beats_loss`): the AUC difference of the two
  attacks scoring the same texts, averaged over the target's attacked checkpoints. Every bootstrap
  resample of texts serves both attacks at every checkpoint, so the CI reflects how the attacks and the
  checkpoints correlate. Averaging over checkpoints is what the papers' claim is about (an attack, not one
  amount of training), and it keeps the test informative where the last epoch saturates: a checkpoint at
  which both AUCs are 1 adds a difference of exactly 0 in every resample, which scales the effect and its
  CI alike and so leaves the verdict as the unsaturated checkpoints decide it;
- memorisation (:func:`memorisation`): AUC(LOSS, last epoch) - AUC(LOSS, first attacked epoch) on the
  same texts, the paired bootstrap of :func:`leakage.claims.stats.paired_auc_difference`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakage.claims.core import Evidence, hypothesis, not_comparable, require_columns, sides, sizes
from leakage.claims.stats import resampled_aucs, percentile_ci, stratified_resamples, paired_auc_difference
from leakage.metrics import _check, roc_auc
from leakage.seed import seeded_rng

CHAPTER = "llm_mia"
LOSS = "loss"
COLUMNS = ("target", "epoch", "attack", "text", "is_member", "score")
SATURATED = 0.99  # an AUC at or above this is "about 1": the attack separates (nearly) every text
UNIT = "texts per side"


def check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with the columns of ``llm-scores`` (raises ``ValueError`` naming what is missing or repeated)."""
    require_columns(scores, COLUMNS, "per-text score")
    repeated = scores.duplicated(["target", "epoch", "attack", "text"])
    if repeated.any():
        raise ValueError(f"the per-text score frame repeats {int(repeated.sum())} (target, epoch, attack, text) rows")
    return scores


def score_matrix(scores: pd.DataFrame, target: str, attacks: list[str]) -> tuple[list[int], dict, np.ndarray]:
    """(epochs, {(epoch, attack): scores (N,)}, is_member (N,)) of one target, texts in one order.

    Raises ``ValueError`` when an attack is missing at an epoch, when the epochs or attacks do not score the
    same texts, or when a text's membership differs between rows (then they are not the same texts).
    """
    rows = check_scores(scores)
    rows = rows[rows["target"] == target]
    if rows.empty:
        raise ValueError(f"no scores of target {target!r}; targets: {sorted(scores['target'].unique())}")
    membership = rows.groupby("text")["is_member"].nunique()
    if (membership > 1).any():
        raise ValueError(f"target {target!r}: texts {list(membership.index[membership > 1][:5])} change membership "
                         "between epochs or attacks, so they are not the same texts")
    texts = np.sort(rows["text"].unique())
    is_member = rows.groupby("text")["is_member"].first().reindex(texts).to_numpy().astype(bool)
    epochs = sorted(int(e) for e in rows["epoch"].unique())
    out = {}
    for epoch in epochs:
        for attack in attacks:
            cell = rows[(rows["epoch"] == epoch) & (rows["attack"] == attack)]
            if cell.empty:
                raise ValueError(f"target {target!r} has no {attack!r} scores at epoch {epoch}; attacks: "
                                 f"{sorted(rows.loc[rows['epoch'] == epoch, 'attack'].unique())}")
            if len(cell) != len(texts) or not np.array_equal(np.sort(cell["text"].to_numpy()), texts):
                raise ValueError(f"target {target!r}: {attack!r} at epoch {epoch} scores {len(cell)} texts, not the "
                                 f"{len(texts)} texts scored elsewhere")
            out[epoch, attack] = cell.set_index("text")["score"].reindex(texts).to_numpy(float)
    return epochs, out, is_member


def pooled_paired_auc_difference(pairs: list[tuple[np.ndarray, np.ndarray]], is_member: np.ndarray, *,
                                 n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """(mean over ``pairs`` of AUC(a) - AUC(b), 95% CI low, high) where every pair scores the same texts
    (e.g. two attacks at each checkpoint of one model): each bootstrap resample of texts (members and
    non-members separately) serves every pair, so the CI covers their correlation. One pair is
    :func:`leakage.claims.stats.paired_auc_difference`."""
    if not pairs:
        raise ValueError("pooled_paired_auc_difference needs at least one pair of score arrays")
    checked = [(_check(a, is_member)[0], _check(b, is_member)[0]) for a, b in pairs]
    _, is_member = _check(checked[0][0], is_member)
    sample, labels = stratified_resamples(is_member, n_boot, seeded_rng(seed))
    point = np.mean([roc_auc(a, is_member) - roc_auc(b, is_member) for a, b in checked])
    boot = np.mean([resampled_aucs(a, sample, labels) - resampled_aucs(b, sample, labels) for a, b in checked], axis=0)
    return (float(point), *percentile_ci(boot))


def _beats_loss(scores: pd.DataFrame, claim_id: str, attack: str, *, n_boot: int, seed: int) -> list[Evidence]:
    """One claim per target that scored ``attack``: it beats LOSS, averaged over the attacked checkpoints."""
    out = []
    for target in scores["target"].unique():
        present = scores.loc[scores["target"] == target, "attack"].unique()
        claim = f"{attack} beats LOSS ({target})"
        if attack not in present:
            out.append(not_comparable(claim_id, chapter=CHAPTER, claim=claim,
                                      reason=f"this build did not run {attack!r} against {target}"))
            continue
        epochs, by, is_member = score_matrix(scores, target, [attack, LOSS])
        pairs = [(by[e, attack], by[e, LOSS]) for e in epochs]
        effect, low, high = pooled_paired_auc_difference(pairs, is_member, n_boot=n_boot, seed=seed)
        aucs = {e: (roc_auc(by[e, attack], is_member), roc_auc(by[e, LOSS], is_member)) for e in epochs}
        saturated = [e for e, (a, b) in aucs.items() if min(a, b) >= SATURATED]
        detail = "; ".join(f"e{e}: {a:.3f} vs {b:.3f}" for e, (a, b) in aucs.items())
        note = f"AUC {attack} vs LOSS per epoch: {detail}"
        if saturated:
            note += (f". Both AUCs about 1 (>= {SATURATED}) at epoch(s) {', '.join(map(str, saturated))}: saturated, "
                     "the attacks can barely differ there, which shrinks the mean and its CI alike; the other "
                     "epochs decide the verdict")
        out.append(hypothesis(claim_id, chapter=CHAPTER, claim=claim,
                              statistic=f"mean over epochs {epochs} of AUC({attack}) - AUC(LOSS), same texts",
                              effect=effect, ci=(low, high), **sizes(*sides(is_member), UNIT, detail="texts"),
                              note=note, extra={"aucs": aucs, "epochs": epochs}))
    return out


def reference_beats_loss(scores: pd.DataFrame, *, references: list[str] | None = None, n_boot: int = 1000,
                         seed: int = 0) -> list[Evidence]:
    """Carlini et al. 2021 / mimir: reference-model calibration beats plain LOSS; one claim per target and
    reference attack (default: every ``reference (...)`` attack in ``scores``)."""
    scores = check_scores(scores)
    labels = references or sorted(a for a in scores["attack"].unique() if str(a).startswith("reference"))
    if not labels:
        return [not_comparable("llm-reference-beats-loss", chapter=CHAPTER, claim="reference beats LOSS",
                               reason="this build ran no reference-model attack")]
    out = []
    for label in labels:
        runs = scores[scores["attack"].isin([label, LOSS])]
        # a target without this reference (e.g. a scratch model has no 'base') is left out, not "not comparable"
        has = runs.groupby("target")["attack"].nunique() == 2
        out += _beats_loss(runs[runs["target"].isin(has.index[has])], "llm-reference-beats-loss", label,
                           n_boot=n_boot, seed=seed)
    return out


def mink_beats_loss(scores: pd.DataFrame, *, attack: str = "min-k (20%)", n_boot: int = 1000, seed: int = 0
                    ) -> list[Evidence]:
    """Shi et al. 2023: Min-k% Prob (``attack``, its label in ``scores``) beats LOSS; one claim per target."""
    return _beats_loss(check_scores(scores), "llm-mink-beats-loss", attack, n_boot=n_boot, seed=seed)


def memorisation(scores: pd.DataFrame, *, attack: str = LOSS, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """Yeom et al. 2018 / mimir: attacks grow stronger the more the model has memorised. Per target,
    AUC(``attack``, last epoch) - AUC(``attack``, first attacked epoch) on the same texts (paired bootstrap
    over texts); a target attacked at one epoch only is not comparable."""
    scores = check_scores(scores)
    out = []
    for target in scores["target"].unique():
        claim = f"{'LOSS' if attack == LOSS else attack} AUC grows with training ({target})"
        epochs, by, is_member = score_matrix(scores, target, [attack])
        if len(epochs) < 2:
            out.append(not_comparable("llm-memorisation", chapter=CHAPTER, claim=claim,
                                      reason=f"{target} was attacked at epoch {epochs[0]} only"))
            continue
        first, last = epochs[0], epochs[-1]
        effect, low, high = paired_auc_difference(by[last, attack], by[first, attack], is_member, n_boot=n_boot,
                                                  seed=seed)
        aucs = {e: roc_auc(by[e, attack], is_member) for e in epochs}
        note = "AUC per epoch: " + "; ".join(f"e{e}: {a:.3f}" for e, a in aucs.items())
        if min(aucs[first], aucs[last]) >= SATURATED:
            note += (f". Saturated: the AUC is about 1 (>= {SATURATED}) already at epoch {first}, so further "
                     "memorisation cannot raise it")
        out.append(hypothesis("llm-memorisation", chapter=CHAPTER, claim=claim,
                              statistic=f"AUC({attack}, epoch {last}) - AUC({attack}, epoch {first}), same texts",
                              effect=effect, ci=(low, high), **sizes(*sides(is_member), UNIT, detail="texts"),
                              note=note, extra={"aucs": aucs}))
    return out


def llm_claims(scores: pd.DataFrame, *, mink_attack: str = "min-k (20%)", n_boot: int = 1000, seed: int = 0
               ) -> list[Evidence]:
    """Every claim of the chapter, in scorecard order."""
    return [*reference_beats_loss(scores, n_boot=n_boot, seed=seed),
            *mink_beats_loss(scores, attack=mink_attack, n_boot=n_boot, seed=seed),
            *memorisation(scores, n_boot=n_boot, seed=seed)]


__all__ = ["CHAPTER", "COLUMNS", "SATURATED", "check_scores", "llm_claims", "memorisation", "mink_beats_loss",
           "pooled_paired_auc_difference", "reference_beats_loss", "score_matrix"]
