"""Part 1's (Li & Zhang) experiment configs and jobs, built in one place from a chapter's typed parameters.

The ``lz_transfer`` chapter, the ``lz_boundary`` chapter (which reuses part 1's attacks for Fig. 10 and
Table 5) and the experiment plan (:mod:`leakage.experiments.plan`) all build the targets, the shadow model,
the evaluation candidates and the transfer chapter's attack runs with these functions, so they name the same
cached artefacts. The parameters are :mod:`leakage.experiments.parameters`' classes: the targets need only
:class:`~leakage.experiments.parameters.TargetModelParameters` (every label-only chapter's), the attacks the
``lz_transfer`` chapter's :class:`~leakage.experiments.parameters.TransferParameters`. The last section builds
the ``lz_targets`` and ``lz_transfer`` pages' tidy frames from these runs (the figures draw them:
:mod:`leakage.figures.lz_targets`, :mod:`leakage.figures.lz_transfer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakage.analysis import other_label_cross_entropy
from leakage.data import vision
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import STATISTICS, TransferAttack
from leakage.config import doc_field
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.experiments.parameters import DefencesParameters, TargetModelParameters, TransferParameters
from leakage.data.splits import make_splits
from leakage.experiments.targets import Target, TargetConfig, paper_targets, train_target
from leakage.membership import MembershipResult
from leakage.metrics import roc_auc, roc_curve
from leakage.seed import seeded_rng
from leakage.store import Store
from leakage.models import TargetCNN, count_parameters
from leakage.models.cnn import CNNConfig
from leakage.train import TrainConfig, predict_logits

#: The transfer chapter's attack runs: (attack, variant) -> (registered name, config builder's key).
TRANSFER_RULES: tuple[str, ...] = ("lowest", "keep")


def targets(params: TargetModelParameters) -> list[TargetConfig]:
    """M-0..M-5 of every data set of ``params`` (``datasets``, ``scale``, ``epochs``, ``min_steps``, ``width``,
    ``seed``: any label-only chapter's parameters), data set by data set."""
    return [config for dataset in params.datasets
            for config in paper_targets(dataset, scale=params.scale, epochs=params.epochs,
                                        min_steps=params.min_steps, width=params.width, seed=params.seed)]


def shadow(params: TransferParameters | DefencesParameters) -> ShadowConfig:
    """The attacker's shadow model of part 1 (``width``, ``shadow_epochs``, ``shadow_min_steps``, ``shadow_size``,
    ``seed``: the ``lz_transfer`` parameters, or the ``lz_defences`` ones, which declare their own shadow)."""
    return ShadowConfig(arch=CNNConfig(width=params.width),
                        train=TrainConfig(epochs=params.shadow_epochs, min_steps=params.shadow_min_steps),
                        size=params.shadow_size, seed=params.seed)


def candidates(params: TransferParameters) -> CandidateConfig:
    """The evaluation candidates of part 1 (``max_per_side``, ``seed``)."""
    return CandidateConfig(max_per_side=params.max_per_side, seed=params.seed)


def transfer_runs(params: TransferParameters) -> dict[tuple[str, str], tuple[str, Any]]:
    """Every attack run of the transfer chapter: (attack, variant) -> (registered attack name, its config).

    The baseline; the score-based attack (ML-Leaks' top-3 MLP); the transfer attack with each shadow
    statistic (loss, max confidence, entropy) and each rule for candidates the target mislabels.
    """
    model = shadow(params)
    runs: dict[tuple[str, str], tuple[str, Any]] = {
        ("baseline", "-"): ("baseline", None),
        ("score-based", "top-3 MLP"): ("score_based", ScoreBasedAttack.Config(shadow=model))}
    for statistic in STATISTICS:
        for rule in TRANSFER_RULES:
            runs["transfer", f"{statistic}, {rule}"] = ("transfer", TransferAttack.Config(
                shadow=model, statistic=statistic, misclassified=rule))
    return runs


@dataclass(frozen=True)
class TargetJob:
    """Train one target M-i (artefact kind ``target``)."""

    target: TargetConfig = doc_field(TargetConfig(), "the target's config")


@dataclass(frozen=True)
class AttackJob:
    """One attack against one target (artefact kind ``attack``; its shadow model, if any, is made on the way)."""

    target: TargetConfig = doc_field(TargetConfig(), "the attacked target's config")
    attack: str = doc_field("baseline", "registered attack name")
    config: Any = doc_field(None, "the attack's Config (None: its defaults)")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the evaluation candidates")


@stage(TargetJob)
def run_target_job(job: TargetJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`TargetJob`: the trained target's accuracies."""
    target = train_target(job.target, store)
    return {"train_accuracy": target.metrics["train_accuracy"], "test_accuracy": target.metrics["test_accuracy"]}


@stage(AttackJob)
def run_attack_job(job: AttackJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AttackJob`: the attack's AUC (the scores stay in the store)."""
    result = run_attack(train_target(job.target, store), job.attack, job.config, job.candidates, store, n_boot=1)
    return {"auc": roc_auc(result.scores, result.is_member)}


def target_task(config: TargetConfig) -> Task:
    """The task that trains target ``config``."""
    return task(TargetJob(config))


def attack_task(config: TargetConfig, attack: str, attack_config: Any, candidates: CandidateConfig) -> Task:
    """The task of one attack run on target ``config`` (after the target's task)."""
    return task(AttackJob(config, attack, attack_config, candidates), (target_task(config),))


def grid_victim(params: TransferParameters) -> TargetConfig:
    """Fig. 3's target: M-``grid_target`` of the first data set."""
    return next(c for c in targets(params) if c.split.dataset == params.datasets[0]
                and c.model_index == params.grid_target)


def shadow_grid(params: TransferParameters) -> dict[tuple[int, int], TransferAttack.Config]:
    """Fig. 3's transfer attacks on :func:`grid_victim`: (shadow width, shadow size) -> the attack's config, for
    every ``grid_widths`` x ``grid_sizes`` whose size fits the victim's D_shadow (larger sizes are skipped; the
    page says which). Raises ``ValueError`` when no size fits."""
    victim = grid_victim(params)
    data = vision.cached_data(victim.split.dataset)  # the one per-process loader (tests substitute it)
    available = len(make_splits(victim.split, len(data)).shadow)
    sizes = [s for s in params.grid_sizes if s <= available]
    if not sizes:
        raise ValueError(f"no grid_sizes {params.grid_sizes} fits D_shadow ({available} samples)")
    base = shadow(params)
    return {(w, size): TransferAttack.Config(shadow=ShadowConfig(arch=CNNConfig(width=w), train=base.train, size=size,
                                                                 seed=params.seed))
            for w in params.grid_widths for size in sizes}


def plan_targets(params: TargetModelParameters) -> list[Task]:
    """The ``lz_targets`` chapter's tasks: part 1's targets."""
    return [target_task(config) for config in targets(params)]


def plan_tasks(params: TransferParameters) -> list[Task]:
    """The ``lz_transfer`` chapter's tasks: part 1's targets, every attack run of the chapter on them and Fig. 3's
    shadow grid."""
    runs = [attack_task(config, name, attack_config, candidates(params))
            for config in targets(params) for name, attack_config in transfer_runs(params).values()]
    grid = [attack_task(grid_victim(params), "transfer", config, candidates(params))
            for config in shadow_grid(params).values()]
    return plan_targets(params) + runs + grid


# ---------------------------------------------------------------- the lz_targets and lz_transfer pages' frames

#: The attack runs the ``lz_transfer`` page compares on every target (ROC curves, Table 4): attack -> variant.
SHOWN: dict[str, str] = {"baseline": "-", "transfer": "loss, lowest", "score-based": "top-3 MLP"}

#: Transfer runs: (data set, i of M-i, attack, variant) -> the run's result.
Results = dict[tuple[str, int, str, str], MembershipResult]


def targets_frame(params: TargetModelParameters, store: Store | None = None) -> pd.DataFrame:
    """The ``lz-targets`` table: one row per target M-i of every data set (trained, or loaded from ``store``, None =
    the default store), in :func:`targets`' order: dataset, model (``M-i``), train/test/shadow sizes (samples),
    train and test accuracy, parameters (count) and ``gap`` (train - test accuracy)."""
    rows = []
    for config in targets(params):
        target = train_target(config, store)
        rows.append({"dataset": config.split.dataset, "model": f"M-{config.model_index}",
                     "train_size": target.metrics["train_size"], "test_size": target.metrics["test_size"],
                     "shadow_size": target.metrics["shadow_size"], "train_accuracy": target.metrics["train_accuracy"],
                     "test_accuracy": target.metrics["test_accuracy"], "parameters": target.metrics["parameters"]})
    frame = pd.DataFrame(rows)
    frame["gap"] = frame["train_accuracy"] - frame["test_accuracy"]
    return frame


def cnn_parameters(target: Target, arch: CNNConfig) -> int:
    """Parameters (count) of a CNN of architecture ``arch`` on ``target``'s data (input shape and classes).
    Builds the model, so it draws its initial weights from torch's global generator."""
    return count_parameters(TargetCNN(target.data.input_shape, target.data.num_classes, arch))


def transfer_results(params: TransferParameters, store: Store | None = None
                     ) -> tuple[dict[tuple[str, int], Target], Results]:
    """Every target of part 1 and every run of :func:`transfer_runs` on it (trained / attacked, or loaded from
    ``store``), target by target: ((data set, i) -> target, (data set, i, attack, variant) -> result), with
    ``n_boot`` bootstrap resamples behind each AUC interval."""
    trained: dict[tuple[str, int], Target] = {}
    results: Results = {}
    evaluated = candidates(params)
    for config in targets(params):
        dataset, i = config.split.dataset, config.model_index
        target = trained[dataset, i] = train_target(config, store)
        for (attack, variant), (name, attack_config) in transfer_runs(params).items():
            results[dataset, i, attack, variant] = run_attack(target, name, attack_config, evaluated, store,
                                                              n_boot=params.n_boot)
    return trained, results


def attack_row(dataset: str, index: int, attack: str, variant: str, result: MembershipResult) -> dict[str, Any]:
    """One row of the attack table: the run's identity, its metrics (AUC with CI, TPRs at low FPR, best F1,
    counts) and its measured cost (``cost_*``)."""
    m = result.metrics
    return {"dataset": dataset, "model": f"M-{index}", "attack": attack, "variant": variant, "auc": m["auc"],
            "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"], "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"],
            "tpr_at_0.1pct_fpr": m["tpr_at_0.1pct_fpr"], "tpr_at_0fp": m["tpr_at_0fp"], "best_f1": m["best_f1"],
            "n_non_members": m["n_non_members"],
            "n_candidates": len(result.scores), **{f"cost_{k}": v for k, v in result.cost.items()}}


def attack_table(results: Results) -> pd.DataFrame:
    """One :func:`attack_row` per run of ``results``, in its order."""
    return pd.DataFrame([attack_row(d, i, a, v, r) for (d, i, a, v), r in results.items()])


def candidate_scores(result: MembershipResult, **keys: Any) -> pd.DataFrame:
    """One row per candidate of an attack result: ``keys``, candidate (data set index), is_member, score."""
    return pd.DataFrame({**keys, "candidate": result.indices, "is_member": result.is_member.astype(bool),
                         "score": result.scores})


def scores_frame(results: Results) -> pd.DataFrame:
    """The ``lz-scores`` table: every run's per-candidate scores (dataset, model, attack, variant, candidate,
    is_member, score), the claims' input."""
    return pd.concat([candidate_scores(r, dataset=d, model=f"M-{i}", attack=a, variant=v)
                      for (d, i, a, v), r in results.items()], ignore_index=True)


def transfer_vs_baseline(table: pd.DataFrame) -> pd.DataFrame:
    """Fig. 2's rows of :func:`attack_table`: the baseline and the transfer attack (loss, misclassified lowest)."""
    return table[(table.attack == "baseline") | ((table.attack == "transfer") & (table.variant == "loss, lowest"))]


def shadow_grid_results(params: TransferParameters, victim: Target, store: Store | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 3: the transfer attack on ``victim`` (:func:`grid_victim`, trained) with every shadow of
    :func:`shadow_grid`. Returns (grid: one row per (shadow width, shadow size) with the shadow's parameter count
    and the AUC with its CI; scores: the per-candidate scores of every cell, the claims' input)."""
    dataset, model = victim.config.split.dataset, f"M-{victim.config.model_index}"
    rows, scores = [], []
    for (w, size), config in shadow_grid(params).items():
        result = run_attack(victim, "transfer", config, candidates(params), store, n_boot=params.n_boot)
        rows.append({"dataset": dataset, "model": model, "shadow_width": w,
                     "shadow_parameters": cnn_parameters(victim, CNNConfig(width=w)), "shadow_size": size,
                     "auc": result.metrics["auc"], "auc_lo": result.metrics["auc_lo"],
                     "auc_hi": result.metrics["auc_hi"]})
        scores.append(candidate_scores(result, dataset=dataset, model=model, shadow_width=w, shadow_size=size))
    return pd.DataFrame(rows), pd.concat(scores, ignore_index=True)


def shadow_losses(results: Results, datasets: list[str]) -> pd.DataFrame:
    """Fig. 4: the relabelled shadow's cross-entropy loss (``shadow_loss``) of every candidate of M-0 and M-5 of
    each data set, with its status (member / non-member)."""
    frames = []
    for dataset in datasets:
        for i in (0, 5):
            result = results[dataset, i, "transfer", "loss, lowest"]
            frames.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}",
                                        "shadow_loss": -result.extras["shadow_loss"],
                                        "status": np.where(result.is_member, "member", "non-member")}))
    return pd.concat(frames, ignore_index=True)


def statistics_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Fig. 5: the transfer attack's rows of :func:`attack_table`, with the variant split into ``statistic`` and
    ``misclassified`` (the rule for candidates the target mislabels)."""
    stats = table[table.attack == "transfer"].copy()
    stats[["statistic", "misclassified"]] = stats["variant"].str.split(", ", expand=True)
    return stats


def ace_tables(victim: Target, base: MembershipResult, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2 on ``victim`` (M-0) over the candidates of its baseline run ``base``.

    Returns (table 2: the cross-entropy to every label (NaN at the predicted one) and the ACE of two correctly
    classified members and two non-members drawn with ``seed``, then the mean ACE of all members and of all
    non-members; ace: every candidate's ACE (dataset, model, candidate, is_member, ace), the claim's input).
    Raises ``ValueError`` when fewer than two candidates of a kind are there to draw.
    """
    x = victim.data.images(torch.as_tensor(base.indices))
    logits = predict_logits(victim.model, x)
    ce, ace = other_label_cross_entropy(logits)
    predicted = logits.argmax(1).cpu().numpy()
    truth = victim.data.y[torch.as_tensor(base.indices)].numpy()
    rng = seeded_rng(seed)  # the draw the page always showed
    picked = np.concatenate([rng.choice(np.flatnonzero(base.is_member & (predicted == truth)), 2, replace=False),
                             rng.choice(np.flatnonzero(~base.is_member), 2, replace=False)])
    tab2 = pd.DataFrame(ce[picked], columns=[str(c) for c in range(ce.shape[1])])
    tab2.insert(0, "predicted", predicted[picked])
    tab2.insert(0, "truth", truth[picked])
    tab2.insert(0, "status", np.where(base.is_member[picked], "member", "non-member"))
    tab2["ACE"] = ace[picked]
    summary = pd.DataFrame({"status": ["all members (mean)", "all non-members (mean)"],
                            "ACE": [ace[base.is_member].mean(), ace[~base.is_member].mean()]})
    tab2 = pd.concat([tab2, summary], ignore_index=True)
    every = pd.DataFrame({"dataset": victim.config.split.dataset, "model": f"M-{victim.config.model_index}",
                          "candidate": base.indices, "is_member": base.is_member.astype(bool), "ace": ace})
    return tab2, every


def roc_frame(results: Results) -> pd.DataFrame:
    """The ROC curves (fpr, tpr) of the :data:`SHOWN` runs on every target: dataset, model, attack, fpr, tpr."""
    curves = []
    for (dataset, i, attack, variant), result in results.items():
        if SHOWN.get(attack) == variant:
            fpr, tpr, _ = roc_curve(result.scores, result.is_member)
            curves.append(pd.DataFrame({"dataset": dataset, "model": f"M-{i}", "attack": attack, "fpr": fpr,
                                        "tpr": tpr}))
    return pd.concat(curves, ignore_index=True)


def shown_attacks(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`attack_table` of the :data:`SHOWN` runs (the ``lz-attacks`` table's)."""
    return table[[(SHOWN.get(a) == v) for a, v in zip(table.attack, table.variant)]]


def cost_table(attacks: pd.DataFrame) -> pd.DataFrame:
    """Table 4 from :func:`shown_attacks`: per attack, the most shadow training epochs, queries for D_shadow and
    queries per candidate any target needed."""
    cost = attacks.groupby("attack", sort=False)[["cost_shadow_epochs", "cost_shadow_queries",
                                                  "cost_queries_per_candidate"]].max().reset_index()
    cost.columns = ["attack", "shadow training epochs (max)", "queries for D_shadow", "queries per candidate"]
    return cost
