"""The LLM chapter's statistics and scores: one forward pass per text and model, every attack read from it.

Artefacts (``Store().cached``, keyed by the full config):

- ``lm_stats``   per-token statistics of the evaluation texts (and their neighbours) under one model at one
                 epoch: one forward pass per text, shared by every attack;
- ``lm_scores``  the per-text scores of every attack (higher = member) and the membership labels.

Every per-text statistic is stored with the text *as scored* (a text longer than ``max_tokens`` is scored,
compressed and perturbed as its prefix). :meth:`LLMRun.results` gives one :class:`leakage.api.MembershipResult`
per attack through :func:`leakage.lm.attacks.results_from_scores`, the path
:func:`leakage.api.attack_language_model` takes for a model handed in; :func:`summary_table` is built from them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from leakage.device import describe_device, get_device
from leakage.experiments.llm.configs import LLMRunConfig, LMTargetConfig, StatsConfig, pools_for, reference_config
from leakage.experiments.llm.models import cached_requiring, embedding_marks, load_model, train_lm_target
from leakage.lm.attacks import (AttackInputs, lowest_k_mean, results_from_scores, run_attacks, standard_specs,
                                standardised_logprobs, zlib_length)
from leakage.lm.neighbours import NeighbourConfig, TagLexicon, make_neighbours
from leakage.lm.scoring import Scorer, StatsBatch
from leakage.membership import MembershipResult
from leakage.metrics import roc_auc
from leakage.store import Store


def eval_neighbours(config: LMTargetConfig, neighbours: NeighbourConfig,
                    scored_texts: Sequence[str] | None = None) -> list[str]:
    """Neighbour texts of every evaluation passage (lexicon from the reference pool), flattened.

    ``scored_texts``: the evaluation texts as the model scored them (a truncated passage: its scored
    prefix), so each neighbour perturbs what was scored (:func:`leakage.lm.neighbours.neighbours_of`);
    None: neighbours of the full passages.
    """
    pools = pools_for(config.pools, config.corpus_digest)
    return make_neighbours(pools.eval_passages, TagLexicon.from_passages(pools.reference), neighbours, scored_texts)


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
