"""The ``llm_mia`` chapter's plan: its targets and runs from its parameters, one staged job per artefact.

Each artefact is one job (:class:`LMTokenizerJob`, :class:`LMTargetJob`, :class:`LMStatsJob`, :class:`LLMRunJob`)
with its stage; :func:`plan_tasks` lists the chapter's tasks from its :class:`LLMParameters` (one per trained
model, per model statistics and per attacked epoch), and the chapter's frames (:mod:`leakage.experiments.llm.frames`)
then only load from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from leakage.config import doc_field
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.llm.configs import LLMRunConfig, LMTargetConfig, StatsConfig, target_config
from leakage.experiments.llm.models import scratch_tokenizer, tokenizer_key, train_lm_target
from leakage.experiments.llm.runs import model_stats, run_llm, run_stats_configs
from leakage.experiments.parameters import LLMParameters
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import SCRATCH, SMOLLM2, FinetuneConfig, ScratchConfig
from leakage.lm.neighbours import NeighbourConfig
from leakage.metrics import roc_auc
from leakage.store import Store


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


def pretrained_name(params: LLMParameters) -> str:
    """The pretrained target's name in the chapter's tables: ``"<model> (<method>)"``."""
    model = params.pretrained_model
    return f"{'smollm2-135m' if model == SMOLLM2 else model} ({params.pretrained_method})"


def chapter_targets(params: LLMParameters) -> dict[str, LMTargetConfig]:
    """Name -> config of the ``llm_mia`` chapter's targets, from its parameters (:class:`LLMParameters`):
    ``"gpt2-scratch"`` (a GPT-2 trained from scratch on the member passages) and, when ``pretrained_model`` is
    set, the pretrained model fine-tuned on its members (LoRA or full). Reads the Brown corpus for its digest."""
    max_tokens, seed = params.max_tokens, params.seed
    targets = {SCRATCH: target_config(
        model=SCRATCH, max_tokens=max_tokens, seed=seed, checkpoints=tuple(params.scratch_checkpoints),
        pools=PoolConfig(passage_words=params.scratch_passage_words, docs_per_pool=params.scratch_docs_per_pool,
                         passages_per_doc=params.scratch_passages_per_doc, seed=seed),
        scratch=ScratchConfig(n_layer=params.scratch_layers, n_embd=params.scratch_width, n_head=4,
                              vocab_size=params.scratch_vocab, n_positions=max_tokens + 1),
        train=FinetuneConfig(method="full", epochs=params.scratch_epochs, lr=params.scratch_lr, batch_size=16,
                             warmup_steps=10))}
    if params.pretrained_model:
        rank = params.lora_rank
        targets[pretrained_name(params)] = target_config(
            model=params.pretrained_model, max_tokens=max_tokens, seed=seed,
            checkpoints=tuple(params.pretrained_checkpoints),
            pools=PoolConfig(passage_words=params.pretrained_passage_words,
                             docs_per_pool=params.pretrained_docs_per_pool,
                             passages_per_doc=params.pretrained_passages_per_doc, seed=seed),
            train=FinetuneConfig(method=params.pretrained_method, epochs=params.pretrained_epochs,
                                 lr=params.pretrained_lr, batch_size=params.pretrained_batch_size, warmup_steps=2,
                                 lora_r=rank, lora_alpha=2 * rank))
    return targets


def run_configs(params: LLMParameters) -> dict[tuple[str, int], LLMRunConfig]:
    """(target name, epoch) -> the run attacking it, for every target of :func:`chapter_targets` and every kept
    epoch (``*_checkpoints`` and the last), in order. A scratch target has the disjoint reference; a pretrained
    one the ``pretrained_references``."""
    runs: dict[tuple[str, int], LLMRunConfig] = {}
    for name, config in chapter_targets(params).items():
        scratch = name == SCRATCH
        neighbours = NeighbourConfig(n=params.scratch_neighbours if scratch else params.pretrained_neighbours,
                                     replace_fraction=params.replace_fraction, seed=params.seed)
        references = ("disjoint",) if config.is_scratch else tuple(params.pretrained_references)
        for epoch in sorted(set(config.checkpoints) | {config.train.epochs}):
            runs[name, epoch] = LLMRunConfig(target=config, epoch=epoch, references=references, neighbours=neighbours,
                                             min_k=params.min_k, k_grid=tuple(params.k_grid),
                                             batch_size=32 if config.is_scratch else params.pretrained_batch_size)
    return runs


def plan_tasks(params: LLMParameters) -> list[Task]:
    """The ``llm_mia`` chapter's tasks: per target, its tokenizer (scratch), its training and its references'
    (one task per trained model), the statistics of each model at each attacked epoch, and one run per epoch;
    each task once, prerequisites first."""
    tasks: dict[str, Task] = {}
    for config in run_configs(params).values():
        for new in run_tasks(config):
            tasks.setdefault(new.name, new)
    return list(tasks.values())
