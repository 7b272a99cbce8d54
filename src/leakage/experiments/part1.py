"""Part 1's (Li & Zhang) experiment configs and jobs, built in one place from a notebook's parameters.

The ``lz_transfer`` chapter, the ``lz_boundary`` chapter (which reuses part 1's attacks for Fig. 10 and
Table 5) and the experiment plan (:mod:`leakage.experiments.plan`) all build the targets, the shadow model,
the evaluation candidates and the transfer chapter's attack runs with these functions, so they name the same
cached artefacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leakage.data import vision
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import STATISTICS, TransferAttack
from leakage.config import doc_field
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.data.splits import make_splits
from leakage.experiments.targets import TargetConfig, paper_targets, train_target
from leakage.metrics import roc_auc
from leakage.store import Store
from leakage.models.cnn import CNNConfig
from leakage.train import TrainConfig

#: The transfer chapter's attack runs: (attack, variant) -> (registered name, config builder's key).
TRANSFER_RULES: tuple[str, ...] = ("lowest", "keep")


def targets(params: Mapping[str, Any]) -> list[TargetConfig]:
    """M-0..M-5 of every data set of ``params`` (``datasets``, ``scale``, ``epochs``, ``min_steps``, ``width``,
    ``seed``: the ``lz_targets`` / ``lz_transfer`` parameters), data set by data set."""
    return [config for dataset in params["datasets"]
            for config in paper_targets(dataset, scale=params["scale"], epochs=params["epochs"],
                                        min_steps=params["min_steps"], width=params["width"], seed=params["seed"])]


def shadow(params: Mapping[str, Any]) -> ShadowConfig:
    """The attacker's shadow model of part 1 (``width``, ``shadow_epochs``, ``shadow_min_steps``, ``shadow_size``,
    ``seed`` of the ``lz_transfer`` parameters)."""
    return ShadowConfig(arch=CNNConfig(width=params["width"]),
                        train=TrainConfig(epochs=params["shadow_epochs"], min_steps=params["shadow_min_steps"]),
                        size=params["shadow_size"], seed=params["seed"])


def candidates(params: Mapping[str, Any]) -> CandidateConfig:
    """The evaluation candidates of part 1 (``max_per_side``, ``seed``)."""
    return CandidateConfig(max_per_side=params["max_per_side"], seed=params["seed"])


def transfer_runs(params: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
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


def grid_victim(params: Mapping[str, Any]) -> TargetConfig:
    """Fig. 3's target: M-``grid_target`` of the first data set."""
    return next(c for c in targets(params) if c.split.dataset == params["datasets"][0]
                and c.model_index == params["grid_target"])


def shadow_grid(params: Mapping[str, Any]) -> dict[tuple[int, int], TransferAttack.Config]:
    """Fig. 3's transfer attacks on :func:`grid_victim`: (shadow width, shadow size) -> the attack's config, for
    every ``grid_widths`` x ``grid_sizes`` whose size fits the victim's D_shadow (larger sizes are skipped; the
    page says which). Raises ``ValueError`` when no size fits."""
    victim = grid_victim(params)
    data = vision.cached_data(victim.split.dataset)  # the one per-process loader (tests substitute it)
    available = len(make_splits(victim.split, len(data)).shadow)
    sizes = [s for s in params["grid_sizes"] if s <= available]
    if not sizes:
        raise ValueError(f"no grid_sizes {params['grid_sizes']} fits D_shadow ({available} samples)")
    base = shadow(params)
    return {(w, size): TransferAttack.Config(shadow=ShadowConfig(arch=CNNConfig(width=w), train=base.train, size=size,
                                                                 seed=params["seed"]))
            for w in params["grid_widths"] for size in sizes}


def plan_targets(params: Mapping[str, Any]) -> list[Task]:
    """The ``lz_targets`` chapter's tasks: part 1's targets."""
    return [target_task(config) for config in targets(params)]


def plan_tasks(params: Mapping[str, Any]) -> list[Task]:
    """The ``lz_transfer`` chapter's tasks: part 1's targets, every attack run of the chapter on them and Fig. 3's
    shadow grid."""
    runs = [attack_task(config, name, attack_config, candidates(params))
            for config in targets(params) for name, attack_config in transfer_runs(params).values()]
    grid = [attack_task(grid_victim(params), "transfer", config, candidates(params))
            for config in shadow_grid(params).values()]
    return plan_targets(params) + runs + grid
