"""Every chapter's parameters, declared once: a typed dataclass per chapter (see :mod:`leakage.parameters`).

Each field's default is the smoke profile's value and its doc the meaning the page's parameter table shows;
``PROFILE_CHANGES`` holds what the ``default`` and ``paper`` profiles change. The label-only chapters share the
targets M-0..M-5 (:class:`TargetModelParameters`: the same values give the same, cached, targets); a chapter that
reuses another's runs holds that chapter's parameters as a field (``lz_boundary.transfer``, ``lz_ladder.boundary``),
resolved with the same profile and ``--set`` values. :mod:`leakage.chapters` names each chapter's class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from leakage.parameters import ChapterParameters, parameter_field, reused_field


@dataclass(frozen=True)
class TargetModelParameters(ChapterParameters):
    """The targets M-0..M-5 of Li & Zhang's part 1 (Table 7) every label-only chapter attacks: the same values give
    the same, cached, targets."""

    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {"datasets": ["fashion-mnist"], "scale": 1.0, "epochs": 50, "min_steps": 1000},
        "paper": {
            "datasets": ["cifar10", "cifar100", "gtsrb", "lfw"],
            "scale": 1.0,
            "epochs": 200,
            "min_steps": 0,
            "width": 64,
        },
    }

    datasets: list[str] = parameter_field(["digits"], "data sets to train targets on")
    scale: float = parameter_field(0.1, "multiplier on every Table 7 size")
    epochs: int = parameter_field(30, "training epochs (paper: 200)")
    min_steps: int = parameter_field(300, "at least this many optimiser steps: small sets get more epochs (paper: 0)")
    width: int = parameter_field(16, "channels of the first conv layer")
    seed: int = parameter_field(0, "seed of the splits, the models' initialisation and batches, candidates, attacks")


@dataclass(frozen=True)
class TargetsParameters(TargetModelParameters):
    """The ``lz_targets`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "lz_targets"


@dataclass(frozen=True)
class TransferParameters(TargetModelParameters):
    """The ``lz_transfer`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "lz_transfer"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "shadow_size": 5000,
            "shadow_epochs": 20,
            "shadow_min_steps": 500,
            "grid_sizes": [1250, 5000],
            "grid_widths": [8, 16, 24],
            "n_boot": 1000,
        },
        "paper": {
            "shadow_epochs": 200,
            "shadow_min_steps": 0,
            "grid_sizes": [5000, 15000, 25000, 35000, 42000],
            "grid_widths": [32, 48, 64, 80],
            "n_boot": 1000,
        },
    }

    shadow_size: int = parameter_field(0, "D_shadow samples the shadows use; 0 means all")
    shadow_epochs: int = parameter_field(30, "shadow training epochs (paper: 200)")
    shadow_min_steps: int = parameter_field(300, "at least this many optimiser steps per shadow")
    grid_sizes: list[int] = parameter_field([300, 700, 1397], "Fig. 3: shadow data set sizes")
    grid_widths: list[int] = parameter_field([4, 8, 16], "Fig. 3: shadow widths (model complexity)")
    grid_target: int = parameter_field(0, "Fig. 3: which M-i (paper: M-0)")
    max_per_side: int = parameter_field(0, "members and non-members per target; 0 means all of the smaller side")
    n_boot: int = parameter_field(200, "bootstrap resamples for AUC confidence intervals")


@dataclass(frozen=True)
class BoundaryParameters(TargetModelParameters):
    """The ``lz_boundary`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "lz_boundary"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "max_per_side": 100,
            "hsj_budget": 1000,
            "qeba_budget": 500,
            "qeba_ratio": 4,
            "reference_samples": 40,
            "certify_per_side": 100,
            "certify_n": 200,
            "tsne_per_side": 150,
            "n_boot": 1000,
        },
        "paper": {
            "max_per_side": 200,
            "hsj_budget": 15000,
            "qeba_budget": 7000,
            "qeba_ratio": 4,
            "attack_norms": ["l2", "linf"],
            "reference_samples": 100,
            "certify_per_side": 200,
            "certify_n0": 100,
            "certify_n": 100000,
            "tsne_per_side": 1000,
            "n_boot": 1000,
        },
    }

    max_per_side: int = parameter_field(30, "members and non-members attacked per target, each (authors' code: 200)")
    hsj_budget: int = parameter_field(500, "HopSkipJump label queries per candidate (paper: 15,000)")
    qeba_budget: int = parameter_field(300, "QEBA label queries per candidate (paper: 7,000)")
    max_iter: int = parameter_field(50, "boundary-walk iterations at most (authors: 50)")
    init_eval: int = parameter_field(100, "sign queries of the first gradient estimate (authors: 100)")
    max_eval: int = parameter_field(10000, "most sign queries of one gradient estimate (authors: 10,000)")
    qeba_ratio: int = parameter_field(2, "QEBA's subspace grid is (C, H/ratio, W/ratio)")
    attack_norms: list[str] = parameter_field(
        ["l2"], "HopSkipJump versions run: 'l2' (every figure), 'linf' (an extra panel of Fig. 8)"
    )
    reference_samples: int = parameter_field(30, "Algorithm 3: random uniform inputs taken as non-members (paper: 100)")
    reference_target: int = parameter_field(5, "Fig. 11: which M-i (paper: M-5)")
    chosen_percentile: int = parameter_field(50, "Fig. 11: the top-t percentile the threshold is chosen at")
    certify_per_side: int = parameter_field(30, "Tables 3 and 5: members and non-members certified per target, each")
    certify_sigma: float = parameter_field(0.25, "randomized smoothing noise (paper's code: 0.25)")
    certify_n0: int = parameter_field(10, "noisy copies choosing the top class (paper's code: 100)")
    certify_n: int = parameter_field(100, "noisy copies estimating its probability (paper's code: 100,000)")
    certify_alpha: float = parameter_field(
        0.001, "failure probability of the Clopper-Pearson bound (paper's code: 0.001)"
    )
    tsne_target: int = parameter_field(3, "Fig. 12: which M-i (paper: M-3)")
    tsne_per_side: int = parameter_field(100, "Fig. 12: members and non-members embedded, each (paper: 1,000)")
    n_boot: int = parameter_field(200, "bootstrap resamples for AUC confidence intervals")
    transfer: TransferParameters = reused_field(
        TransferParameters,
        "the lz_transfer chapter's parameters: Fig. 10 and Table 5 reuse its attacks and shadow models",
    )


@dataclass(frozen=True)
class DefencesParameters(TargetModelParameters):
    """The ``lz_defences`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "lz_defences"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "l1": [0.0001],
            "l2": [0.001, 0.01],
            "memguard_sets": [["fashion-mnist", 1.0], ["digits", 0.25]],
            "shadow_size": 2500,
            "shadow_epochs": 20,
            "shadow_min_steps": 500,
            "boundary_budget": 1000,
            "boundary_per_side": 50,
            "n_boot": 1000,
        },
        "paper": {
            "l1": [0.0001, 0.001, 0.005],
            "l2": [0.01, 0.05, 0.1],
            "dropout": [0.25, 0.5, 0.75],
            "augment": ["flip_crop", "strong"],
            "dp_noise": [0.1, 0.5, 1.1],
            "dp_epsilon": [1.0, 8.0],
            "adv_reg": [1.0, 3.0, 6.0],
            "memguard_sets": [["cifar10", 1.0], ["lfw", 1.0]],
            "shadow_epochs": 200,
            "shadow_min_steps": 0,
            "boundary_budget": 15000,
            "boundary_per_side": 200,
            "n_boot": 1000,
        },
    }

    victim: int = parameter_field(2, "which M-i is defended (paper: M-2)")
    l2: list[float] = parameter_field([0.05], "L2 strengths (paper: 0.01, 0.05, 0.1)")
    l1: list[float] = parameter_field([0.001], "L1 strengths (paper: 1e-4, 1e-3, 5e-3)")
    dropout: list[float] = parameter_field([0.5], "dropout rates")
    augment: list[str] = parameter_field(["flip_crop"], "augmentation policies")
    dp_noise: list[float] = parameter_field([1.1], "DP-SGD noise multipliers (paper: 0.1, 0.5, 1.1)")
    dp_epsilon: list[float] = parameter_field([], "DP-SGD target epsilons (noise chosen to reach them)")
    adv_reg: list[float] = parameter_field([3.0], "adversarial-regularisation weights")
    memguard_sets: list[tuple[str, float]] = parameter_field(
        [["digits", 0.1]], "Table 6: (data set, scale) pairs, M-2 of each (paper: CIFAR-10, Face)"
    )
    shadow_size: int = parameter_field(
        0, "D_shadow samples the shadows use; 0 means all (all, too, for a smaller D_shadow)"
    )
    shadow_epochs: int = parameter_field(30, "shadow training epochs")
    shadow_min_steps: int = parameter_field(300, "at least this many optimiser steps per shadow")
    boundary_budget: int = parameter_field(300, "boundary attack: label queries per candidate")
    boundary_per_side: int = parameter_field(20, "boundary attack: members and non-members per target")
    n_boot: int = parameter_field(200, "bootstrap resamples for AUC confidence intervals")


@dataclass(frozen=True)
class LadderParameters(TargetModelParameters):
    """The ``lz_ladder`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "lz_ladder"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "ladder_targets": [2, 5],
            "max_per_side": 100,
            "reference_models": 4,
            "rmia_population": 1000,
            "augment_shift": 2,
            "noise_queries": 500,
            "n_boot": 1000,
        },
        "paper": {
            "ladder_targets": [2, 5],
            "max_per_side": 200,
            "reference_models": 64,
            "lira_global_variance": False,
            "rmia_population": 5000,
            "augment_shift": 2,
            "noise_queries": 2500,
            "n_boot": 1000,
        },
    }

    ladder_targets: list[int] = parameter_field(
        [0, 5], "which M-i are attacked (M-0: the largest D_train, M-5: the smallest, most overfit)"
    )
    max_per_side: int = parameter_field(
        30, "members and non-members attacked per target, each (lz_boundary's: its runs are reused)"
    )
    reference_models: int = parameter_field(
        3, "LiRA and RMIA: reference models each (LiRA's paper: 256; RMIA's: 1 to 254)"
    )
    online: bool = parameter_field(
        True, "LiRA and RMIA: each candidate in half of the reference models (online) or in none (offline)"
    )
    lira_global_variance: bool = parameter_field(
        True, "LiRA: one pooled variance (the paper's choice with fewer than 64 models)"
    )
    rmia_population: int = parameter_field(200, "RMIA: population samples z, held out of D_shadow")
    augment_shift: int = parameter_field(1, "augmentation attack: translation in pixels (queries: 2 (1 + 4 shift))")
    noise_queries: int = parameter_field(100, "random-noise attack: noisy copies per candidate (label queries)")
    noise_sigma: float = parameter_field(
        0.1, "random-noise attack: Gaussian noise std, pixels in [0, 1] (not tuned on the targets)"
    )
    lowfpr_target: int = parameter_field(5, "lz-lowfpr: the M-i whose ROC curves are drawn")
    n_boot: int = parameter_field(200, "bootstrap resamples for the confidence intervals")
    transfer: TransferParameters = reused_field(
        TransferParameters,
        "the lz_transfer chapter's parameters: the baseline, transfer and ML-Leaks attacks are configured from them",
    )
    boundary: BoundaryParameters = reused_field(
        BoundaryParameters, "the lz_boundary chapter's parameters: the boundary attack is configured from them"
    )


@dataclass(frozen=True)
class VPParameters(ChapterParameters):
    """The ``vp_mia`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "vp_mia"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "per_set": 300,
            "max_len": 128,
            "vocab_size": 2000,
            "rnn_embed": 64,
            "rnn_hidden": 64,
            "bert_hidden": 64,
            "bert_intermediate": 128,
            "epochs": {"bilstm": 25, "bigru": 25, "codebert": 20},
            "sigmas": [0.0, 2.0, 10.0],
            "n_boot": 1000,
        },
        "paper": {
            "per_set": 5000,
            "max_len": 512,
            "vocab_size": 10000,
            "max_chars": 6000,
            "rnn_embed": 128,
            "rnn_hidden": 128,
            "bert_hidden": 768,
            "bert_layers": 12,
            "bert_heads": 12,
            "bert_intermediate": 3072,
            "codebert_path": "microsoft/codebert-base",
            "epochs": {"bilstm": 50, "bigru": 50, "codebert": 10},
            "lr": {"bilstm": 0.001, "bigru": 0.001, "codebert": 2e-05},
            "sigmas": [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
            "attack_hidden": [128, 64],
            "attack_iter": 300,
            "n_boot": 1000,
        },
    }

    dataset: str = parameter_field("juliet", "'juliet' (offline), or 'devign' / 'bigvul' read from data_path")
    data_path: str | None = parameter_field(
        None, "file or folder of the data set (None: Juliet from ../shared or the shipped file)"
    )
    models: list[str] = parameter_field(["bilstm", "bigru", "codebert"], "VP architectures to attack")
    per_set: int = parameter_field(40, "functions per set (target in/out, shadow in/out), half vulnerable")
    max_len: int = parameter_field(48, "tokens per function")
    vocab_size: int = parameter_field(1000, "BPE vocabulary")
    max_chars: int = parameter_field(2000, "longest function kept (characters)")
    rnn_embed: int = parameter_field(16, "token embedding size of the RNNs")
    rnn_hidden: int = parameter_field(16, "RNN units per direction")
    bert_hidden: int = parameter_field(16, "CodeBERT hidden size (reduced-size RoBERTa trained from scratch)")
    bert_layers: int = parameter_field(2, "CodeBERT encoder layers")
    bert_heads: int = parameter_field(2, "CodeBERT attention heads")
    bert_intermediate: int = parameter_field(32, "CodeBERT feed-forward size")
    codebert_path: str | None = parameter_field(
        None, "pretrained checkpoint to fine-tune instead (e.g. 'microsoft/codebert-base' online)"
    )
    epochs: dict[str, int] = parameter_field(
        {"bilstm": 10, "bigru": 10, "codebert": 10}, "training epochs per architecture"
    )
    lr: dict[str, float] = parameter_field(
        {"bilstm": 0.002, "bigru": 0.002, "codebert": 0.001}, "Adam learning rate per architecture"
    )
    batch_size: int = parameter_field(32, "training minibatch")
    levels: list[str] = parameter_field(["none", "coarse", "top1", "label"], "NMID masking levels swept")
    sigmas: list[float] = parameter_field([0.0, 10.0], "NMID noise scales swept")
    attack_hidden: list[int] = parameter_field([64], "attack MLP hidden layers")
    attack_iter: int = parameter_field(200, "attack MLP epochs / boosting iterations")
    gbdt_check: bool = parameter_field(True, "also run the gradient-boosting attack classifier (undefended)")
    n_boot: int = parameter_field(100, "bootstrap resamples for the confidence intervals")
    seed: int = parameter_field(0, "seed of splits, initialisation, batch order, noise and attack")


@dataclass(frozen=True)
class LLMParameters(ChapterParameters):
    """The ``llm_mia`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "llm_mia"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "scratch_docs_per_pool": 30,
            "scratch_passages_per_doc": 4,
            "scratch_passage_words": 48,
            "scratch_layers": 4,
            "scratch_width": 128,
            "scratch_vocab": 2048,
            "scratch_checkpoints": [1, 3],
            "scratch_lr": 0.002,
            "scratch_neighbours": 5,
            "pretrained_model": "smollm2-135m",
            "pretrained_epochs": 2,
            "pretrained_checkpoints": [1],
            "n_boot": 1000,
        },
        "paper": {
            "scratch_docs_per_pool": 150,
            "scratch_passages_per_doc": 6,
            "scratch_passage_words": 64,
            "scratch_layers": 6,
            "scratch_width": 384,
            "scratch_vocab": 8192,
            "scratch_epochs": 20,
            "scratch_checkpoints": [1, 2, 5, 10],
            "scratch_lr": 0.001,
            "scratch_neighbours": 25,
            "pretrained_model": "smollm2-135m",
            "pretrained_method": "full",
            "pretrained_docs_per_pool": 150,
            "pretrained_passages_per_doc": 4,
            "pretrained_passage_words": 64,
            "pretrained_epochs": 5,
            "pretrained_checkpoints": [1, 2, 3, 4],
            "pretrained_lr": 5e-05,
            "pretrained_batch_size": 16,
            "pretrained_neighbours": 25,
            "k_grid": [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
            "max_tokens": 256,
            "n_boot": 1000,
        },
    }

    seed: int = parameter_field(0, "seed of pools, initialisation, LoRA adapters, batch order and neighbours")
    scratch_docs_per_pool: int = parameter_field(
        10, "Brown documents in each of the member, non-member and reference pools of the scratch target"
    )
    scratch_passages_per_doc: int = parameter_field(3, "passages drawn per document for the scratch target")
    scratch_passage_words: int = parameter_field(32, "corpus tokens per passage for the scratch target")
    scratch_layers: int = parameter_field(2, "transformer blocks of the from-scratch GPT-2")
    scratch_width: int = parameter_field(64, "hidden width of the from-scratch GPT-2")
    scratch_vocab: int = parameter_field(1024, "byte-level BPE vocabulary of the from-scratch GPT-2")
    scratch_epochs: int = parameter_field(8, "training epochs of the from-scratch GPT-2")
    scratch_checkpoints: list[int] = parameter_field([2, 4], "epochs attacked besides the last")
    scratch_lr: float = parameter_field(0.003, "AdamW learning rate of the from-scratch GPT-2")
    scratch_neighbours: int = parameter_field(
        4, "neighbours per text for the neighbourhood attack on the scratch target"
    )
    pretrained_model: str = parameter_field(
        "", "empty for none, smollm2-135m for the offline SmolLM2, a local folder or a Hugging Face id"
    )
    pretrained_method: str = parameter_field("lora", "lora or full fine-tuning of the pretrained target")
    pretrained_docs_per_pool: int = parameter_field(16, "Brown documents per pool for the pretrained target")
    pretrained_passages_per_doc: int = parameter_field(2, "passages drawn per document for the pretrained target")
    pretrained_passage_words: int = parameter_field(24, "corpus tokens per passage for the pretrained target")
    pretrained_epochs: int = parameter_field(3, "fine-tuning epochs")
    pretrained_checkpoints: list[int] = parameter_field([1, 2], "epochs attacked besides the last")
    pretrained_lr: float = parameter_field(0.001, "AdamW learning rate of the fine-tuning")
    pretrained_batch_size: int = parameter_field(8, "texts per fine-tuning step and per scoring forward pass")
    pretrained_neighbours: int = parameter_field(
        3, "neighbours per text for the neighbourhood attack on the pretrained target"
    )
    pretrained_references: list[str] = parameter_field(
        ["base", "disjoint"], "reference models of the pretrained target (disjoint: one more training)"
    )
    lora_rank: int = parameter_field(16, "LoRA rank of every linear layer; alpha is twice the rank")
    replace_fraction: float = parameter_field(0.1, "fraction of a passage's tokens replaced in each neighbour")
    min_k: float = parameter_field(0.2, "k of Min-k% and Min-k%++ as a fraction")
    k_grid: list[float] = parameter_field([0.05, 0.1, 0.2, 0.3, 0.5, 1.0], "k values of the Min-k% sweep")
    max_tokens: int = parameter_field(128, "tokens of a text scored and trained on")
    n_boot: int = parameter_field(200, "bootstrap resamples of each AUC's confidence interval")


@dataclass(frozen=True)
class AuditParameters(ChapterParameters):
    """The ``audit`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "audit"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "curve_sizes": [50, 100, 200, 400],
            "vision_dataset": "fashion-mnist",
            "vision_base": 3000,
            "vision_test": 1000,
            "vision_canaries": 600,
            "width": 16,
            "epochs": 10,
            "batch_size": 256,
            "nodp_min_steps": 1500,
            "boundary_budget": 0,
            "lm_docs_per_pool": 20,
            "lm_passages_per_doc": 3,
            "lm_passage_words": 32,
            "lm_layers": 2,
            "lm_width": 64,
            "lm_vocab": 1024,
            "lm_epochs": 15,
            "lm_batch_size": 16,
            "lm_canaries": 200,
            "lm_canary_words": 12,
            "lm_max_tokens": 64,
        },
        "paper": {
            "epsilons": [1.0, 2.0, 4.0, 8.0],
            "curve_sizes": [100, 250, 500, 1000, 2500, 5000],
            "vision_dataset": "cifar10",
            "vision_base": 25000,
            "vision_test": 10000,
            "vision_canaries": 5000,
            "width": 64,
            "epochs": 50,
            "batch_size": 1024,
            "lr": 0.002,
            "nodp_min_steps": 20000,
            "boundary_budget": 2000,
            "lm_docs_per_pool": 150,
            "lm_passages_per_doc": 6,
            "lm_passage_words": 64,
            "lm_layers": 6,
            "lm_width": 384,
            "lm_vocab": 8192,
            "lm_epochs": 20,
            "lm_batch_size": 64,
            "lm_lr": 0.001,
            "lm_canaries": 1000,
            "lm_canary_words": 16,
            "lm_max_tokens": 128,
        },
    }

    seed: int = parameter_field(0, "seed of data draws, canaries, inclusion, models and batches")
    epsilons: list[float] = parameter_field(
        [1.0, 4.0, 8.0], "theoretical epsilons of the DP-SGD targets (no-DP targets are added)"
    )
    delta: float = parameter_field(1e-05, "delta of the DP guarantee and of the audit")
    confidence: float = parameter_field(0.95, "confidence of every lower bound")
    curve_sizes: list[int] = parameter_field([20, 40, 60], "audit-curve: numbers of canaries (the first n of each run)")
    vision_dataset: str = parameter_field("digits", "vision data set (real images; canaries are drawn from it too)")
    vision_base: int = parameter_field(300, "real training images, always included")
    vision_test: int = parameter_field(300, "held-out images for the test accuracy")
    vision_canaries: int = parameter_field(60, "m for the CNN")
    canary_kind: str = parameter_field("mislabelled", "mislabelled (wrong labels) or noise (uniform random images)")
    width: int = parameter_field(8, "channels of the first conv layer")
    epochs: int = parameter_field(5, "training epochs of the DP targets")
    batch_size: int = parameter_field(64, "expected batch size (Poisson sampling under DP)")
    lr: float = parameter_field(0.003, "Adam learning rate")
    nodp_min_steps: int = parameter_field(300, "optimiser steps of the no-DP target at least (so it can memorise)")
    boundary_budget: int = parameter_field(50, "label queries per canary of the boundary attack (0 skips it)")
    lm_docs_per_pool: int = parameter_field(
        4, "Brown documents per pool (the member pool is the LM's base training set)"
    )
    lm_passages_per_doc: int = parameter_field(2, "passages per document")
    lm_passage_words: int = parameter_field(24, "words per passage")
    lm_layers: int = parameter_field(1, "GPT-2 blocks")
    lm_width: int = parameter_field(32, "GPT-2 hidden width")
    lm_vocab: int = parameter_field(512, "BPE vocabulary (trained on the reference pool)")
    lm_epochs: int = parameter_field(4, "training epochs")
    lm_batch_size: int = parameter_field(8, "(expected) texts per step")
    lm_lr: float = parameter_field(0.003, "AdamW learning rate")
    lm_canaries: int = parameter_field(40, "m for the LM")
    lm_canary_words: int = parameter_field(8, "words per text canary")
    lm_max_tokens: int = parameter_field(48, "tokens per text trained on and scored")


@dataclass(frozen=True)
class AuditLLMParameters(ChapterParameters):
    """The ``audit_llm`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "audit_llm"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {
            "epsilons": [1.0, 4.0, 8.0],
            "docs_per_pool": 12,
            "passages_per_doc": 3,
            "passage_words": 32,
            "canaries": 100,
            "canary_words": 12,
            "secrets": 32,
            "secret_digits": 6,
            "alternatives": 31,
            "epochs": 3,
        },
        "paper": {
            "epsilons": [1.0, 4.0, 8.0],
            "docs_per_pool": 150,
            "passages_per_doc": 4,
            "passage_words": 64,
            "canaries": 1000,
            "canary_words": 16,
            "secrets": 200,
            "secret_digits": 9,
            "alternatives": 4095,
            "epochs": 5,
            "lr": 0.001,
            "batch_size": 32,
            "lora_r": 16,
            "max_tokens": 128,
        },
    }

    seed: int = parameter_field(0, "seed of the canaries, their inclusion, the adapters and the batches")
    model: str = parameter_field(
        "smollm2-135m", "the pretrained LM: smollm2-135m (offline), a local folder or a Hugging Face id"
    )
    epsilons: list[float] = parameter_field(
        [8.0], "target epsilons of the DP fine-tuning runs (a run without DP is added)"
    )
    delta: float = parameter_field(1e-05, "delta of the DP guarantee and of the audit")
    confidence: float = parameter_field(0.95, "confidence of every lower bound")
    clip: float = parameter_field(1.0, "DP-SGD per-sample clipping norm")
    docs_per_pool: int = parameter_field(4, "Brown documents per pool (the member pool is the base fine-tuning set)")
    passages_per_doc: int = parameter_field(2, "passages per document")
    passage_words: int = parameter_field(24, "words per passage")
    canaries: int = parameter_field(16, "random-word canaries (each fine-tuned on with probability 1/2)")
    canary_words: int = parameter_field(8, "words per random-word canary")
    secrets: int = parameter_field(8, "secret canaries (template + random digits)")
    secret_digits: int = parameter_field(4, "digits of a secret's fill")
    alternatives: int = parameter_field(15, "other fills ranked against each true fill")
    epochs: int = parameter_field(2, "fine-tuning epochs")
    lr: float = parameter_field(0.002, "AdamW learning rate of the adapters")
    batch_size: int = parameter_field(8, "(expected) texts per fine-tuning step")
    score_batch_size: int = parameter_field(32, "texts per scoring forward pass")
    lora_r: int = parameter_field(8, "LoRA rank (alpha: twice the rank)")
    max_tokens: int = parameter_field(48, "tokens per text trained on and scored")
    min_k: float = parameter_field(0.2, "k of Min-k% and Min-k%++")
    n_boot: int = parameter_field(1000, "bootstrap resamples of the exposure claim")


@dataclass(frozen=True)
class OwnModelParameters(ChapterParameters):
    """The ``own_model`` chapter's parameters."""

    CHAPTER: ClassVar[str] = "own_model"
    PROFILE_CHANGES: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "default": {"image_members": 300, "code_per_set": 200, "n_boot": 1000},
        "paper": {
            "image_members": 600,
            "image_epochs": 100,
            "shadow_epochs": 100,
            "boundary_budget": 15000,
            "lm_docs": 60,
            "lm_epochs": 20,
            "lm_width": 128,
            "code_per_set": 1000,
            "n_boot": 1000,
        },
    }

    seed: int = parameter_field(0, "seed of the data split, training and the attacks")
    image_members: int = parameter_field(150, "member (and non-member) images of the classifier")
    image_epochs: int = parameter_field(60, "training epochs of the classifier (it overfits its few members)")
    shadow_epochs: int = parameter_field(30, "training epochs of the attacker's shadow models (transfer, score-based)")
    boundary_budget: int = parameter_field(300, "label queries per candidate of the boundary attack")
    lm_docs: int = parameter_field(
        10, "Brown documents per pool (member, non-member, reference) for the language model"
    )
    lm_epochs: int = parameter_field(8, "training epochs of the language model")
    lm_width: int = parameter_field(64, "hidden size of the language model (2 layers, 4 heads)")
    code_per_set: int = parameter_field(60, "functions per set (target in / out, shadow in / out) of the code model")
    n_boot: int = parameter_field(200, "bootstrap resamples behind every confidence interval")
