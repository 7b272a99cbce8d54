"""The VP chapter's run configs: the corpus (:class:`VPDataConfig`), a trained model (:class:`VPModelRunConfig`),
the bag-of-tokens baseline (:class:`VPBaselineRunConfig`) and one attack (:class:`VPAttackRunConfig`).

Each is a frozen dataclass of documented fields, hashed whole into its artefact's store key. Every key covers
the content of what the corpus is read from (:meth:`VPDataConfig.input_digests`: the Devign / BigVul file, the
Juliet archive or folder ``$LEAKAGE_JULIET`` names, or the shipped derived file) and of a CodeBERT checkpoint
(``VPModelConfig.input_digests``), so an input rewritten in place never returns an artefact computed from the
old one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from leakage.config import doc_field
from leakage.experiments.vp.sources import source_digest
from leakage.seed import derive_seed
from leakage.train import TrainConfig
from leakage.vp.attack import AttackConfig
from leakage.vp.baseline import BaselineConfig
from leakage.vp.features import FEATURE_SETS
from leakage.vp.juliet import EXTRACTOR_VERSION, JulietConfig
from leakage.vp.models import VPModelConfig
from leakage.vp.nmid import NMIDConfig
from leakage.vp.realworld import REALWORLD_DATASETS
from leakage.vp.splits import VPSplitConfig
from leakage.vp.tokenizer import TokenizerConfig

VP_DATASETS: tuple[str, ...] = ("juliet", *REALWORLD_DATASETS)
ROLES: tuple[str, ...] = ("target", "shadow")


@dataclass(frozen=True)
class VPDataConfig:
    """The corpus, its four MIA sets, and the tokenizer."""

    dataset: str = doc_field("juliet", "'juliet' (offline), or 'devign' / 'bigvul' read from `path`")
    path: str | None = doc_field(None, "file or folder to read the data set from; None = Juliet's default sources")
    juliet: JulietConfig = doc_field(JulietConfig(), "which functions to keep (max_chars applies to every data set)")
    split: VPSplitConfig = doc_field(VPSplitConfig(), "sizes and seed of the four sets")
    tokenizer: TokenizerConfig = doc_field(TokenizerConfig(), "the BPE tokenizer (unused with a CodeBERT checkpoint)")
    data_version: int = doc_field(EXTRACTOR_VERSION, "version of the extraction / scrubbing code (part of every "
                                                     "artefact key, so a new version never reuses old models)")

    def __post_init__(self) -> None:
        if self.data_version != EXTRACTOR_VERSION:
            raise ValueError(f"data_version {self.data_version} asked for, but this code extracts version "
                             f"{EXTRACTOR_VERSION}")
        if self.dataset not in VP_DATASETS:
            raise ValueError(f"unknown VP data set {self.dataset!r}; choose one of {', '.join(VP_DATASETS)}")
        if self.dataset != "juliet" and not self.path:
            raise ValueError(f"data set {self.dataset!r} is read from a file: give its path")

    def input_digests(self) -> dict[str, str]:
        """``{"source": digest}``: the content digest of what the corpus is read from (see :func:`source_digest`),
        so a data file rewritten in place, or ``$LEAKAGE_JULIET`` pointed elsewhere, never returns an artefact
        computed from the old content. Raises ``DataUnavailableError`` when the source is missing."""
        return {"source": source_digest(self.dataset, self.path)}


@dataclass(frozen=True)
class VPModelRunConfig:
    """One trained VP model: the target, or the attacker's shadow (same recipe, its own data and seed)."""

    data: VPDataConfig = doc_field(VPDataConfig(), "corpus, sets and tokenizer")
    model: VPModelConfig = doc_field(VPModelConfig(), "architecture")
    train: TrainConfig = doc_field(TrainConfig(epochs=30, lr=2e-3, batch_size=32), "optimisation (Adam)")
    role: str = doc_field("target", "'target' (trained on target_in) or 'shadow' (trained on shadow_in)")
    seed: int = doc_field(0, "seed of weight initialisation and batch order")

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")


@dataclass(frozen=True)
class VPAttackRunConfig:
    """One attack: a target, the shadow it is attacked with, the NMID both releases go through, the classifier."""

    target: VPModelRunConfig = doc_field(VPModelRunConfig(), "the attacked model")
    shadow: VPModelRunConfig = doc_field(VPModelRunConfig(role="shadow", seed=1), "the attacker's shadow model")
    nmid: NMIDConfig = doc_field(NMIDConfig(), "the defence on the target's release (the adaptive attacker applies "
                                               "the same to its shadow's)")
    attack: AttackConfig = doc_field(AttackConfig(), "the attack classifier")
    feature_sets: tuple[str, ...] = doc_field(tuple(FEATURE_SETS), "attack feature sets to evaluate")
    n_boot: int = doc_field(1000, "bootstrap resamples of the AUC's 95% CI")
    tpr_boot: int = doc_field(1000, "bootstrap resamples of the 95% CI of the TPR at 1% FPR (0 = no CI)")
    metrics_version: int = doc_field(2, "version of the metrics stored with the scores (2: TPR at zero false "
                                        "positives with its exact CI, a TPR at an unresolvable FPR left out); part "
                                        "of the key, so older artefacts are recomputed")


def shadow_of(target: VPModelRunConfig) -> VPModelRunConfig:
    """The shadow recipe for ``target``: same data, architecture and optimisation; own set and seed."""
    if target.role != "target":
        raise ValueError("shadow_of takes a target config")
    return replace(target, role="shadow", seed=derive_seed(target.seed, "shadow"))


@dataclass(frozen=True)
class VPBaselineRunConfig:
    """The bag-of-tokens baseline on one corpus: fit on the target's members, scored on its non-members."""

    data: VPDataConfig = doc_field(VPDataConfig(), "corpus and sets (the tokenizer is not used)")
    baseline: BaselineConfig = doc_field(BaselineConfig(), "the logistic regression on token presence")
