"""Stages of the VP chapter: corpus and splits, tokenizer, target and shadow models, attacks under NMID.

Artefacts (all in the store, keyed by their full config):

- ``vp_tokenizer``: the BPE tokenizer learnt on the corpus's public pool;
- ``vp_model``: a trained BiLSTM / BiGRU / CodeBERT (target or shadow), its raw outputs (embedding,
  logits) on its members and non-members, and its utility on the held-out non-members;
- ``vp_baseline``: the bag-of-tokens logistic regression's utility on the same held-out functions;
- ``vp_attack``: per-function attack scores on the target's members and non-members for each feature
  set, under one NMID setting and one attack classifier, with the attack metrics and the utility of
  the defended release.

Every key covers the content of what the corpus is read from (``VPDataConfig.input_digests``: the
Devign / BigVul file, the Juliet archive or folder ``$LEAKAGE_JULIET`` names, or the shipped derived
file) and of a CodeBERT checkpoint (``VPModelConfig.input_digests``), so an input rewritten in place
never returns an artefact computed from the old one; the per-process caches of the corpus are keyed
by the same digest.

The ``vp_mia`` chapter's plan (:func:`plan_tasks`) lists one task per artefact (the tokenizer, each target
and shadow model, the baseline, each attack run), built from the notebook's parameters by the same
functions as the chapter's frames (:func:`utility_frame`, :func:`mia_frames`, :func:`nmid_frames`), which
the notebook calls once the plan ran: they load, and compute nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from leakage.membership import MembershipResult
from leakage.config import doc_field
from leakage.device import describe_device, get_device
from leakage.experiments.jobs import Task, stage, task
from leakage.inputs import path_digest
from leakage.metrics import bootstrap_tprs, resolve_low_fprs, summarize, tpr_at_zero_fp_interval
from leakage.seed import derive_seed, numpy_rng, seed_everything, seed_torch
from leakage.store import Store
from leakage.train import TrainConfig, epochs_for, fit
from leakage.vp.attack import AttackConfig, attack_label, shadow_attack
from leakage.vp.baseline import BaselineConfig, bag_of_tokens_baseline
from leakage.vp.features import BLACK_BOX, FEATURE_SETS, GRAY_BOX, RawOutputs, check_feature_sets, model_outputs
from leakage.vp.juliet import EXTRACTOR_VERSION, JulietConfig, VPCorpus, load_juliet
from leakage.vp.juliet import source_path as juliet_source_path
from leakage.models import count_parameters
from leakage.vp.models import VPModelConfig, build_vp_model
from leakage.vp.nmid import KEEPS_LABEL, NMIDConfig, apply_nmid
from leakage.vp.realworld import REALWORLD_DATASETS, load_realworld
from leakage.vp.realworld import source_path as realworld_source_path
from leakage.vp.splits import VPSplitConfig, VPSplits, make_vp_splits
from leakage.vp.tokenizer import CodeTokenizer, PretrainedTokenizer, TokenizerConfig

if TYPE_CHECKING:
    import pandas as pd

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


# --------------------------------------------------------------------------- data


def source_path(dataset: str, path: str | None) -> Path:
    """The file or folder the corpus of ``dataset`` is read from: for Juliet the ``path`` argument, else
    ``$LEAKAGE_JULIET``, else the shared archive or the shipped derived file (:func:`leakage.vp.juliet.source_path`);
    for Devign / BigVul the file at ``path``. Raises ``DataUnavailableError`` when it is missing."""
    if dataset == "juliet":
        return juliet_source_path(path)
    if not path:
        raise ValueError(f"data set {dataset!r} is read from a file: give its path")
    return realworld_source_path(dataset, path)


def source_digest(dataset: str, path: str | None) -> str:
    """16-hex-digit content digest of :func:`source_path` (a folder: all its files), cached by size and mtime."""
    return path_digest(source_path(dataset, path))


def load_corpus(dataset: str, path: str | None, juliet: JulietConfig) -> tuple[VPCorpus, dict[str, int]]:
    """(corpus, extraction statistics) of a data config.

    Cached per process by the source's *content* digest as well as the arguments, so a file rewritten in
    place (or ``$LEAKAGE_JULIET`` pointed elsewhere) is read again, never served from the cache.
    """
    return _load_corpus(dataset, path, juliet, source_digest(dataset, path))


@functools.lru_cache(maxsize=4)
def _load_corpus(dataset: str, path: str | None, juliet: JulietConfig, digest: str
                 ) -> tuple[VPCorpus, dict[str, int]]:
    del digest  # only part of the cache key
    if dataset == "juliet":
        return load_juliet(juliet, path)
    return load_realworld(dataset, path, max_chars=juliet.max_chars)  # type: ignore[arg-type]


def prepare(data: VPDataConfig) -> tuple[VPCorpus, VPSplits]:
    """(corpus, its four sets) for ``data``; cached per process by the config and its source's content digest."""
    return _prepare(data, source_digest(data.dataset, data.path))


@functools.lru_cache(maxsize=8)
def _prepare(data: VPDataConfig, digest: str) -> tuple[VPCorpus, VPSplits]:
    corpus, _ = _load_corpus(data.dataset, data.path, data.juliet, digest)
    return corpus, make_vp_splits(corpus.label, corpus.group, data.split)


def load_tokenizer(data: VPDataConfig, model: VPModelConfig, store: Store | None = None):
    """The model's tokenizer: the checkpoint's own for a pretrained CodeBERT, else the BPE learnt on the public pool."""
    if model.codebert_path:
        return PretrainedTokenizer(model.codebert_path, data.tokenizer.max_len)
    store = store or Store()
    corpus, splits = prepare(data)

    def compute() -> dict:
        pool = splits.public
        if len(pool) == 0:
            raise ValueError("the four sets use the whole corpus, leaving no public functions to train the "
                             "tokenizer on; lower per_set")
        rng = numpy_rng(data.split.seed, "vp-tokenizer")
        chosen = np.sort(rng.choice(pool, min(len(pool), data.tokenizer.train_size), replace=False))
        tokenizer = CodeTokenizer.train([corpus.code[i] for i in chosen], data.tokenizer)
        return {"tokenizer": tokenizer.to_json(), "trained_on": chosen, "vocab_size": tokenizer.vocab_size}

    payload = store.cached("vp_tokenizer", data, compute, seed=data.split.seed)
    return CodeTokenizer.from_json(payload["tokenizer"], data.tokenizer.max_len)


def encode_set(data: VPDataConfig, model: VPModelConfig, name: str, store: Store | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(token ids (n, max_len), labels (n,)) of one of the four sets."""
    corpus, splits = prepare(data)
    index = splits[name]
    tokenizer = load_tokenizer(data, model, store)
    return tokenizer.encode([corpus.code[i] for i in index]), torch.as_tensor(corpus.label[index])


# --------------------------------------------------------------------------- models


def utility(labels: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 (vulnerable = positive) of predictions (N,) against labels (N,)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(labels, prediction, average="binary",
                                                               zero_division=0)
    return {"accuracy": float(accuracy_score(labels, prediction)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


@dataclass
class VPModelRun:
    """A trained VP model's artefact: raw outputs on its members (``in``) and non-members (``out``), metrics."""

    config: VPModelRunConfig
    payload: dict

    def outputs(self, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(embedding (n, D), logits (n, 2), labels (n,)) on ``part`` = 'in' (members) or 'out' (non-members)."""
        return self.payload[f"embedding_{part}"], self.payload[f"logits_{part}"], self.payload[f"labels_{part}"]

    @property
    def metrics(self) -> dict:
        return {k: v for k, v in self.payload.items() if isinstance(v, (int, float, str))}


def train_vp_model(config: VPModelRunConfig, store: Store | None = None) -> VPModelRun:
    """Train (or load) one VP model and record its outputs on its members and non-members."""
    store = store or Store()
    device = get_device()
    sets = (f"{config.role}_in", f"{config.role}_out")

    def compute() -> dict:
        import time

        seed_everything(config.seed)
        tokenizer = load_tokenizer(config.data, config.model, store)
        (x_in, y_in), (x_out, y_out) = (encode_set(config.data, config.model, s, store) for s in sets)
        seed_torch(derive_seed(config.seed, "init"))
        model = build_vp_model(config.model, tokenizer.vocab_size, tokenizer.pad_id, config.data.tokenizer.max_len)
        model.to(device)
        start = time.perf_counter()
        log = fit(model, x_in.to(device), y_in.to(device), config.train, seed=config.seed,
                  desc=f"{config.model.arch} {config.role}")
        seconds = time.perf_counter() - start
        payload: dict = {"model": model.state_dict(), "train_seconds": seconds,
                         "epochs": epochs_for(config.train, len(x_in)), "parameters": count_parameters(model),
                         "train_loss_curve": log.loss, "train_accuracy_curve": log.accuracy,
                         "mean_tokens": float((x_in != tokenizer.pad_id).sum(1).float().mean()),
                         "truncated_fraction": float((x_in[:, -1] != tokenizer.pad_id).float().mean())}
        for part, x, y in (("in", x_in, y_in), ("out", x_out, y_out)):
            embedding, logits = model_outputs(model, x)
            payload.update({f"embedding_{part}": embedding.astype(np.float32), f"logits_{part}": logits,
                            f"labels_{part}": y.numpy()})
            for name, value in utility(y.numpy(), logits.argmax(1)).items():
                payload[f"{'train' if part == 'in' else 'heldout'}_{name}"] = value
        return payload

    payload = store.cached("vp_model", config, compute, seed=config.seed, device=describe_device(device))
    return VPModelRun(config, payload)


# --------------------------------------------------------------------------- the bag-of-tokens baseline


@dataclass(frozen=True)
class VPBaselineRunConfig:
    """The bag-of-tokens baseline on one corpus: fit on the target's members, scored on its non-members."""

    data: VPDataConfig = doc_field(VPDataConfig(), "corpus and sets (the tokenizer is not used)")
    baseline: BaselineConfig = doc_field(BaselineConfig(), "the logistic regression on token presence")


def run_vp_baseline(config: VPBaselineRunConfig, store: Store | None = None) -> dict:
    """The baseline's held-out utility on exactly the data the target models' utility is measured on.

    Trained on ``target_in``, evaluated on ``target_out`` (a model's ``heldout_*`` metrics); returns
    :func:`leakage.vp.baseline.bag_of_tokens_baseline`'s dict (accuracy, precision, recall, f1,
    majority_rate, n_train, n_test, vocabulary). Cached in the store as ``vp_baseline``.
    """
    store = store or Store()

    def compute() -> dict:
        corpus, splits = prepare(config.data)
        train, test = splits["target_in"], splits["target_out"]
        return bag_of_tokens_baseline([corpus.code[i] for i in train], corpus.label[train],
                                      [corpus.code[i] for i in test], corpus.label[test], config.baseline)

    return store.cached("vp_baseline", config, compute, seed=config.data.split.seed)


# --------------------------------------------------------------------------- attacks


def raw_outputs(run: VPModelRun) -> RawOutputs:
    """A trained model's raw outputs on its members then its non-members, as the attack takes them."""
    parts = [run.outputs("in"), run.outputs("out")]
    embedding, logits, labels = (np.concatenate([p[i] for p in parts]) for i in range(3))
    member = np.r_[np.ones(len(parts[0][2]), bool), np.zeros(len(parts[1][2]), bool)]
    return RawOutputs(embedding, logits, labels, member, name=run.config.role)


def run_vp_attack(config: VPAttackRunConfig, store: Store | None = None) -> dict:
    """Scores, attack metrics per feature set, and the defended release's utility, for one attack setting.

    The computation is :func:`leakage.vp.attack.shadow_attack` on the target's and the shadow's recorded
    outputs (the same function :func:`leakage.api.attack_code_model` runs on a model handed in).
    Returns the artefact: ``is_member`` (2n,) bool (target members first), ``scores_<i>`` (2n,) for the
    i-th feature set (higher = member), ``metrics`` {feature set: summarize()}, ``utility`` (on the
    held-out non-members, from the defended release) and ``utility_members``. :func:`vp_results` turns it
    into :class:`~leakage.api.MembershipResult` objects.
    """
    store = store or Store()
    check_feature_sets(config.feature_sets)
    if config.target.role != "target" or config.shadow.role != "shadow":
        raise ValueError("an attack needs a target config (role 'target') and a shadow config (role 'shadow')")

    def compute() -> dict:
        target = raw_outputs(train_vp_model(config.target, store))
        shadow = raw_outputs(train_vp_model(config.shadow, store))
        outcome = shadow_attack(target, shadow, config.nmid, config.attack, config.feature_sets)
        release, is_member = outcome.target_release, target.is_member
        payload: dict = {"is_member": is_member, "metrics": {}}
        for i, feature_set in enumerate(config.feature_sets):
            scores = outcome.scores[feature_set]
            payload[f"scores_{i}"] = scores
            boot_seed = _boot_seed(config, feature_set)
            metrics = summarize(scores, is_member, n_boot=config.n_boot, seed=boot_seed)
            if config.tpr_boot:  # the TPR at 1% FPR's bootstrap CI, and the TPR at zero false positives' exact one
                (metrics["tpr_at_1pct_fpr_lo"], metrics["tpr_at_1pct_fpr_hi"]), = bootstrap_tprs(
                    scores, is_member, (0.01,), n_boot=config.tpr_boot, seed=boot_seed)
                metrics["tpr_at_0fp_lo"], metrics["tpr_at_0fp_hi"] = tpr_at_zero_fp_interval(scores, is_member)
            payload["metrics"][feature_set] = resolve_low_fprs(metrics)  # NaN where 1% FPR < 1/n0
        payload["utility"] = utility(target.labels[~is_member], release.prediction[~is_member])
        payload["utility_members"] = utility(target.labels[is_member], release.prediction[is_member])
        payload["label_kept"] = float(np.mean(release.prediction == target.logits.argmax(1)))
        return payload

    return store.cached("vp_attack", config, compute, seed=config.attack.seed)


def _boot_seed(config: VPAttackRunConfig, feature_set: str) -> int:
    return derive_seed(config.attack.seed, "boot", feature_set)


def vp_results(config: VPAttackRunConfig, result: dict) -> dict[str, MembershipResult]:
    """One :class:`~leakage.api.MembershipResult` per feature set of a :func:`run_vp_attack` artefact.

    ``scores`` (2n,) higher = member, ``is_member`` (2n,) as stored; ``indices`` are positions among the
    target's members then non-members (the ``function`` of :func:`scores_frame`); ``config`` is the run's
    config; the bootstrap seed and ``n_boot`` are the run's, so the AUC and its CI equal the stored metrics
    (the TPR CIs use ``config.n_boot`` resamples). No extras: the artefact keeps only the scores.
    """
    is_member = np.asarray(result["is_member"], bool)
    return {feature_set: MembershipResult(attack=attack_label(feature_set, config.attack, config.nmid),
                                          scores=np.asarray(result[f"scores_{i}"], np.float64),
                                          is_member=is_member, config=config, seed=_boot_seed(config, feature_set),
                                          n_boot=config.n_boot)
            for i, feature_set in enumerate(config.feature_sets)}


# --------------------------------------------------------------------------- tidy frames for the claims


def scores_frame(config: VPAttackRunConfig, result: dict) -> "pd.DataFrame":
    """One attack artefact's per-function scores as a long frame: ``features``, ``function`` (position among
    the target's members then non-members: the same id for every model of one data config), ``is_member``,
    ``score`` (higher = member)."""
    import pandas as pd

    is_member = np.asarray(result["is_member"], bool)
    return pd.concat([pd.DataFrame({"features": feature_set, "function": np.arange(len(is_member)),
                                    "is_member": is_member, "score": np.asarray(result[f"scores_{i}"], float)})
                      for i, feature_set in enumerate(config.feature_sets)], ignore_index=True)


def release_predictions(config: VPAttackRunConfig, store: Store | None = None) -> "pd.DataFrame":
    """Per held-out function (a target non-member): ``function`` (numbered as in :func:`scores_frame`),
    ``label``, ``undefended`` (the model's prediction) and ``defended`` (the label of the NMID release, the
    same draw as :func:`run_vp_attack`'s)."""
    import pandas as pd

    target = raw_outputs(train_vp_model(config.target, store))
    defended = apply_nmid(target.embedding, target.logits, target.labels, config.nmid, "target").prediction
    out = np.flatnonzero(~target.is_member)
    return pd.DataFrame({"function": out, "label": target.labels[out].astype(int),
                         "undefended": target.logits[out].argmax(1), "defended": defended[out]})


# --------------------------------------------------------------------------- the chapter's configs, from its parameters
#
# ``params`` below is the ``vp_mia`` notebook's resolved parameters (its parameters cell's names): the plan
# (:func:`plan_tasks`) and the notebook's frame functions build the same configs from it, so the notebook
# loads exactly the artefacts the plan computed.

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


def data_config(params: Mapping[str, Any]) -> VPDataConfig:
    """The corpus, its four sets and the BPE tokenizer (``dataset``, ``data_path``, ``max_chars``, ``per_set``,
    ``seed``, ``vocab_size``, ``max_len``)."""
    return VPDataConfig(dataset=params["dataset"], path=params["data_path"],
                        juliet=JulietConfig(max_chars=params["max_chars"]),
                        split=VPSplitConfig(per_set=params["per_set"], seed=params["seed"]),
                        tokenizer=TokenizerConfig(vocab_size=params["vocab_size"], max_len=params["max_len"]))


def model_config(params: Mapping[str, Any], arch: str) -> VPModelConfig:
    """The architecture ``arch`` at the chapter's sizes (``rnn_*`` for the RNNs, ``bert_*`` and
    ``codebert_path`` for CodeBERT)."""
    if arch == "codebert":
        return VPModelConfig(arch=arch, hidden=params["bert_hidden"], layers=params["bert_layers"],
                             heads=params["bert_heads"], intermediate=params["bert_intermediate"],
                             codebert_path=params["codebert_path"])
    return VPModelConfig(arch=arch, embed_dim=params["rnn_embed"], hidden=params["rnn_hidden"])


def target_config(params: Mapping[str, Any], arch: str) -> VPModelRunConfig:
    """The target model ``arch`` (``epochs``, ``lr`` per architecture, ``batch_size``, ``seed``); its shadow is
    :func:`shadow_of` of it."""
    return VPModelRunConfig(data=data_config(params), model=model_config(params, arch),
                            train=TrainConfig(epochs=params["epochs"][arch], lr=params["lr"][arch],
                                              batch_size=params["batch_size"]),
                            role="target", seed=params["seed"])


def baseline_config(params: Mapping[str, Any]) -> VPBaselineRunConfig:
    """The bag-of-tokens baseline on the chapter's corpus and sets."""
    return VPBaselineRunConfig(data=data_config(params))


def attack_config(params: Mapping[str, Any], arch: str, nmid: NMIDConfig, classifier: str = "mlp",
                  feature_sets: Sequence[str] = tuple(FEATURE_SETS), tpr_ci: bool = True) -> VPAttackRunConfig:
    """The shadow-model attack on target ``arch`` (with its :func:`shadow_of` shadow) under ``nmid``
    (``attack_hidden``, ``attack_iter``, ``seed``, ``n_boot``; ``tpr_ci=False``: no CI of the TPR at 1% FPR)."""
    target = target_config(params, arch)
    return VPAttackRunConfig(target=target, shadow=shadow_of(target), nmid=nmid,
                             attack=AttackConfig(classifier=classifier, hidden=tuple(params["attack_hidden"]),
                                                 max_iter=params["attack_iter"], seed=params["seed"]),
                             feature_sets=tuple(feature_sets), n_boot=params["n_boot"],
                             tpr_boot=params["n_boot"] if tpr_ci else 0)


def undefended_attacks(params: Mapping[str, Any]) -> list[tuple[str, str, VPAttackRunConfig]]:
    """(architecture, attack classifier, config) of every undefended attack of the chapter: each model of
    ``models`` with the MLP and, with ``gbdt_check``, the gradient-boosting check; every feature set."""
    classifiers = ["mlp", "gbdt"] if params["gbdt_check"] else ["mlp"]
    return [(arch, classifier, attack_config(params, arch, NMIDConfig(seed=params["seed"]), classifier))
            for arch in params["models"] for classifier in classifiers]


def nmid_attacks(params: Mapping[str, Any]) -> list[tuple[str, str, float, VPAttackRunConfig]]:
    """(architecture, masking level, sigma as swept, config) of every NMID attack of the chapter: each model x
    level of ``levels`` x sigma of ``sigmas``, MLP classifier, the black-box and gray-box feature sets, no TPR
    CI. Under ``label`` sigma does nothing, so its config uses sigma 0 for every swept sigma (one artefact)."""
    return [(arch, level, float(sigma),
             attack_config(params, arch, NMIDConfig(level=level, sigma=0.0 if level == "label" else float(sigma),
                                                    seed=params["seed"]),
                           "mlp", (BLACK_BOX, GRAY_BOX), tpr_ci=False))
            for arch in params["models"] for level in params["levels"] for sigma in params["sigmas"]]


# --------------------------------------------------------------------------- jobs and the plan


@dataclass(frozen=True)
class VPTokenizerJob:
    """Learn the BPE tokenizer of a data config on its public pool (artefact kind ``vp_tokenizer``)."""

    data: VPDataConfig = doc_field(VPDataConfig(), "corpus, sets and tokenizer")


@dataclass(frozen=True)
class VPModelJob:
    """Train one VP model, a target or a shadow (artefact kind ``vp_model``)."""

    run: VPModelRunConfig = doc_field(VPModelRunConfig(), "the model run")


@dataclass(frozen=True)
class VPBaselineJob:
    """Fit and score the bag-of-tokens baseline (artefact kind ``vp_baseline``)."""

    run: VPBaselineRunConfig = doc_field(VPBaselineRunConfig(), "the baseline run")


@dataclass(frozen=True)
class VPAttackJob:
    """One shadow-model attack on one target under one NMID setting (artefact kind ``vp_attack``)."""

    run: VPAttackRunConfig = doc_field(VPAttackRunConfig(), "the attack run")


@stage(VPTokenizerJob)
def run_tokenizer_job(job: VPTokenizerJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`VPTokenizerJob`: the learnt vocabulary's size."""
    return {"vocab_size": load_tokenizer(job.data, VPModelConfig(arch="bilstm"), store).vocab_size}


@stage(VPModelJob)
def run_model_job(job: VPModelJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`VPModelJob`: the model's training and held-out accuracy and held-out F1."""
    metrics = train_vp_model(job.run, store).metrics
    return {k: metrics[k] for k in ("train_accuracy", "heldout_accuracy", "heldout_f1")}


@stage(VPBaselineJob)
def run_baseline_job(job: VPBaselineJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`VPBaselineJob`: the baseline's held-out accuracy and F1."""
    result = run_vp_baseline(job.run, store)
    return {"accuracy": result["accuracy"], "f1": result["f1"]}


@stage(VPAttackJob)
def run_attack_job(job: VPAttackJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`VPAttackJob`: the attack's AUC per feature set (the scores stay in the store)."""
    result = run_vp_attack(job.run, store)
    return {f"auc {feature_set}": m["auc"] for feature_set, m in result["metrics"].items()}


def tokenizer_tasks(config: VPModelRunConfig) -> tuple[Task, ...]:
    """The task learning ``config``'s BPE tokenizer; none for a model with a pretrained checkpoint's own."""
    return () if config.model.codebert_path else (task(VPTokenizerJob(config.data)),)


def model_task(config: VPModelRunConfig) -> Task:
    """The task training ``config`` (after its tokenizer's task, if any)."""
    return task(VPModelJob(config), tokenizer_tasks(config))


def attack_task(config: VPAttackRunConfig) -> Task:
    """The task of one attack run (after its target's and its shadow's tasks)."""
    return task(VPAttackJob(config), (model_task(config.target), model_task(config.shadow)))


def plan_tasks(params: Mapping[str, Any]) -> list[Task]:
    """The ``vp_mia`` chapter's tasks, each once: the tokenizer, every target and shadow model, the baseline,
    the undefended attacks (:func:`undefended_attacks`) and the NMID sweep (:func:`nmid_attacks`)."""
    attacks = [config for *_, config in undefended_attacks(params)] + [config for *_, config in nmid_attacks(params)]
    models = [run for arch in params["models"]
              for run in (target_config(params, arch), shadow_of(target_config(params, arch)))]
    tasks: dict[str, Task] = {}
    for new in [*(t for run in models for t in (*tokenizer_tasks(run), model_task(run))),
                task(VPBaselineJob(baseline_config(params))), *(attack_task(config) for config in attacks)]:
        tasks.setdefault(new.name, new)
    return list(tasks.values())


# --------------------------------------------------------------------------- the chapter's frames


def split_frame(data: VPDataConfig) -> "pd.DataFrame":
    """One row per set (target_in, target_out, shadow_in, shadow_out, public): ``set``, ``functions``,
    ``vulnerable`` (count), ``test cases`` (distinct groups). Reads the corpus (no store artefact).
    Raises ``DataUnavailableError`` when the data set's source is missing."""
    import pandas as pd

    corpus, splits = prepare(data)
    return pd.DataFrame([{"set": name, "functions": len(splits[name]),
                          "vulnerable": int(corpus.label[splits[name]].sum()),
                          "test cases": len(set(corpus.group[splits[name]]))}
                         for name in ("target_in", "target_out", "shadow_in", "shadow_out", "public")])


def utility_frame(params: Mapping[str, Any], store: Store | None = None) -> "pd.DataFrame":
    """Liao et al.'s model utility: one row per model of ``models`` and role (target, then its shadow) with
    ``model`` (display name), ``role``, ``parameters``, ``epochs``, ``train_accuracy``, ``heldout_accuracy`` /
    ``_precision`` / ``_recall`` / ``_f1`` (on the model's non-members; vulnerable = positive),
    ``mean_tokens``, ``truncated`` (fraction cut at ``max_len``), ``train_seconds``; rounded to 4 decimals.
    Loads the trained models (trains those missing)."""
    import pandas as pd

    rows = []
    for arch in params["models"]:
        target = target_config(params, arch)
        for config in (target, shadow_of(target)):
            m = train_vp_model(config, store).metrics
            rows.append({"model": model_name(arch, params["codebert_path"]), "role": config.role,
                         "parameters": m["parameters"], "epochs": m["epochs"], "train_accuracy": m["train_accuracy"],
                         "heldout_accuracy": m["heldout_accuracy"], "heldout_precision": m["heldout_precision"],
                         "heldout_recall": m["heldout_recall"], "heldout_f1": m["heldout_f1"],
                         "mean_tokens": m["mean_tokens"], "truncated": m["truncated_fraction"],
                         "train_seconds": m["train_seconds"]})
    return pd.DataFrame(rows).round(4)


def baseline_frame(utility: "pd.DataFrame", baseline: Mapping[str, Any]) -> "pd.DataFrame":
    """Held-out ``accuracy`` and ``f1`` of each target (rows of :func:`utility_frame` with role "target"), of the
    bag-of-tokens baseline (:func:`run_vp_baseline`'s dict) and of the majority class (no F1), rounded to 3
    decimals; index ``held-out utility``."""
    import pandas as pd

    targets = utility[utility["role"] == "target"].set_index("model")
    table = pd.concat([
        targets[["heldout_accuracy", "heldout_f1"]].rename(columns=lambda c: c.replace("heldout_", "")),
        pd.DataFrame({"accuracy": [baseline["accuracy"], baseline["majority_rate"]],
                      "f1": [baseline["f1"], float("nan")]},
                     index=["bag of tokens (logistic regression)", "majority class"])]).round(3)
    table.index.name = "held-out utility"
    return table


def mia_frames(params: Mapping[str, Any], store: Store | None = None) -> tuple["pd.DataFrame", "pd.DataFrame"]:
    """The undefended attacks (:func:`undefended_attacks`): (metrics, scores).

    ``metrics``: one row per model x attack classifier x feature set: ``model``, ``classifier``, ``features``,
    ``auc`` with its 95% bootstrap CI (``auc_lo``, ``auc_hi``), ``tpr_at_1pct_fpr`` with its CI (``tpr_lo``,
    ``tpr_hi``; NaN with fewer than 100 non-members, where it would be the TPR at zero false positives),
    ``tpr_at_0fp`` (the TPR at zero false positives), ``best_f1``, ``members``, ``non_members`` (the stored
    metrics of each run).
    ``scores``: :func:`scores_frame` of each run (higher = member) with ``model``, ``classifier``, ``level``
    ("none") and ``sigma`` (0.0). Loads the attack artefacts (computes those missing).
    """
    import pandas as pd

    rows, frames = [], []
    for arch, classifier, config in undefended_attacks(params):
        name = model_name(arch, params["codebert_path"])
        result = run_vp_attack(config, store)
        frames.append(scores_frame(config, result).assign(model=name, classifier=classifier, level="none",
                                                          sigma=0.0))
        for feature_set, m in result["metrics"].items():
            m = resolve_low_fprs(m)  # artefacts stored before the rule too
            rows.append({"model": name, "classifier": classifier, "features": feature_set,
                         "auc": m["auc"], "auc_lo": m["auc_lo"], "auc_hi": m["auc_hi"],
                         "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"], "tpr_lo": m["tpr_at_1pct_fpr_lo"],
                         "tpr_hi": m["tpr_at_1pct_fpr_hi"], "tpr_at_0fp": m.get("tpr_at_0fp", np.nan),
                         "best_f1": m["best_f1"],
                         "members": m["n_members"], "non_members": m["n_non_members"]})
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)


def nmid_frames(params: Mapping[str, Any], store: Store | None = None
                ) -> tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]:
    """The NMID sweep (:func:`nmid_attacks`): (metrics, scores, predictions).

    ``metrics``: one row per model x level x sigma x attacker: ``model``, ``level``, ``sigma``, ``attacker``
    (:data:`ATTACKERS`), ``auc`` (``auc_lo``, ``auc_hi``), ``tpr_at_1pct_fpr``, ``utility_f1`` and
    ``utility_accuracy`` (held-out, from the defended release), ``f1_drop`` (the undefended target's held-out
    F1 minus ``utility_f1``), ``label_kept`` (share of released labels equal to the model's),
    ``keeps_label_by_rule``. ``scores``: :func:`scores_frame` of each run with ``model``, ``classifier``
    ("mlp"), ``level``, ``sigma``. ``predictions``: :func:`release_predictions` of each run with ``model``,
    ``level``, ``sigma``, columns in :data:`leakage.claims.vp.PREDICTION_COLUMNS` order. Loads the models and
    attack artefacts (computes those missing).
    """
    import pandas as pd

    rows, score_frames, prediction_frames = [], [], []
    for arch, level, sigma, config in nmid_attacks(params):
        name = model_name(arch, params["codebert_path"])
        base_f1 = train_vp_model(config.target, store).metrics["heldout_f1"]
        result = run_vp_attack(config, store)
        setting = {"model": name, "level": level, "sigma": sigma}
        score_frames.append(scores_frame(config, result).assign(classifier="mlp", **setting))
        prediction_frames.append(release_predictions(config, store).assign(**setting))
        for feature_set, m in result["metrics"].items():
            m = resolve_low_fprs(m)  # artefacts stored before the rule too
            rows.append({**setting, "attacker": ATTACKERS[feature_set], "auc": m["auc"], "auc_lo": m["auc_lo"],
                         "auc_hi": m["auc_hi"], "tpr_at_1pct_fpr": m["tpr_at_1pct_fpr"],
                         "utility_f1": result["utility"]["f1"], "utility_accuracy": result["utility"]["accuracy"],
                         "f1_drop": base_f1 - result["utility"]["f1"], "label_kept": result["label_kept"],
                         "keeps_label_by_rule": KEEPS_LABEL[level]})
    predictions = pd.concat(prediction_frames, ignore_index=True)[
        ["model", "level", "sigma", "function", "label", "undefended", "defended"]]
    return pd.DataFrame(rows), pd.concat(score_frames, ignore_index=True), predictions


def claim_scores(*frames: "pd.DataFrame") -> "pd.DataFrame":
    """The per-function scores the claims read (``vp-scores``): ``frames`` (:func:`mia_frames`' then
    :func:`nmid_frames`' scores) stacked, each (:data:`SCORE_KEYS`) once (the first wins: the undefended MLP
    run with every feature set before the NMID sweep's level "none", sigma 0), columns :data:`SCORE_KEYS`,
    ``is_member``, ``score``."""
    import pandas as pd

    keys = list(SCORE_KEYS)
    return pd.concat(frames, ignore_index=True).drop_duplicates(keys)[keys + ["is_member", "score"]]
