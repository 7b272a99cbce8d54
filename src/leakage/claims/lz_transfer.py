"""The transfer-attack chapter's claims (``lz_transfer``; Li & Zhang, Figs. 2, 3, 5 and Table 2) as tested
hypotheses on its published per-candidate frames.

Frames, as the chapter publishes them:

- ``scores`` (``lz-scores``): one row per (target, attack, candidate): ``dataset``, ``model`` (``M-i``),
  ``attack`` (``baseline``, ``transfer``, ``score-based``), ``variant`` (for the transfer attack
  ``"<statistic>, <rule>"``: statistic ``loss`` / ``max_confidence`` / ``entropy``, rule ``lowest``
  (misclassified candidates scored lowest, the authors' code) or ``keep``), ``candidate`` (the candidate's
  index in the data set), ``is_member``, ``score`` (higher = member);
- ``grid`` (``lz-fig3-scores``): the Fig. 3 grid against one target: ``dataset``, ``model``,
  ``shadow_width``, ``shadow_size``, ``candidate``, ``is_member``, ``score``;
- ``ace`` (``lz-tab2-ace``): ``dataset``, ``model``, ``candidate``, ``is_member``, ``ace`` (Table 2's
  average cross-entropy to the other labels).

Resampling units: attacks or statistics scoring the same candidates of one target are compared with a
paired bootstrap over **candidates** (members and non-members resampled separately; one resample serves
every attack). A claim "on every target" gets one CI per target (each target's candidates resampled on
their own) and is shown on the **deciding target** (:func:`deciding`): it is reproduced only when every
target's CI lies on the paper's side (an intersection-union test, valid without a multiplicity correction),
and contradicted when some target's CI lies wholly on the other side. (The minimum over targets taken inside
each bootstrap resample would be biased toward the other side: each resample adds its noise to the noise of
the estimates, so the resampled minimum sits below the estimated one.) Trends across M-0..M-5 use
:func:`leakage.claims.stats.auc_trend` (targets and candidates resampled). Training noise (one shadow
and one target per cell) is not covered by these CIs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakage.claims.core import (PAPER_TOLERANCE, Evidence, equivalence, hypothesis, model_index, model_order,
                                 not_comparable, require_columns, sides, sizes)
from leakage.claims.paper import paper_entry
from leakage.claims.stats import resampled_aucs, percentile_ci, stratified_resamples, auc_ci, auc_trend, mean_difference
from leakage.metrics import roc_auc
from leakage.seed import seeded_rng

CHAPTER = "lz_transfer"
SCORE_COLUMNS = ("dataset", "model", "attack", "variant", "candidate", "is_member", "score")
GRID_COLUMNS = ("dataset", "model", "shadow_width", "shadow_size", "candidate", "is_member", "score")
ACE_COLUMNS = ("dataset", "model", "candidate", "is_member", "ace")
BASELINE = ("baseline", "-")
TRANSFER = ("transfer", "loss, lowest")  # the paper's transfer attack (Fig. 2)
# Fig. 5 compares the statistics without the misclassification rule: with it, every misclassified
# candidate gets the lowest score under all three, and on the rest the true label is the predicted one, so
# loss = -log max confidence ranks them exactly as max confidence does (their AUCs would be equal by
# construction).
FIG5_RULE = "keep"
FIG5_OTHERS = ("max_confidence", "entropy")
# "At least on par" (Fig. 2): AUC(transfer) is above AUC(baseline) - ON_PAR_MARGIN on every target. The
# paper gives no margin; this is the scorecard's tolerance for a published AUC (PAPER_TOLERANCE): a
# difference it would not tell apart from the paper's own number.
ON_PAR_MARGIN = PAPER_TOLERANCE
UNIT = "candidates per side"


# --------------------------------------------------------------------------- resampling


def paired_aucs(cells: list[pd.DataFrame], *, n_boot: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(AUC per cell (K,), bootstrapped AUCs (B, K), members, non-members) of K cells that score the same
    candidates (columns ``candidate``, ``is_member``, ``score``): one stratified resample of candidates
    serves every cell, so differences between cells are paired.

    Raises ``ValueError`` when a cell repeats a candidate, scores other candidates than the first, gives a
    candidate another membership, or when members or non-members are missing.
    """
    if not cells:
        raise ValueError("paired_aucs needs at least one cell")
    first = cells[0].set_index("candidate")
    if first.index.duplicated().any():
        raise ValueError("a cell scores a candidate twice")
    ids = first.index
    is_member = first["is_member"].to_numpy().astype(bool)
    n_members, n_non = int(is_member.sum()), int((~is_member).sum())
    if not n_members or not n_non:
        raise ValueError("the candidates need members and non-members")
    values = []
    for cell in cells:
        cell = cell.set_index("candidate")
        if cell.index.duplicated().any() or len(cell) != len(ids) or not cell.index.isin(ids).all():
            raise ValueError("the cells compared must score the same candidates (paired comparison); they do not")
        cell = cell.reindex(ids)
        if (cell["is_member"].to_numpy().astype(bool) != is_member).any():
            raise ValueError("a candidate is a member in one cell and a non-member in another")
        values.append(cell["score"].to_numpy(float))
    sample, labels = stratified_resamples(is_member, n_boot, rng)
    point = np.array([roc_auc(v, is_member) for v in values])
    boot = np.stack([resampled_aucs(v, sample, labels) for v in values], 1)
    return point, boot, n_members, n_non


def _cell(scores: pd.DataFrame, dataset: str, model: str, attack: str, variant: str) -> pd.DataFrame:
    cell = scores[(scores["dataset"] == dataset) & (scores["model"] == model) & (scores["attack"] == attack)
                  & (scores["variant"] == variant)]
    if cell.empty:
        raise ValueError(f"no scores of {attack} ({variant}) against {model} of {dataset}")
    return cell


def deciding(per: dict[str, tuple[float, float, float]], null: float, direction: int) -> str:
    """Which of several (effect, CI low, CI high) decides "the effect lies on the paper's side for every one":
    one whose CI lies wholly on the other side of ``null`` if any (the furthest), else the one whose CI
    reaches furthest toward the other side. Its own verdict is then the claim's (intersection-union test)."""
    if not per:
        raise ValueError("no cases to decide on")
    toward = {k: (direction * (hi if direction == 1 else lo), direction * (lo if direction == 1 else hi))
              for k, (_, lo, hi) in per.items()}  # (far edge, near edge) on the paper's axis
    against = [k for k, (far, _) in toward.items() if far < direction * null]
    if against:
        return min(against, key=lambda k: toward[k][0])
    return min(per, key=lambda k: toward[k][1])


def _per_target(scores: pd.DataFrame, dataset: str, pairs: list[tuple[str, str]], *, n_boot: int, seed: int,
                combine) -> dict[str, tuple[float, float, float, int, int]]:
    """Per target: (statistic, CI low, high, members, non-members) of ``combine(aucs)`` over the cells
    ``pairs`` (attack, variant), e.g. a paired difference; each target's candidates resampled on their own."""
    rng = seeded_rng(seed)
    out = {}
    for model in model_order(scores.loc[scores["dataset"] == dataset, "model"]):
        cells = [_cell(scores, dataset, model, a, v) for a, v in pairs]
        point, boot, members, non = paired_aucs(cells, n_boot=n_boot, rng=rng)
        out[model] = (float(combine(point[None])[0]), *percentile_ci(combine(boot)), members, non)
    return out


def every_target(claim_id: str, per: dict, *, dataset: str, claim: str, statistic: str, null: float,
                 note: str = "") -> Evidence:
    """The Evidence of a claim on every target, from per-target (effect, low, high, members, non-members),
    shown on the deciding target (:func:`deciding`), named in the claim and statistic."""
    worst = deciding({k: v[:3] for k, v in per.items()}, null, 1)
    effect, low, high, members, non = per[worst]
    return hypothesis(
        claim_id, chapter=CHAPTER, claim=f"{claim} on every target; shown: the deciding one, {worst} ({dataset})",
        statistic=f"{statistic} on {worst}", effect=effect, ci=(low, high), null=null, direction=1,
        **sizes(members, non, UNIT),
        note="; ".join(filter(None, [note, "one CI per target: reproduced if all lie on the paper's side, "
                                           "contradicted if one lies wholly off it"])),
        ours="; ".join(f"{m} {v[0]:+.3f} [{v[1]:+.3f}, {v[2]:+.3f}]" for m, v in per.items()),
        extra={"per_target": {k: v[:3] for k, v in per.items()}})


# --------------------------------------------------------------------------- the claims


def transfer_on_par(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig2-transfer-vs-baseline, one Evidence per data set: on every target, AUC(transfer) -
    AUC(baseline) is above -:data:`ON_PAR_MARGIN` (non-inferiority; paired bootstrap over candidates; shown
    on the deciding target)."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    return [every_target("lz-fig2-transfer-vs-baseline",
                         _per_target(scores, dataset, [TRANSFER, BASELINE], n_boot=n_boot, seed=seed,
                                     combine=lambda a: a[:, 0] - a[:, 1]),
                         dataset=dataset, claim="transfer attack at least on par with the baseline",
                         statistic="AUC(transfer) - AUC(baseline)", null=-ON_PAR_MARGIN,
                         note=f"'on par' read as a difference above -{ON_PAR_MARGIN:g}")
            for dataset in scores["dataset"].unique()]


def transfer_trend(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig2-trend, one Evidence per data set: the transfer AUC rises from M-0 to M-5. Statistic: the
    slope of AUC on the model index; two-stage bootstrap over targets and candidates (:func:`auc_trend`)."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    out = []
    for dataset in scores["dataset"].unique():
        models = model_order(scores.loc[scores["dataset"] == dataset, "model"])
        claim = f"transfer AUC rises from M-0 to M-5 ({dataset})"
        if len(models) < 3:
            out.append(not_comparable("lz-fig2-trend", chapter=CHAPTER, claim=claim,
                                      reason=f"only {len(models)} targets in this build; a trend needs 3"))
            continue
        cells = [_cell(scores, dataset, m, *TRANSFER) for m in models]
        groups = [(c["score"].to_numpy(float), c["is_member"].to_numpy().astype(bool)) for c in cells]
        slope, low, high = auc_trend(groups, model_index(models).astype(float), n_boot=n_boot, seed=seed)
        aucs = [roc_auc(*g) for g in groups]
        n_members, n_non = min(int(g[1].sum()) for g in groups), min(int((~g[1]).sum()) for g in groups)
        out.append(hypothesis(
            "lz-fig2-trend", chapter=CHAPTER, claim=claim, statistic="slope of the transfer AUC per target step",
            effect=slope, ci=(low, high), null=0.0, direction=1,
            n=f"{len(models)} targets x {n_members}+ members + {n_non}+ non-members", unit="targets",
            n_unit=len(models),
            ours=f"{slope:+.3f} [{low:+.3f}, {high:+.3f}] per step; AUC "
                 + ", ".join(f"{m} {a:.3f}" for m, a in zip(models, aucs)),
            note="two-stage bootstrap: targets, and candidates within each"))
    return out


def _published_dataset(scores: pd.DataFrame, claim_id: str) -> tuple[str, bool]:
    """(the data set to measure, whether it is the paper's): the paper's when this build has it, else the
    build's first."""
    wanted = paper_entry(claim_id).dataset
    datasets = list(scores["dataset"].unique())
    return (wanted, True) if wanted in datasets else (datasets[0], False)


def m5_published(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig2-m5-transfer and lz-fig2-m5-baseline: M-5's AUCs against the paper's (CIFAR-10) numbers, within
    PAPER_TOLERANCE; not comparable when this build has no CIFAR-10 (measured on its first data set)."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    out = []
    for claim_id, (attack, variant) in (("lz-fig2-m5-transfer", TRANSFER), ("lz-fig2-m5-baseline", BASELINE)):
        dataset, comparable = _published_dataset(scores, claim_id)
        wanted = paper_entry(claim_id).dataset
        claim = f"M-5 {attack} attack AUC matches the paper's ({wanted})"
        if "M-5" not in set(scores.loc[scores["dataset"] == dataset, "model"]):
            out.append(not_comparable(claim_id, chapter=CHAPTER, claim=claim, reason="this build has no M-5"))
            continue
        cell = _cell(scores, dataset, "M-5", attack, variant)
        is_member = cell["is_member"].to_numpy().astype(bool)
        auc, low, high = auc_ci(cell["score"].to_numpy(float), is_member, n_boot=n_boot, seed=seed)
        out.append(equivalence(
            claim_id, chapter=CHAPTER, claim=claim, statistic=f"AUC of the {attack} attack against M-5 ({dataset})",
            estimate=auc, ci=(low, high), **sizes(*sides(is_member), UNIT),
            comparable=comparable, reason="" if comparable else f"this build's data set is {dataset}, not {wanted}",
            ours=f"{dataset}: {auc:.3f} [{low:.3f}, {high:.3f}]"))
    return out


def shadow_size_helps(grid: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> Evidence:
    """lz-fig3-shadow-size: a larger shadow data set gives a higher transfer AUC. Statistic: the mean over
    shadow widths of AUC(largest shadow set) - AUC(smallest), every grid cell scoring the same candidates of
    one target (one paired resample for all cells)."""
    require_columns(grid, GRID_COLUMNS, "Fig. 3 grid")
    claim = "a larger shadow data set gives a higher transfer AUC (mean over shadow widths)"
    shadow_sizes = sorted(grid["shadow_size"].unique())
    if len(shadow_sizes) < 2 or grid[["dataset", "model"]].drop_duplicates().shape[0] != 1:
        return not_comparable("lz-fig3-shadow-size", chapter=CHAPTER, claim=claim,
                              reason=f"the grid needs two shadow sizes against one target; this build has "
                                     f"{len(shadow_sizes)} size(s)")
    small, large = shadow_sizes[0], shadow_sizes[-1]
    widths = sorted(grid["shadow_width"].unique())
    cells = [grid[(grid["shadow_width"] == w) & (grid["shadow_size"] == s)] for w in widths for s in (small, large)]
    if any(c.empty for c in cells):
        raise ValueError("the Fig. 3 grid lacks a (width, size) cell")
    point, boot, n_members, n_non = paired_aucs(cells, n_boot=n_boot, rng=seeded_rng(seed))
    gains = {w: float(point[2 * i + 1] - point[2 * i]) for i, w in enumerate(widths)}
    effect = float(np.mean(list(gains.values())))
    low, high = percentile_ci((boot[:, 1::2] - boot[:, 0::2]).mean(1))
    target = f"{grid['model'].iloc[0]} of {grid['dataset'].iloc[0]}"
    return hypothesis(
        "lz-fig3-shadow-size", chapter=CHAPTER, claim=claim + f" ({target})",
        statistic=f"mean over widths of AUC(shadow set {large}) - AUC({small})", effect=effect, ci=(low, high),
        null=0.0, direction=1, **sizes(n_members, n_non, UNIT),
        ours=f"{effect:+.3f} [{low:+.3f}, {high:+.3f}]; " + "; ".join(f"width {w}: {g:+.3f}" for w, g in gains.items()),
        note="candidates resampled; one shadow trained per cell", extra={"gain": gains})


def loss_is_best(scores: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-fig5-loss-best, one Evidence per data set: on every target, AUC(loss) - max(AUC(max confidence),
    AUC(entropy)) > 0, without the misclassification rule (:data:`FIG5_RULE`); paired over candidates (the
    better of the two others taken inside each resample); shown on the deciding target."""
    require_columns(scores, SCORE_COLUMNS, "scores")
    pairs = [("transfer", f"{s}, {FIG5_RULE}") for s in ("loss", *FIG5_OTHERS)]
    return [every_target("lz-fig5-loss-best",
                         _per_target(scores, dataset, pairs, n_boot=n_boot, seed=seed,
                                     combine=lambda a: a[:, 0] - a[:, 1:].max(1)),
                         dataset=dataset, claim="the loss beats max confidence and entropy",
                         statistic="AUC(loss) - max(AUC(max conf.), AUC(entropy))", null=0.0,
                         note="without the misclassification rule (with it, loss and max confidence rank "
                              "candidates alike)")
            for dataset in scores["dataset"].unique()]


def ace_larger_for_members(ace: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> list[Evidence]:
    """lz-tab2-ace, one Evidence per (data set, target) in the frame: members' mean ACE exceeds non-members'
    (:func:`mean_difference`, each side resampled on its own)."""
    require_columns(ace, ACE_COLUMNS, "ACE")
    out = []
    for (dataset, model), group in ace.groupby(["dataset", "model"], sort=False):
        is_member = group["is_member"].to_numpy().astype(bool)
        values = group["ace"].to_numpy(float)
        claim = f"members' confidence is harder to change: larger mean ACE ({dataset}, {model})"
        if not is_member.any() or is_member.all():
            out.append(not_comparable("lz-tab2-ace", chapter=CHAPTER, claim=claim,
                                      reason="the frame lacks members or non-members"))
            continue
        effect, low, high = mean_difference(values[is_member], values[~is_member], n_boot=n_boot, seed=seed)
        out.append(hypothesis(
            "lz-tab2-ace", chapter=CHAPTER, claim=claim, statistic="mean ACE(members) - mean ACE(non-members)",
            effect=effect, ci=(low, high), null=0.0, direction=1,
            **sizes(*sides(is_member), UNIT),
            ours=f"{effect:+.3f} [{low:+.3f}, {high:+.3f}]; members {values[is_member].mean():.3f}, "
                 f"non-members {values[~is_member].mean():.3f}"))
    return out


def transfer_claims(scores: pd.DataFrame, grid: pd.DataFrame, ace: pd.DataFrame, *, n_boot: int = 1000,
                    seed: int = 0) -> list[Evidence]:
    """Every claim of the transfer chapter, in the scorecard's order."""
    kw = {"n_boot": n_boot, "seed": seed}
    return [*transfer_on_par(scores, **kw), *transfer_trend(scores, **kw), *m5_published(scores, **kw),
            shadow_size_helps(grid, **kw), *loss_is_best(scores, **kw), *ace_larger_for_members(ace, **kw)]
