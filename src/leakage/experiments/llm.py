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
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from leakage.config import doc_field
from leakage.device import describe_device, get_device
from leakage.api.result import MembershipResult
from leakage.lm.attacks import (AttackInputs, check_fraction, lowest_k_mean, results_from_scores, run_attacks,
                                standard_specs, standardised_logprobs, zlib_length)
from leakage.lm.corpus import BrownCorpus, PoolConfig, Pools, load_brown, make_pools
from leakage.lm.models import (SCRATCH, FinetuneConfig, ScratchConfig, build_scratch,
                               load_pretrained, load_trainable_state, prepare_for_training, pretrained_digest,
                               tokenizer_from_json, train_lm, train_tokenizer)
from leakage.models import count_parameters
from leakage.lm.neighbours import NeighbourConfig, TagLexicon, make_neighbours
from leakage.lm.scoring import Scorer, StatsBatch
from leakage.metrics import roc_auc
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


def scratch_tokenizer(config: LMTargetConfig, store: Store | None = None):
    """The byte-level BPE of a scratch model, trained on the reference pool (never on members)."""
    store = store or Store()
    key = replace(base_config(config), model=SCRATCH, scratch=ScratchConfig(vocab_size=config.scratch.vocab_size),
                  seed=0, max_tokens=0)
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


def run_llm(config: LLMRunConfig, store: Store | None = None) -> LLMRun:
    """Score the evaluation texts with every attack (cached); each model forwards each text once.

    Every per-text quantity an attack reads comes from the texts as scored (see :func:`model_stats`);
    artefacts written before the scored texts were stored are recomputed.
    """
    store = store or Store()
    target = config.target
    epoch = config.epoch or target.train.epochs

    def compute() -> dict:
        stats, neighbours, rec = model_stats(StatsConfig(target, epoch, config.neighbours, config.batch_size), store)
        references, ref_records = {}, {}
        for name in config.references:
            ref_config, ref_epoch = reference_config(target, name)
            references[name], _, ref_records[name] = model_stats(StatsConfig(ref_config, ref_epoch, None,
                                                                             config.batch_size), store)
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
    ``attack``, AUC with its 95% bootstrap CI, TPR at 1% and 0.1% FPR with their CIs, best F1, counts."""
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


__all__ = ["LLMRun", "LLMRunConfig", "LMTargetConfig", "StatsConfig", "attack_specs", "base_config", "corpus",
           "describe_target", "embedding_marks", "eval_neighbours", "load_model", "mink_table", "model_stats",
           "pools_for", "reference_config", "run_llm", "summary_table", "target_config", "train_lm_target"]
