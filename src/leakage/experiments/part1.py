"""Part 1's (Li & Zhang) experiment configs, built in one place from a notebook's parameters.

The ``lz_transfer`` chapter, the ``lz_boundary`` chapter (which reuses part 1's attacks for Fig. 10 and
Table 5) and the experiment plan (:mod:`leakage.experiments.plan`) all build the targets, the shadow model,
the evaluation candidates and the transfer chapter's attack runs with these functions, so they name the same
cached artefacts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import STATISTICS, TransferAttack
from leakage.experiments.label_only import CandidateConfig
from leakage.experiments.targets import TargetConfig, paper_targets
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
