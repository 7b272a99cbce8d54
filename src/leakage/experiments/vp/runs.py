"""The ``vp_mia`` chapter's runs, built from its typed parameters (:class:`VPParameters`).

The plan (:func:`leakage.experiments.vp.jobs.plan_tasks`) and the chapter's frames
(:mod:`leakage.experiments.vp.frames`) build the same configs from the same parameters through these
functions, so the notebook loads exactly the artefacts the plan computed.
"""

from __future__ import annotations

from collections.abc import Sequence

from leakage.experiments.parameters import VPParameters
from leakage.experiments.vp.configs import (VPAttackRunConfig, VPBaselineRunConfig, VPDataConfig, VPModelRunConfig,
                                            shadow_of)
from leakage.train import TrainConfig
from leakage.vp.attack import AttackConfig
from leakage.vp.features import BLACK_BOX, FEATURE_SETS, GRAY_BOX
from leakage.vp.juliet import JulietConfig
from leakage.vp.models import VPModelConfig
from leakage.vp.nmid import NMIDConfig
from leakage.vp.splits import VPSplitConfig
from leakage.vp.tokenizer import TokenizerConfig

#: Architecture -> its name in the chapter's tables and figures.
MODEL_NAMES: dict[str, str] = {"bilstm": "BiLSTM", "bigru": "BiGRU", "codebert": "CodeBERT"}
#: The NMID tables' names of the two attackers (feature sets) swept under NMID.
ATTACKERS: dict[str, str] = {BLACK_BOX: "black-box (logits+loss+confidence)", GRAY_BOX: "gray-box (all)"}
#: Columns of the per-function score frame the claims read (``vp-scores``), and its de-duplication keys.
SCORE_KEYS: tuple[str, ...] = ("model", "classifier", "level", "sigma", "features", "function")


def model_name(arch: str, codebert_path: str | None = None) -> str:
    """The display name of ``arch``: a CodeBERT trained from scratch (no ``codebert_path``) is labelled
    "CodeBERT (small, scratch)". Raises ``KeyError`` for an unknown architecture."""
    if arch == "codebert" and not codebert_path:
        return "CodeBERT (small, scratch)"
    return MODEL_NAMES[arch]


def data_config(params: VPParameters) -> VPDataConfig:
    """The corpus, its four sets and the BPE tokenizer (``dataset``, ``data_path``, ``max_chars``, ``per_set``,
    ``seed``, ``vocab_size``, ``max_len``)."""
    return VPDataConfig(dataset=params.dataset, path=params.data_path,
                        juliet=JulietConfig(max_chars=params.max_chars),
                        split=VPSplitConfig(per_set=params.per_set, seed=params.seed),
                        tokenizer=TokenizerConfig(vocab_size=params.vocab_size, max_len=params.max_len))


def model_config(params: VPParameters, arch: str) -> VPModelConfig:
    """The architecture ``arch`` at the chapter's sizes (``rnn_*`` for the RNNs, ``bert_*`` and
    ``codebert_path`` for CodeBERT)."""
    if arch == "codebert":
        return VPModelConfig(arch=arch, hidden=params.bert_hidden, layers=params.bert_layers,
                             heads=params.bert_heads, intermediate=params.bert_intermediate,
                             codebert_path=params.codebert_path)
    return VPModelConfig(arch=arch, embed_dim=params.rnn_embed, hidden=params.rnn_hidden)


def target_config(params: VPParameters, arch: str) -> VPModelRunConfig:
    """The target model ``arch`` (``epochs``, ``lr`` per architecture, ``batch_size``, ``seed``); its shadow is
    :func:`shadow_of` of it."""
    return VPModelRunConfig(data=data_config(params), model=model_config(params, arch),
                            train=TrainConfig(epochs=params.epochs[arch], lr=params.lr[arch],
                                              batch_size=params.batch_size),
                            role="target", seed=params.seed)


def baseline_config(params: VPParameters) -> VPBaselineRunConfig:
    """The bag-of-tokens baseline on the chapter's corpus and sets."""
    return VPBaselineRunConfig(data=data_config(params))


def attack_config(params: VPParameters, arch: str, nmid: NMIDConfig, classifier: str = "mlp",
                  feature_sets: Sequence[str] = tuple(FEATURE_SETS), tpr_ci: bool = True) -> VPAttackRunConfig:
    """The shadow-model attack on target ``arch`` (with its :func:`shadow_of` shadow) under ``nmid``
    (``attack_hidden``, ``attack_iter``, ``seed``, ``n_boot``; ``tpr_ci=False``: no CI of the TPR at 1% FPR)."""
    target = target_config(params, arch)
    return VPAttackRunConfig(target=target, shadow=shadow_of(target), nmid=nmid,
                             attack=AttackConfig(classifier=classifier, hidden=tuple(params.attack_hidden),
                                                 max_iter=params.attack_iter, seed=params.seed),
                             feature_sets=tuple(feature_sets), n_boot=params.n_boot,
                             tpr_boot=params.n_boot if tpr_ci else 0)


def undefended_attacks(params: VPParameters) -> list[tuple[str, str, VPAttackRunConfig]]:
    """(architecture, attack classifier, config) of every undefended attack of the chapter: each model of
    ``models`` with the MLP and, with ``gbdt_check``, the gradient-boosting check; every feature set."""
    classifiers = ["mlp", "gbdt"] if params.gbdt_check else ["mlp"]
    return [(arch, classifier, attack_config(params, arch, NMIDConfig(seed=params.seed), classifier))
            for arch in params.models for classifier in classifiers]


def nmid_attacks(params: VPParameters) -> list[tuple[str, str, float, VPAttackRunConfig]]:
    """(architecture, masking level, sigma as swept, config) of every NMID attack of the chapter: each model x
    level of ``levels`` x sigma of ``sigmas``, MLP classifier, the black-box and gray-box feature sets, no TPR
    CI. Under ``label`` sigma does nothing, so its config uses sigma 0 for every swept sigma (one artefact)."""
    return [(arch, level, float(sigma),
             attack_config(params, arch, NMIDConfig(level=level, sigma=0.0 if level == "label" else float(sigma),
                                                    seed=params.seed),
                           "mlp", (BLACK_BOX, GRAY_BOX), tpr_ci=False))
            for arch in params.models for level in params.levels for sigma in params.sigmas]
