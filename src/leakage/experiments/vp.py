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
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from leakage.api.result import MembershipResult
from leakage.config import doc_field
from leakage.device import describe_device, get_device
from leakage.inputs import path_digest
from leakage.metrics import bootstrap_tpr, summarize
from leakage.seed import derive_seed, numpy_rng, seed_everything
from leakage.store import Store
from leakage.train import TrainConfig, epochs_for, fit
from leakage.vp.attack import AttackConfig, attack_label, shadow_attack
from leakage.vp.baseline import BaselineConfig, bag_of_tokens_baseline
from leakage.vp.features import FEATURE_SETS, RawOutputs, check_feature_sets, model_outputs
from leakage.vp.juliet import EXTRACTOR_VERSION, JulietConfig, VPCorpus, load_juliet
from leakage.vp.juliet import source_path as juliet_source_path
from leakage.models import count_parameters
from leakage.vp.models import VPModelConfig, build_vp_model
from leakage.vp.nmid import NMIDConfig, apply_nmid
from leakage.vp.realworld import REALWORLD_DATASETS, load_realworld
from leakage.vp.realworld import source_path as realworld_source_path
from leakage.vp.splits import VPSplitConfig, VPSplits, make_vp_splits
from leakage.vp.tokenizer import CodeTokenizer, PretrainedTokenizer, TokenizerConfig

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
        torch.manual_seed(derive_seed(config.seed, "init"))
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
            if config.tpr_boot:
                metrics["tpr_at_1pct_fpr_lo"], metrics["tpr_at_1pct_fpr_hi"] = bootstrap_tpr(
                    scores, is_member, 0.01, n_boot=config.tpr_boot, seed=boot_seed)
            payload["metrics"][feature_set] = metrics
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
