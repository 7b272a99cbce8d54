"""The ``lz_boundary`` chapter's frames: what its notebook tables and plots, loaded through the store.

Every function loads the artefacts of the plan (:func:`leakage.experiments.boundary.jobs.plan_tasks`; cache hits
once it ran) and returns tidy frames: the boundary runs and their summaries (Figs. 7-9, 14, 15, the cost), the
comparison with part 1's attacks (Fig. 10), Algorithm 3's threshold sweep (Fig. 11), the certified radii (Tables
3 and 5) and the t-SNE (Fig. 12).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from leakage.attacks.boundary import unflipped_by_class
from leakage.claims.lz_boundary import COMPARE_COLUMNS, CURVE_COLUMNS, RADII_COLUMNS, REFERENCE_COLUMNS, \
    SCORE_COLUMNS
from leakage.experiments import part1
from leakage.experiments.boundary.configs import NORM_NAMES, attack_configs, candidates, l2_method, part1_runs
from leakage.experiments.boundary.jobs import (certified, certify_jobs, reference_jobs, reference_outputs,
                                               sweep_job, threshold_sweep, tsne, tsne_jobs)
from leakage.experiments.label_only import run_attack
from leakage.experiments.parameters import BoundaryParameters
from leakage.experiments.targets import Target, train_target
from leakage.membership import MembershipResult
from leakage.metrics import roc_auc
from leakage.store import Store

#: (data set, i of M-i, method, attack norm): the key of a boundary run.
RunKey = tuple[str, int, str, str]
#: Fig. 7's table: the HopSkipJump L2 runs' perturbation summary (columns of :func:`attack_table`).
L2_SUMMARY_COLUMNS: tuple[str, ...] = ("dataset", "model", "mean_l2_member", "mean_l2_non_member",
                                       "median_l2_member", "median_l2_non_member", "flipped", "misclassified")
#: The cost table's columns (of :func:`attack_table`).
COST_COLUMNS: tuple[str, ...] = ("dataset", "model", "method", "attack_norm", "n_candidates", "queries_per_candidate",
                                 "max_queries_per_candidate", "seconds", "queries_per_second")
#: Tables 3 and 5's columns (of :func:`certified_radius_tables`'s first frame).
ACR_COLUMNS: tuple[str, ...] = ("dataset", "model", "acr_member", "acr_non_member", "gap", "certified_share_member",
                                "certified_share_non_member", "auc_radius")


def targets(params: BoundaryParameters, store: Store | None = None) -> dict[tuple[str, int], Target]:
    """(data set, i) -> trained target M-i, for every data set of ``params`` (loaded from ``store``)."""
    store = store or Store()
    return {(c.split.dataset, c.model_index): train_target(c, store) for c in part1.targets(params)}


def boundary_runs(params: BoundaryParameters, store: Store | None = None,
                  trained: Mapping[tuple[str, int], Target] | None = None) -> dict[RunKey, MembershipResult]:
    """(data set, i, method, attack norm) -> the boundary attack's result on M-i (loaded from ``store``), every
    target and every config of :func:`attack_configs`; bootstrap CIs of ``n_boot`` resamples. Scores: the
    perturbation in the attack norm (higher = member); ``extras`` hold every measure (:data:`NORM_NAMES`),
    ``flipped``, ``misclassified``, ``checkpoint_dist``, ``checkpoints``, ``labels``, ``start_source``."""
    store = store or Store()
    trained = trained or targets(params, store)
    chosen = candidates(params)
    return {(dataset, i, method, norm): run_attack(target, "boundary", config, chosen, store, n_boot=params.n_boot)
            for (dataset, i), target in trained.items() for (method, norm), config in attack_configs(params).items()}


def attack_table(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """One row per boundary run: ``dataset``, ``model`` (M-i), ``method``, ``attack_norm``, ``auc`` with its 95%
    bootstrap CI (``auc_lo``, ``auc_hi``; :class:`MembershipResult` metrics), ``auc_<measure>`` for each measure
    of :data:`NORM_NAMES`, mean and median L2 perturbation of members / non-members, the share of candidates
    ``flipped`` and ``misclassified``, the cost (``queries_per_candidate``, ``max_queries_per_candidate``,
    ``seconds``, ``queries_per_second``) and ``n_candidates``."""
    rows = []
    for (dataset, i, method, norm), result in runs.items():
        e, member, m = result.extras, result.is_member, result.metrics
        rows.append({"dataset": dataset, "model": f"M-{i}", "method": method, "attack_norm": norm,
                     "auc": m["auc"], "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"],
                     **{f"auc_{p}": roc_auc(e[p], member) for p in NORM_NAMES},
                     "mean_l2_member": e["l2"][member].mean(), "mean_l2_non_member": e["l2"][~member].mean(),
                     "median_l2_member": np.median(e["l2"][member]),
                     "median_l2_non_member": np.median(e["l2"][~member]),
                     "flipped": e["flipped"].mean(), "misclassified": e["misclassified"].mean(),
                     "queries_per_candidate": result.cost["queries_per_candidate"],
                     "max_queries_per_candidate": result.cost["max_queries_per_candidate"],
                     "seconds": result.cost["seconds"], "queries_per_second": result.cost["queries_per_second"],
                     "n_candidates": len(result.scores)})
    return pd.DataFrame(rows)


def candidate_frames(runs: Mapping[RunKey, MembershipResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-candidate frames for the claims (:mod:`leakage.claims.lz_boundary`): (scores: every perturbation
    measure at the end of the budget, columns ``SCORE_COLUMNS``; curve: the attack norm's best perturbation at
    every query checkpoint, columns ``CURVE_COLUMNS``). Higher score = member."""
    score_frames, curve_frames = [], []
    for (dataset, i, method, norm), result in runs.items():
        keys = {"dataset": dataset, "model": f"M-{i}", "method": method, "attack_norm": norm,
                "candidate": result.indices, "is_member": result.is_member}
        score_frames += [pd.DataFrame({**keys, "measure": p, "score": result.extras[p]}) for p in NORM_NAMES]
        curve_frames += [pd.DataFrame({**keys, "queries": int(c), "score": result.extras["checkpoint_dist"][:, k]})
                         for k, c in enumerate(result.extras["checkpoints"])]
    return (pd.concat(score_frames, ignore_index=True)[list(SCORE_COLUMNS)],
            pd.concat(curve_frames, ignore_index=True)[list(CURVE_COLUMNS)])


def perturbations(runs: Mapping[RunKey, MembershipResult], method: str, norm: str = "l2") -> pd.DataFrame:
    """Figs. 7 and 14: one row per candidate of the ``method`` / ``norm`` runs: ``dataset``, ``model``, ``l2``
    (the perturbation found, 0 for a misclassified candidate), ``status`` (member / non-member), ``flipped``,
    ``misclassified``."""
    frames = []
    for (dataset, i, m, n), result in runs.items():
        if m == method and n == norm:
            frames.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "l2": result.extras["l2"],
                                        "status": np.where(result.is_member, "member", "non-member"),
                                        "flipped": result.extras["flipped"],
                                        "misclassified": result.extras["misclassified"]}))
    return pd.concat(frames, ignore_index=True)


def unflipped_table(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """Per (data set, method, attack norm, class), summed over the targets: candidates, where their starts came
    from, how many stayed unflipped and ``unflipped_share``
    (:func:`leakage.attacks.boundary.unflipped_by_class`)."""
    by_class = pd.concat([unflipped_by_class(r.extras["labels"], r.extras["flipped"], r.extras["start_source"])
                          .assign(dataset=d, method=m, attack_norm=n) for (d, i, m, n), r in runs.items()])
    by_class = by_class.groupby(["dataset", "method", "attack_norm", "class"], as_index=False).sum(numeric_only=True)
    by_class["unflipped_share"] = by_class.unflipped / by_class.candidates
    return by_class


def norm_auc_frame(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Figs. 8 and 15: the AUC of each perturbation measure of ``method``'s runs (long form, from
    :func:`attack_table`): ``dataset``, ``model``, ``attack_norm``, ``distance`` (L0, L1, L2, L∞), ``AUC``,
    ``panel`` (data set and attack norm)."""
    sub = table[table.method == method].melt(id_vars=["dataset", "model", "attack_norm"],
                                             value_vars=[f"auc_{p}" for p in NORM_NAMES], var_name="distance",
                                             value_name="AUC")
    sub["distance"] = sub["distance"].str.removeprefix("auc_").map(NORM_NAMES)
    sub["panel"] = sub["dataset"] + ", " + sub["attack_norm"].map(NORM_NAMES) + " attack"
    return sub


def query_curve(runs: Mapping[RunKey, MembershipResult]) -> pd.DataFrame:
    """Fig. 9: AUC of the best L2 perturbation found within c label queries, for every L2 run and checkpoint c:
    ``dataset``, ``model``, ``method``, ``queries``, ``auc``."""
    rows = []
    for (dataset, i, method, norm), result in runs.items():
        if norm != "l2":
            continue
        record, checkpoints = result.extras["checkpoint_dist"], result.extras["checkpoints"]
        for k, c in enumerate(checkpoints):
            rows.append({"dataset": dataset, "model": f"M-{i}", "method": method, "queries": int(c),
                         "auc": roc_auc(record[:, k], result.is_member)})
    return pd.DataFrame(rows)


def comparison(params: BoundaryParameters, runs: Mapping[RunKey, MembershipResult], store: Store | None = None,
               trained: Mapping[tuple[str, int], Target] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 10: part 1's baseline, transfer and score-based attacks (configured as ``lz_transfer`` does, run on
    this chapter's candidates, loaded from ``store``) and the L2 boundary attack of ``runs``, on every target.

    Returns (one row per target and attack: ``dataset``, ``model``, ``attack``, ``n_candidates``, ``auc``,
    ``auc_lo``, ``auc_hi`` with ``n_boot`` bootstrap resamples; per-candidate scores, columns
    ``COMPARE_COLUMNS``, higher = member).
    """
    store = store or Store()
    trained = trained or targets(params, store)
    chosen, method = candidates(params), l2_method(params)
    rows, frames = [], []
    for (dataset, i), target in trained.items():
        results = {label: run_attack(target, name, attack_config, chosen, store, n_boot=params.n_boot)
                   for label, (name, attack_config) in part1_runs(params).items()}
        results["boundary"] = runs[dataset, i, method, "l2"]
        for label, result in results.items():
            rows.append({"dataset": dataset, "model": f"M-{i}", "attack": label, "n_candidates": len(result.scores),
                         **{k: result.metrics[k] for k in ("auc", "auc_lo", "auc_hi")}})
            frames.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "attack": label,
                                        "candidate": result.indices, "is_member": result.is_member,
                                        "score": result.scores}))
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)[list(COMPARE_COLUMNS)]


def threshold_curve(params: BoundaryParameters, store: Store | None = None,
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fig. 11 (Algorithm 3) on M-``reference_target`` of every data set, loaded from ``store``.

    Returns (curve: ``dataset``, ``model``, ``top_t_percent``, ``threshold`` (L2), ``f1``, ``best_f1``, one row
    per t of :data:`PERCENTILES`; chosen: the same at ``chosen_percentile`` plus ``random_samples``,
    ``random_flipped``, ``threshold_from``, ``random_labels``, ``random_median_l2``; the random inputs' L2
    perturbations, columns ``REFERENCE_COLUMNS``). See :func:`threshold_sweep`.
    """
    store = store or Store()
    curve_rows, chosen_rows, reference_frames = [], [], []
    for job in reference_jobs(params):
        _, reference = reference_outputs(job.run, store)
        sweep = threshold_sweep(sweep_job(params, job), store)
        model = f"M-{job.run.target.model_index}"
        dataset = job.run.target.split.dataset
        flipped = reference["flipped"].astype(bool)
        reference_frames.append(pd.DataFrame({"dataset": dataset, "model": model, "sample": np.arange(len(flipped)),
                                              "l2": reference["l2"], "flipped": flipped}))
        for t, threshold, f1 in zip(sweep["top_t_percent"], sweep["threshold"], sweep["f1"]):
            curve_rows.append({"dataset": dataset, "model": model, "top_t_percent": int(t), "threshold": threshold,
                               "f1": f1, "best_f1": sweep["best_f1"]})
        chosen_rows.append({"dataset": dataset, "model": model, "top_t_percent": params.chosen_percentile,
                            "threshold": sweep["chosen_threshold"], "f1": sweep["chosen_f1"],
                            "best_f1": sweep["best_f1"], "random_samples": params.reference_samples,
                            "random_flipped": int(flipped.sum()), "threshold_from": sweep["threshold_from"],
                            "random_labels": len(np.unique(reference["labels"])),
                            "random_median_l2": sweep["random_median_l2"]})
    return (pd.DataFrame(curve_rows), pd.DataFrame(chosen_rows),
            pd.concat(reference_frames, ignore_index=True)[list(REFERENCE_COLUMNS)])


def certified_radius_tables(params: BoundaryParameters, store: Store | None = None,
                            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 3 and 5: certified radii (randomized smoothing, Cohen et al.; L2, pixel units) of
    ``certify_per_side`` members and non-members of every target, for the target and for part 1's shadow.

    Returns (one row per target and certified model: ``dataset``, ``model``, ``certified`` (target / shadow),
    ``acr_member``, ``acr_non_member`` (average certified radius), ``certified_share_member`` /
    ``_non_member`` (share certified correctly), ``auc_radius`` (the radius as a membership score),
    ``n_per_side``, ``gap`` (member minus non-member ACR); per-candidate radii, columns ``RADII_COLUMNS``).
    """
    store = store or Store()
    rows, frames = [], []
    for config in part1.targets(params):
        for kind, job in certify_jobs(params, config).items():
            index, member, out = certified(job, store)
            dataset, model = config.split.dataset, f"M-{config.model_index}"
            rows.append({"dataset": dataset, "model": model, "certified": kind,
                         "acr_member": out["radius"][member].mean(), "acr_non_member": out["radius"][~member].mean(),
                         "certified_share_member": out["correct"][member].mean(),
                         "certified_share_non_member": out["correct"][~member].mean(),
                         "auc_radius": roc_auc(out["radius"], member), "n_per_side": int(member.sum())})
            frames.append(pd.DataFrame({"dataset": dataset, "model": model, "certified": kind, "candidate": index,
                                        "is_member": member, "radius": out["radius"]}))
    acr = pd.DataFrame(rows)
    acr["gap"] = acr["acr_member"] - acr["acr_non_member"]
    return acr, pd.concat(frames, ignore_index=True)[list(RADII_COLUMNS)]


def tsne_frame(params: BoundaryParameters, store: Store | None = None) -> pd.DataFrame:
    """Fig. 12: the t-SNE of M-``tsne_target``'s last hidden layer on ``tsne_per_side`` members and non-members
    of every data set (loaded from ``store``): ``dataset``, ``model``, ``x``, ``y`` (t-SNE coordinates),
    ``label`` (true class), ``status`` (member / non-member), ``misclassified`` (the target's label is wrong)."""
    store = store or Store()
    frames = []
    for job in tsne_jobs(params):
        out = tsne(job, store)
        frames.append(pd.DataFrame({"dataset": job.target.split.dataset, "model": f"M-{job.target.model_index}",
                                    "x": out["xy"][:, 0], "y": out["xy"][:, 1], "label": out["label"],
                                    "status": np.where(out["is_member"], "member", "non-member"),
                                    "misclassified": out["predicted"] != out["label"]}))
    return pd.concat(frames, ignore_index=True)


def l2_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Fig. 7's table: the HopSkipJump L2 rows of :func:`attack_table`, columns :data:`L2_SUMMARY_COLUMNS`
    (mean and median L2 perturbation of members / non-members, shares ``flipped`` and ``misclassified``)."""
    return table[(table.method == "HopSkipJump") & (table.attack_norm == "l2")][list(L2_SUMMARY_COLUMNS)]


def cost_table(table: pd.DataFrame) -> pd.DataFrame:
    """The cost of every boundary run: :func:`attack_table`'s columns :data:`COST_COLUMNS` (label queries per
    candidate, mean and maximum; wall seconds; queries per second)."""
    return table[list(COST_COLUMNS)]


def acr_table(acr: pd.DataFrame, certified_model: str) -> pd.DataFrame:
    """Table 3 (``certified_model`` ``"target"``) or Table 5 (``"shadow"``): the rows of
    :func:`certified_radius_tables`'s first frame for that model, columns :data:`ACR_COLUMNS`; ``ValueError``
    for another model."""
    if certified_model not in ("target", "shadow"):
        raise ValueError(f"certified_model must be 'target' or 'shadow', got {certified_model!r}")
    return acr[acr.certified == certified_model][list(ACR_COLUMNS)]
