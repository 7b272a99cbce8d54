"""Stage: membership inference on causal LMs with known members (cached in the store).

A *target* is a causal LM trained on the member passages of the Brown corpus (document-level pools,
:mod:`leakage.lm.corpus`): either a small GPT-2 trained from scratch (``model="gpt2-scratch"``) or a
pretrained LM fine-tuned on them (``"smollm2-135m"`` offline, or any Hugging Face id / local folder).
Its *references* are

- ``base``: the pretrained model before fine-tuning (pretrained targets only);
- ``disjoint``: the same model and recipe trained on the reference pool (disjoint documents of the
  same genres), i.e. the target's config with ``train_on="reference"``.

Artefacts (``Store().cached``, keyed by the full config):

- ``lm_tokenizer``  the byte-level BPE of a scratch model, trained on the reference pool;
- ``lm_target``     the trainable weights at each checkpoint epoch and the training losses;
- ``lm_stats``      per-token statistics of the evaluation texts (and their neighbours) under one
                    model at one epoch: one forward pass per text, shared by every attack;
- ``lm_scores``     the per-text scores of every attack (higher = member) and the membership labels.

Every key covers the content of every input (:func:`leakage.config.config_hash`): the corpus through
``LMTargetConfig.corpus_digest`` (an empty digest is refused), the pretrained weights through
``LMTargetConfig.input_digests``. Every per-text statistic is stored with the text *as scored* (a text
longer than ``max_tokens`` is scored, compressed and perturbed as its prefix).

Results: :meth:`LLMRun.results` gives one :class:`leakage.api.MembershipResult` per attack through
:func:`leakage.lm.attacks.results_from_scores`, the path :func:`leakage.api.attack_language_model` takes
for a model handed in; :func:`summary_table` is built from them.

The plan: each artefact above is one job (:class:`LMTokenizerJob`, :class:`LMTargetJob`, :class:`LMStatsJob`,
:class:`LLMRunJob`) with its stage; :func:`plan_tasks` lists the ``llm_mia`` chapter's tasks from its
parameters (one per trained model, per model statistics and per attacked epoch), and the chapter's frame
functions (:func:`load_runs`, :func:`attack_table`, :func:`scores_table`, ...) then only load from the store.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakage.config import describe, doc_field
from leakage.device import describe_device, get_device
from leakage.membership import MembershipResult
from leakage.experiments.jobs import Task, stage, task
from leakage.lm.attacks import (AttackInputs, check_fraction, lowest_k_mean, make_attack, results_from_scores,
                                run_attacks, standard_specs, standardised_logprobs, zlib_length)
from leakage.lm.corpus import BrownCorpus, PoolConfig, Pools, load_brown, make_pools
from leakage.lm.models import (SCRATCH, SMOLLM2, FinetuneConfig, ScratchConfig, build_scratch,
                               load_pretrained, load_trainable_state, prepare_for_training, pretrained_digest,
                               tokenizer_from_json, train_lm, train_tokenizer)
from leakage.models import count_parameters
from leakage.lm.neighbours import NeighbourConfig, TagLexicon, make_neighbours
from leakage.lm.scoring import Scorer, StatsBatch
from leakage.metrics import roc_auc, roc_curve
from leakage.seed import seed_everything
from leakage.store import Store

TRAIN_ON = ("members", "reference", "none")
REFERENCES = ("base", "disjoint")


@dataclass(frozen=True)
class LMTargetConfig:
    """One causal LM trained on one pool of Brown passages."""

    model: str = doc_field(SCRATCH, "'gpt2-scratch', 'smollm2-135m' (offline), a local folder or a Hugging Face id")
    pools: PoolConfig = doc_field(PoolConfig(), "passages and their member / non-member / reference pools")
    corpus_digest: str = doc_field("", "content digest of the Brown corpus read (so another corpus is another key)")
    scratch: ScratchConfig = doc_field(ScratchConfig(), "architecture of a from-scratch GPT-2 (model 'gpt2-scratch')")
    train: FinetuneConfig = doc_field(FinetuneConfig(), "optimisation ('full' or 'lora'; scratch models train fully)")
    train_on: str = doc_field("members", "'members' (a target), 'reference' (the disjoint reference) or 'none' (base)")
    checkpoints: tuple[int, ...] = doc_field((), "epochs whose weights are kept besides the last")
    max_tokens: int = doc_field(128, "tokens of a text scored and trained on (longer texts are truncated)")
    seed: int = doc_field(0, "seed of initialisation, LoRA adapters and batch order")

    @property
    def is_scratch(self) -> bool:
        return self.model == SCRATCH

    def input_digests(self) -> dict[str, str]:
        """Content digests of what this config reads from outside besides the corpus (whose content is
        ``corpus_digest``, checked by :func:`pools_for`): the pretrained model's weight and tokenizer files
        (:func:`leakage.lm.models.pretrained_digest`), so rewritten weights at the same path or a new
        snapshot of a Hub id make another key. A scratch model reads none."""
        return {} if self.is_scratch else {"pretrained_weights": pretrained_digest(self.model)}


@dataclass(frozen=True)
class StatsConfig:
    """Per-token statistics of the evaluation texts (and optionally their neighbours) under one model."""

    model: LMTargetConfig = doc_field(LMTargetConfig(), "the model's training config (train_on 'none': the base model)")
    epoch: int = doc_field(0, "checkpoint epoch of that model (0: before training)")
    neighbours: NeighbourConfig | None = doc_field(None, "also score these neighbours of each text (None: no)")
    batch_size: int = doc_field(16, "texts per forward pass")


@dataclass(frozen=True)
class LLMRunConfig:
    """Every attack against one target at one checkpoint epoch."""

    target: LMTargetConfig = doc_field(LMTargetConfig(), "the target model")
    epoch: int = doc_field(0, "checkpoint epoch attacked (0: the last)")
    references: tuple[str, ...] = doc_field(("disjoint",), "reference models: 'base' (pretrained targets) and/or 'disjoint'")
    neighbours: NeighbourConfig = doc_field(NeighbourConfig(), "neighbour texts of the neighbourhood attack")
    min_k: float = doc_field(0.2, "k of Min-k% and Min-k%++ (a fraction)")
    k_grid: tuple[float, ...] = doc_field((0.05, 0.1, 0.2, 0.3, 0.5, 1.0), "k values of the Min-k% sweep")
    batch_size: int = doc_field(16, "texts per forward pass")

    def __post_init__(self) -> None:
        """Refuse, before any model runs, a k outside (0, 1] or NaN, an unknown reference or a batch < 1."""
        check_fraction("LLMRunConfig.min_k", self.min_k)
        if not self.k_grid:
            raise ValueError("LLMRunConfig.k_grid must hold at least one k in (0, 1]")
        for k in self.k_grid:
            check_fraction("LLMRunConfig.k_grid", k)
        unknown = [r for r in self.references if r not in REFERENCES]
        if unknown:
            raise ValueError(f"unknown reference model(s) {unknown}; choose from {REFERENCES}")
        if self.batch_size < 1:
            raise ValueError(f"LLMRunConfig.batch_size must be at least 1, got {self.batch_size}")


# --------------------------------------------------------------------------- data


def corpus() -> BrownCorpus:
    """The Brown corpus from the first available source (see :func:`leakage.lm.corpus.load_brown`).

    Not memoised here: ``load_brown`` memoises by the source's content digest, so a corpus rewritten in
    place (or another one behind ``$LEAKAGE_BROWN``) is what this returns, not the first one read.
    """
    return load_brown()


def pools_for(config: PoolConfig, digest: str) -> Pools:
    """The pools of ``config`` on the corpus whose content digest is ``digest``.

    Raises ``ValueError`` when ``digest`` is empty (a config that does not say which corpus it was made
    for could be served an artefact of another one: build it with :func:`target_config`) or when the
    corpus found now has another digest.
    """
    if not digest:
        raise ValueError("the config's corpus_digest is empty, so its artefact keys would not cover the corpus's "
                         "content; build it with target_config() (or pass corpus_digest=corpus().digest())")
    brown = corpus()
    if brown.digest() != digest:
        raise ValueError(f"the Brown corpus found ({brown.source}, digest {brown.digest()}) is not the one this "
                         f"config was made for (digest {digest}); rebuild the config with target_config()")
    return _pools(config, digest, brown)


@functools.lru_cache(maxsize=8)
def _pools(config: PoolConfig, digest: str, brown: BrownCorpus) -> Pools:
    return make_pools(brown, config)


def target_config(**fields) -> LMTargetConfig:
    """An :class:`LMTargetConfig` with ``fields`` and the digest of the corpus this machine reads."""
    return LMTargetConfig(corpus_digest=corpus().digest(), **fields)


def training_texts(config: LMTargetConfig) -> list[str]:
    pools = pools_for(config.pools, config.corpus_digest)
    if config.train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}, got {config.train_on!r}")
    return [p.text for p in (pools.members if config.train_on == "members" else pools.reference)]


def reference_config(config: LMTargetConfig, name: str) -> tuple[LMTargetConfig, int]:
    """(config, epoch) of reference model ``name`` ('base' or 'disjoint') of target ``config``."""
    if name == "disjoint":
        return replace(config, train_on="reference", checkpoints=()), config.train.epochs
    if name == "base":
        if config.is_scratch:
            raise ValueError("a from-scratch target has no 'base' (pretrained) reference; use 'disjoint'")
        return base_config(config), 0
    raise ValueError(f"unknown reference model {name!r}; choose 'base' or 'disjoint'")


def base_config(config: LMTargetConfig) -> LMTargetConfig:
    """The canonical config of the untrained model (training fields reset, so every target shares it)."""
    return replace(config, train=FinetuneConfig(), train_on="none", checkpoints=())


# --------------------------------------------------------------------------- models


def tokenizer_key(config: LMTargetConfig) -> LMTargetConfig:
    """The key of the ``lm_tokenizer`` artefact of ``config``: only what the BPE depends on (pools, corpus,
    vocabulary size), so a target, its disjoint reference and every other model on the same pools share one
    tokenizer. Idempotent: the key of a key is itself."""
    return replace(base_config(config), model=SCRATCH, scratch=ScratchConfig(vocab_size=config.scratch.vocab_size),
                   seed=0, max_tokens=0)


def scratch_tokenizer(config: LMTargetConfig, store: Store | None = None):
    """The byte-level BPE of a scratch model, trained on the reference pool (never on members)."""
    store = store or Store()
    key = tokenizer_key(config)
    pools = pools_for(config.pools, config.corpus_digest)
    payload = store.cached("lm_tokenizer", key, lambda: {
        "tokenizer_json": train_tokenizer([p.text for p in pools.reference], config.scratch.vocab_size).backend_tokenizer.to_str()},
        seed=None)
    return tokenizer_from_json(payload["tokenizer_json"])


def embedding_marks(config: LMTargetConfig, store: Store | None = None) -> tuple[str, ...]:
    """Entries an artefact made from the model of ``config`` must hold to be trusted: ``("embedding_rows",)``
    for a scratch model whose tokenizer learnt fewer tokens than ``scratch.vocab_size`` (older versions
    sized its embedding by the tokenizer, so their artefacts hold another model's numbers), else none."""
    if not config.is_scratch or len(scratch_tokenizer(config, store)) >= config.scratch.vocab_size:
        return ()
    return ("embedding_rows",)


def fresh_model(config: LMTargetConfig, device: torch.device, store: Store | None = None):
    """(model, tokenizer) before training: a pretrained model as loaded, or a scratch GPT-2 at its init."""
    if config.is_scratch:
        tokenizer = scratch_tokenizer(config, store)
        return build_scratch(config.scratch, tokenizer, config.seed).to(device), tokenizer
    return load_pretrained(config.model, device)


def train_lm_target(config: LMTargetConfig, store: Store | None = None) -> dict:
    """Train (or load) the model of ``config``; payload: ``ckpt_<epoch>`` weights, ``losses``, sizes."""
    if config.train_on == "none":
        raise ValueError("train_on='none' is the untrained base model; there is nothing to train")
    if config.is_scratch and config.train.method != "full":
        raise ValueError("a from-scratch model trains every weight: use train.method='full'")
    store = store or Store()
    device = get_device()

    def compute() -> dict:
        seed_everything(config.seed)
        model, tokenizer = fresh_model(config, device, store)
        model = prepare_for_training(model, config.train)
        texts = training_texts(config)
        start = time.perf_counter()
        states, losses = train_lm(model, tokenizer, texts, config.train, max_tokens=config.max_tokens,
                                  seed=config.seed, checkpoints=config.checkpoints,
                                  desc=f"train {config.model} on {config.train_on}")
        return {**{f"ckpt_{epoch}": state for epoch, state in states.items()}, "losses": losses,
                "train_seconds": time.perf_counter() - start, "n_train_texts": len(texts),
                "parameters": count_parameters(model), "trainable_parameters": count_parameters(model, True),
                "embedding_rows": config.scratch.vocab_size if config.is_scratch else 0}

    return cached_requiring(store, "lm_target", config, compute, embedding_marks(config, store), seed=config.seed,
                   device=describe_device(device))


def load_model(config: LMTargetConfig, epoch: int, store: Store | None = None):
    """(model, tokenizer) of ``config`` after ``epoch`` epochs (0: before training), in eval mode."""
    device = get_device()
    model, tokenizer = fresh_model(config, device, store)
    if epoch == 0:
        return model.eval(), tokenizer
    payload = train_lm_target(config, store)
    if f"ckpt_{epoch}" not in payload:
        kept = sorted(int(k[5:]) for k in payload if k.startswith("ckpt_"))
        raise ValueError(f"epoch {epoch} was not kept; checkpoints of this model: {kept}")
    model = prepare_for_training(model, config.train)
    load_trainable_state(model, payload[f"ckpt_{epoch}"], config.train)
    return model.to(device).eval(), tokenizer


# --------------------------------------------------------------------------- statistics and scores


def eval_neighbours(config: LMTargetConfig, neighbours: NeighbourConfig,
                    scored_texts: Sequence[str] | None = None) -> list[str]:
    """Neighbour texts of every evaluation passage (lexicon from the reference pool), flattened.

    ``scored_texts``: the evaluation texts as the model scored them (a truncated passage: its scored
    prefix), so each neighbour perturbs what was scored (:func:`leakage.lm.neighbours.neighbours_of`);
    None: neighbours of the full passages.
    """
    pools = pools_for(config.pools, config.corpus_digest)
    return make_neighbours(pools.eval_passages, TagLexicon.from_passages(pools.reference), neighbours, scored_texts)


def cached_requiring(store: Store, kind: str, config, compute: Callable[[], dict], required: Sequence[str],
            **record) -> dict:
    """``store.cached(...)``, recomputed when the artefact lacks an entry in ``required`` (it was written by
    an older version of this module that did not store it, and may hold numbers this version corrects)."""
    payload = store.cached(kind, config, compute, **record)
    if all(name in payload for name in required):
        return payload
    return Store(store.root, force_before=time.time()).cached(kind, config, compute, **record)


def model_stats(config: StatsConfig, store: Store | None = None) -> tuple[StatsBatch, StatsBatch | None, dict]:
    """(stats of the evaluation texts, stats of their neighbours or None, run record) under one model.

    The artefact stores every statistic an attack reads *with what was scored*: the per-token arrays and,
    for each text the scorer truncated to ``max_tokens``, the decoded prefix it scored (so the zlib
    length, the neighbours and any other per-text quantity are computed from that prefix, never from the
    full passage). Neighbours are made of the scored prefixes (:func:`eval_neighbours`).
    """
    store = store or Store()
    pools = pools_for(config.model.pools, config.model.corpus_digest)
    texts = pools.eval_texts
    device = get_device()

    def compute() -> dict:
        model, tokenizer = load_model(config.model, config.epoch, store)
        scorer = Scorer(model, tokenizer, name=f"{config.model.model}/{config.model.train_on}/e{config.epoch}",
                        max_tokens=config.model.max_tokens, batch_size=config.batch_size)
        start = time.perf_counter()
        stats = scorer.stats(texts)
        payload = stats.to_payload("eval", texts)
        if config.neighbours:
            neighbour_texts = eval_neighbours(config.model, config.neighbours, stats.texts)
            payload.update(scorer.stats(neighbour_texts).to_payload("neighbours", neighbour_texts))
        return {**payload, "seconds": time.perf_counter() - start, "forward_texts": scorer.forward_texts,
                "forward_calls": scorer.forward_calls,
                "embedding_rows": config.model.scratch.vocab_size if config.model.is_scratch else 0}

    required = ("eval_scored_texts", "neighbours_scored_texts") if config.neighbours else ("eval_scored_texts",)
    required += embedding_marks(config.model, store)
    payload = cached_requiring(store, "lm_stats", config, compute, required, seed=config.model.seed,
                      device=describe_device(device))
    record = {k: payload[k] for k in ("seconds", "forward_texts", "forward_calls")}
    stats = StatsBatch.from_payload(payload, "eval", texts)
    neighbours = None
    if config.neighbours:
        neighbour_texts = eval_neighbours(config.model, config.neighbours, stats.texts)
        neighbours = StatsBatch.from_payload(payload, "neighbours", neighbour_texts)
    return stats, neighbours, record


def attack_specs(config: LLMRunConfig) -> list[tuple[str, dict]]:
    """(registry name, parameters) of every attack of a run, in table order
    (:func:`leakage.lm.attacks.standard_specs`)."""
    return standard_specs(config.references, True, config.min_k)


@dataclass
class LLMRun:
    """The scores of every attack against one target at one epoch."""

    config: LLMRunConfig
    scores: dict[str, np.ndarray]
    is_member: np.ndarray
    mink_sweep: dict[str, np.ndarray]  # 'min-k' / 'min-k++' -> (N, K) scores over config.k_grid
    record: dict = field(default_factory=dict)
    zlib_lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """(N,) bytes of zlib.compress of each text *as scored* (the prefix of a truncated text): the zlib
    attack's denominator."""
    n_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """(N,) tokens of each text the target scored."""
    truncated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    """(N,) bool: the text had more than ``max_tokens`` tokens and was scored as its prefix."""

    def results(self, n_boot: int = 1000) -> dict[str, MembershipResult]:
        """Attack label -> :class:`MembershipResult` (indices: evaluation passages; bootstrap seeded by the
        target's seed; extras ``n_tokens``, ``truncated``, ``failed``), in table order."""
        return results_from_scores(self.scores, self.is_member, n_tokens=self.n_tokens, truncated=self.truncated,
                                   config=self.config, seed=self.config.target.seed, n_boot=n_boot)


def run_stats_configs(config: LLMRunConfig) -> tuple[StatsConfig, dict[str, StatsConfig]]:
    """The ``lm_stats`` artefacts a run reads: (the target's at the attacked epoch, with the neighbours;
    reference name -> the reference model's, without neighbours), in ``config.references`` order.

    Raises ``ValueError`` for a reference the target cannot have (``base`` of a scratch target).
    """
    target = config.target
    epoch = config.epoch or target.train.epochs
    references = {}
    for name in config.references:
        ref_config, ref_epoch = reference_config(target, name)
        references[name] = StatsConfig(ref_config, ref_epoch, None, config.batch_size)
    return StatsConfig(target, epoch, config.neighbours, config.batch_size), references


def run_llm(config: LLMRunConfig, store: Store | None = None) -> LLMRun:
    """Score the evaluation texts with every attack (cached); each model forwards each text once.

    Every per-text quantity an attack reads comes from the texts as scored (see :func:`model_stats`);
    artefacts written before the scored texts were stored are recomputed.
    """
    store = store or Store()
    target = config.target
    epoch = config.epoch or target.train.epochs

    def compute() -> dict:
        target_stats, reference_stats = run_stats_configs(config)
        stats, neighbours, rec = model_stats(target_stats, store)
        references, ref_records = {}, {}
        for name, ref_stats in reference_stats.items():
            references[name], _, ref_records[name] = model_stats(ref_stats, store)
        inputs = AttackInputs(stats, references, neighbours, config.neighbours.n)
        scores = run_attacks(inputs, attack_specs(config))
        pools = pools_for(target.pools, target.corpus_digest)
        sweep_minus = np.stack([lowest_k_mean(stats.logprobs, stats.mask, k) for k in config.k_grid], 1)
        z = standardised_logprobs(stats.logprobs, stats.mu, stats.sigma)
        sweep_plus = np.stack([lowest_k_mean(z, stats.mask, k) for k in config.k_grid], 1)
        return {"labels": list(scores), **{f"score_{i}": s for i, s in enumerate(scores.values())},
                "is_member": pools.is_member, "sweep_min_k": sweep_minus, "sweep_min_k_pp": sweep_plus,
                "target_loss": stats.loss(), "n_tokens": stats.n_tokens, "target_record": rec,
                "reference_records": ref_records, "truncated": int(stats.truncated.sum()),
                "text_truncated": stats.truncated,
                "zlib_lengths": np.array([zlib_length(t) for t in stats.texts], dtype=np.int64),
                "embedding_rows": target.scratch.vocab_size if target.is_scratch else 0}

    required = ("zlib_lengths", "text_truncated", *embedding_marks(target, store))
    payload = cached_requiring(store, "lm_scores", replace(config, epoch=epoch), compute, required, seed=target.seed)
    scores = {label: payload[f"score_{i}"] for i, label in enumerate(payload["labels"])}
    return LLMRun(replace(config, epoch=epoch), scores, payload["is_member"].astype(bool),
                  {"min-k": payload["sweep_min_k"], "min-k++": payload["sweep_min_k_pp"]},
                  {k: payload[k] for k in ("target_record", "reference_records", "truncated")},
                  payload["zlib_lengths"], payload["n_tokens"].astype(np.int64),
                  payload["text_truncated"].astype(bool))


def summary_table(run: LLMRun, target_name: str, n_boot: int = 1000) -> pd.DataFrame:
    """One row per attack (:meth:`LLMRun.results`, :meth:`MembershipResult.summary`): ``target``, ``epoch``,
    ``attack``, AUC with its 95% bootstrap CI, TPR at 1% and 0.1% FPR (NaN below 1/n for n non-members) and at
    zero false positives with their CIs, best F1, counts."""
    return pd.DataFrame([{"target": target_name, "epoch": run.config.epoch, **result.summary()}
                         for result in run.results(n_boot).values()])


def mink_table(run: LLMRun, target_name: str) -> pd.DataFrame:
    """AUC of Min-k% and Min-k%++ for every k of the run's grid."""
    return pd.DataFrame([{"target": target_name, "attack": name, "k": k,
                          "auc": roc_auc(sweep[:, j], run.is_member)}
                         for name, sweep in run.mink_sweep.items() for j, k in enumerate(run.config.k_grid)])


def describe_target(config: LMTargetConfig, store: Store | None = None) -> dict:
    """Sizes of a trained target for the book: parameters, texts, final training loss."""
    payload = train_lm_target(config, store)
    return {"parameters": payload["parameters"], "trainable_parameters": payload["trainable_parameters"],
            "train_texts": payload["n_train_texts"], "final_train_loss": payload["losses"][-1],
            "train_seconds": payload["train_seconds"]}


# --------------------------------------------------------------------------- the chapter's jobs and plan


@dataclass(frozen=True)
class LMTokenizerJob:
    """Train the byte-level BPE of scratch models on one corpus's reference pool (artefact kind ``lm_tokenizer``)."""

    key: LMTargetConfig = doc_field(LMTargetConfig(), "the tokenizer's key (tokenizer_key of a scratch model's config)")


@dataclass(frozen=True)
class LMTargetJob:
    """Train one causal LM: a target or its disjoint reference (artefact kind ``lm_target``)."""

    model: LMTargetConfig = doc_field(LMTargetConfig(), "the model's config (train_on 'members' or 'reference')")


@dataclass(frozen=True)
class LMStatsJob:
    """Per-token statistics of the evaluation texts under one model at one epoch (artefact kind ``lm_stats``)."""

    stats: StatsConfig = doc_field(StatsConfig(), "the model, its epoch, the neighbours scored and the batch size")


@dataclass(frozen=True)
class LLMRunJob:
    """Every attack against one target at one epoch (artefact kind ``lm_scores``)."""

    run: LLMRunConfig = doc_field(LLMRunConfig(), "the run, its epoch resolved (never 0 for 'the last')")


@stage(LMTokenizerJob)
def run_tokenizer_job(job: LMTokenizerJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`LMTokenizerJob`: the number of tokens the BPE learnt."""
    return {"tokens": len(scratch_tokenizer(job.key, store))}


@stage(LMTargetJob)
def run_lm_target_job(job: LMTargetJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`LMTargetJob`: the final training loss (nats per token) and the training time (s)."""
    payload = train_lm_target(job.model, store)
    return {"final_train_loss": float(payload["losses"][-1]), "train_seconds": float(payload["train_seconds"])}


@stage(LMStatsJob)
def run_stats_job(job: LMStatsJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`LMStatsJob`: the forward passes the statistics took (texts, batched calls, seconds)."""
    _, _, record = model_stats(job.stats, store)
    return {k: float(v) for k, v in record.items()}


@stage(LLMRunJob)
def run_llm_job(job: LLMRunJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`LLMRunJob`: each attack's ROC AUC (the per-text scores stay in the store)."""
    run = run_llm(job.run, store)
    return {"auc": {label: float(roc_auc(scores, run.is_member)) for label, scores in run.scores.items()}}


def tokenizer_task(config: LMTargetConfig) -> Task:
    """The task that trains the BPE of scratch model ``config`` (shared by every model on the same pools and
    vocabulary size). Raises ``ValueError`` for a pretrained model, which brings its own tokenizer."""
    if not config.is_scratch:
        raise ValueError(f"{config.model!r} is pretrained: it has its own tokenizer, no lm_tokenizer artefact")
    return task(LMTokenizerJob(tokenizer_key(config)))


def lm_target_task(config: LMTargetConfig) -> Task:
    """The task that trains model ``config`` (after its tokenizer's, for a scratch model)."""
    return task(LMTargetJob(config), (tokenizer_task(config),) if config.is_scratch else ())


def stats_task(config: StatsConfig) -> Task:
    """The task of the statistics ``config``: after the training of its model (epoch > 0), or after the tokenizer
    alone (a scratch model at its initialisation); a pretrained model before training needs no task."""
    model = config.model
    if config.epoch > 0:
        needs: tuple[Task, ...] = (lm_target_task(model),)
    else:
        needs = (tokenizer_task(model),) if model.is_scratch else ()
    return task(LMStatsJob(config), needs)


def run_tasks(config: LLMRunConfig) -> list[Task]:
    """The tasks of one run, prerequisites first: tokenizer (scratch), the target's and each disjoint reference's
    training, the statistics of the target at the run's epoch and of each reference, then the run itself
    (its ``epoch`` 0 resolved to the last, as :func:`run_llm` keys it)."""
    config = replace(config, epoch=config.epoch or config.target.train.epochs)
    target_stats, reference_stats = run_stats_configs(config)
    stats = [stats_task(s) for s in (target_stats, *reference_stats.values())]
    models = [lm_target_task(s.model) for s in (target_stats, *reference_stats.values()) if s.epoch > 0]
    tokenizers = [tokenizer_task(config.target)] if config.target.is_scratch else []
    return [*tokenizers, *models, *stats, task(LLMRunJob(config), stats)]


def pretrained_name(params: Mapping[str, Any]) -> str:
    """The pretrained target's name in the chapter's tables: ``"<model> (<method>)"``."""
    model = params["pretrained_model"]
    return f"{'smollm2-135m' if model == SMOLLM2 else model} ({params['pretrained_method']})"


def chapter_targets(params: Mapping[str, Any]) -> dict[str, LMTargetConfig]:
    """Name -> config of the ``llm_mia`` chapter's targets, from its parameters (the notebook's parameters cell):
    ``"gpt2-scratch"`` (a GPT-2 trained from scratch on the member passages) and, when ``pretrained_model`` is
    set, the pretrained model fine-tuned on its members (LoRA or full). Reads the Brown corpus for its digest."""
    max_tokens, seed = params["max_tokens"], params["seed"]
    targets = {SCRATCH: target_config(
        model=SCRATCH, max_tokens=max_tokens, seed=seed, checkpoints=tuple(params["scratch_checkpoints"]),
        pools=PoolConfig(passage_words=params["scratch_passage_words"], docs_per_pool=params["scratch_docs_per_pool"],
                         passages_per_doc=params["scratch_passages_per_doc"], seed=seed),
        scratch=ScratchConfig(n_layer=params["scratch_layers"], n_embd=params["scratch_width"], n_head=4,
                              vocab_size=params["scratch_vocab"], n_positions=max_tokens + 1),
        train=FinetuneConfig(method="full", epochs=params["scratch_epochs"], lr=params["scratch_lr"], batch_size=16,
                             warmup_steps=10))}
    if params["pretrained_model"]:
        rank = params["lora_rank"]
        targets[pretrained_name(params)] = target_config(
            model=params["pretrained_model"], max_tokens=max_tokens, seed=seed,
            checkpoints=tuple(params["pretrained_checkpoints"]),
            pools=PoolConfig(passage_words=params["pretrained_passage_words"],
                             docs_per_pool=params["pretrained_docs_per_pool"],
                             passages_per_doc=params["pretrained_passages_per_doc"], seed=seed),
            train=FinetuneConfig(method=params["pretrained_method"], epochs=params["pretrained_epochs"],
                                 lr=params["pretrained_lr"], batch_size=params["pretrained_batch_size"], warmup_steps=2,
                                 lora_r=rank, lora_alpha=2 * rank))
    return targets


def run_configs(params: Mapping[str, Any]) -> dict[tuple[str, int], LLMRunConfig]:
    """(target name, epoch) -> the run attacking it, for every target of :func:`chapter_targets` and every kept
    epoch (``*_checkpoints`` and the last), in order. A scratch target has the disjoint reference; a pretrained
    one the ``pretrained_references``."""
    runs: dict[tuple[str, int], LLMRunConfig] = {}
    for name, config in chapter_targets(params).items():
        scratch = name == SCRATCH
        neighbours = NeighbourConfig(n=params["scratch_neighbours"] if scratch else params["pretrained_neighbours"],
                                     replace_fraction=params["replace_fraction"], seed=params["seed"])
        references = ("disjoint",) if config.is_scratch else tuple(params["pretrained_references"])
        for epoch in sorted(set(config.checkpoints) | {config.train.epochs}):
            runs[name, epoch] = LLMRunConfig(target=config, epoch=epoch, references=references, neighbours=neighbours,
                                             min_k=params["min_k"], k_grid=tuple(params["k_grid"]),
                                             batch_size=32 if config.is_scratch else params["pretrained_batch_size"])
    return runs


def plan_tasks(params: Mapping[str, Any]) -> list[Task]:
    """The ``llm_mia`` chapter's tasks: per target, its tokenizer (scratch), its training and its references'
    (one task per trained model), the statistics of each model at each attacked epoch, and one run per epoch;
    each task once, prerequisites first."""
    tasks: dict[str, Task] = {}
    for config in run_configs(params).values():
        for new in run_tasks(config):
            tasks.setdefault(new.name, new)
    return list(tasks.values())


# --------------------------------------------------------------------------- the chapter's frames


def load_runs(params: Mapping[str, Any], store: Store | None = None) -> dict[tuple[str, int], LLMRun]:
    """(target name, epoch) -> :class:`LLMRun` of every run of :func:`run_configs` (cache hits after the plan ran)."""
    store = store or Store()
    return {key: run_llm(config, store) for key, config in run_configs(params).items()}


def last_runs(runs: Mapping[tuple[str, int], LLMRun]) -> dict[str, LLMRun]:
    """Target name -> its run at its last training epoch."""
    return {name: run for (name, epoch), run in runs.items() if epoch == run.config.target.train.epochs}


def attack_labels(min_k: float) -> list[str]:
    """Every attack's label in table order (both references), e.g. ``"loss"``, ``"min-k (20%)"``."""
    return [make_attack(n, **p).label for n, p in attack_specs(LLMRunConfig(references=REFERENCES, min_k=min_k))]


def pools_table(targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """The pools of each target: rows = pool statistics (passages per pool, duplicates dropped, ...) and the
    passage length in corpus tokens, columns = targets."""
    rows = [{"target": name, "passage tokens": config.pools.passage_words,
             **pools_for(config.pools, config.corpus_digest).stats} for name, config in targets.items()]
    return pd.DataFrame(rows).set_index("target").T.rename_axis("pools")


def config_table(targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """Every field of each target's config as hashed into its key: columns ``field``, one per target, ``doc``
    (values as strings; fields that do not apply to a target, such as a scratch architecture of a pretrained
    model or LoRA fields of a full training, left empty)."""
    described = []
    for name, config in targets.items():
        rows = pd.DataFrame(describe(config)).assign(target=name)
        rows = rows[~rows["field"].str.startswith("scratch.") | (config.model == SCRATCH)]
        described.append(rows[~rows["field"].str.startswith("train.lora") | (config.train.method == "lora")])
    table = pd.concat(described)
    table["value"] = table["value"].astype(str)
    table = table.pivot_table(index=["field", "doc"], columns="target", values="value", aggfunc="first",
                              sort=False).fillna("")
    return table.reset_index()[["field", *targets, "doc"]]


def targets_table(targets: Mapping[str, LMTargetConfig], store: Store | None = None) -> pd.DataFrame:
    """One row per target: model, method, epochs, learning rate and :func:`describe_target`'s sizes (parameters,
    training texts, final training loss in nats per token, training seconds)."""
    return pd.DataFrame([{"target": name, "model": config.model, "method": config.train.method,
                          "epochs": config.train.epochs, "lr": config.train.lr, **describe_target(config, store)}
                         for name, config in targets.items()])


def attack_table(runs: Mapping[tuple[str, int], LLMRun], n_boot: int = 1000) -> pd.DataFrame:
    """One row per (target, epoch, attack): :func:`summary_table`'s metrics (AUC with its bootstrap CI, TPR at
    1% and 0.1% FPR and at zero false positives, best F1, counts) and ``loss_gap``, the mean loss (nats per token) of non-members minus that
    of members under the target at that epoch (> 0: members fit better)."""
    rows = []
    for (name, _), run in runs.items():
        table = summary_table(run, name, n_boot=n_boot)
        loss = -run.scores["loss"]
        table["loss_gap"] = float(loss[~run.is_member].mean() - loss[run.is_member].mean())
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def last_epoch_rows(table: pd.DataFrame, targets: Mapping[str, LMTargetConfig]) -> pd.DataFrame:
    """The rows of ``table`` (columns ``target``, ``epoch``) at each target's last training epoch, re-indexed."""
    last = table["target"].map({name: config.train.epochs for name, config in targets.items()})
    return table[table["epoch"] == last].reset_index(drop=True)


def roc_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """ROC curve points (``target``, ``attack``, ``fpr``, ``tpr``) of every attack against each target's run."""
    rows = []
    for name, run in final.items():
        for label, scores in run.scores.items():
            fpr, tpr, _ = roc_curve(scores, run.is_member)
            rows += [{"target": name, "attack": label, "fpr": f, "tpr": t} for f, t in zip(fpr, tpr)]
    return pd.DataFrame(rows)


def scores_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """Every text's score under every attack at every attacked epoch: ``target``, ``epoch``, ``attack``, ``text``
    (index among the target's evaluation texts, the same at every epoch), ``is_member``, ``score`` (higher =
    member). The claims' input (:func:`leakage.claims.llm.llm_claims`)."""
    return pd.concat([pd.DataFrame({"target": name, "epoch": epoch, "attack": label, "text": np.arange(len(scores)),
                                    "is_member": run.is_member, "score": scores})
                      for (name, epoch), run in runs.items() for label, scores in run.scores.items()],
                     ignore_index=True)


def mink_sweep_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """AUC of Min-k% and Min-k%++ for every k of the grid (:func:`mink_table`), every target and epoch."""
    return pd.concat([mink_table(run, name).assign(epoch=epoch) for (name, epoch), run in runs.items()],
                     ignore_index=True)


def cost_table(runs: Mapping[tuple[str, int], LLMRun]) -> pd.DataFrame:
    """Forward passes each model actually ran for the runs: per (target, epoch, model) the texts forwarded, the
    batched calls, the seconds of the run that made the statistics, the neighbours per text; a reference's
    statistics, shared by every epoch, are listed once."""
    rows = []
    for (name, epoch), run in runs.items():
        rec = run.record["target_record"]
        rows.append({"target": name, "epoch": epoch, "model": "target", "texts forwarded": rec["forward_texts"],
                     "batched calls": rec["forward_calls"], "seconds": rec["seconds"],
                     "neighbours per text": run.config.neighbours.n})
        for ref, rec in run.record["reference_records"].items():
            rows.append({"target": name, "epoch": epoch, "model": f"reference ({ref})",
                         "texts forwarded": rec["forward_texts"], "batched calls": rec["forward_calls"],
                         "seconds": rec["seconds"], "neighbours per text": 0})
    return pd.DataFrame(rows).drop_duplicates(subset=["target", "model", "texts forwarded", "seconds"])


def neighbourhood_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """Per target: the fractions of non-members and of members whose neighbours have a higher mean loss than the
    text itself (neighbourhood score > 0), columns ``target``, ``non_members``, ``members``."""
    return pd.DataFrame([{"target": name,
                          "non_members": float(np.mean(run.scores["neighbourhood"][~run.is_member] > 0)),
                          "members": float(np.mean(run.scores["neighbourhood"][run.is_member] > 0))}
                         for name, run in final.items()])


def zlib_table(final: Mapping[str, LLMRun]) -> pd.DataFrame:
    """Per target: AUC of the zlib and LOSS attacks and the Spearman correlation of each score with the
    compressed length (bytes) of the texts as scored: ``target``, ``zlib_auc``, ``loss_auc``, ``rho_zlib``,
    ``rho_loss``."""
    from scipy.stats import spearmanr

    return pd.DataFrame([{"target": name, "zlib_auc": roc_auc(run.scores["zlib"], run.is_member),
                          "loss_auc": roc_auc(run.scores["loss"], run.is_member),
                          "rho_zlib": spearmanr(run.scores["zlib"], run.zlib_lengths).statistic,
                          "rho_loss": spearmanr(run.scores["loss"], run.zlib_lengths).statistic}
                         for name, run in final.items()])


__all__ = ["LLMRun", "LLMRunConfig", "LLMRunJob", "LMStatsJob", "LMTargetConfig", "LMTargetJob", "LMTokenizerJob",
           "StatsConfig", "attack_labels", "attack_specs", "attack_table", "base_config", "chapter_targets",
           "config_table", "corpus", "cost_table", "describe_target", "embedding_marks", "eval_neighbours",
           "last_epoch_rows", "last_runs", "lm_target_task", "load_model", "load_runs", "mink_sweep_table",
           "mink_table", "model_stats", "neighbourhood_table", "plan_tasks", "pools_for", "pools_table",
           "reference_config", "roc_table", "run_configs", "run_llm", "run_stats_configs", "run_tasks",
           "scores_table", "stats_task", "summary_table", "target_config", "targets_table", "tokenizer_key",
           "tokenizer_task", "train_lm_target", "zlib_table"]
