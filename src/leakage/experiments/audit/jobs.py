"""The ``audit`` chapter's jobs and plan: the audited models' configs from the chapter's parameters
(:class:`~leakage.experiments.parameters.AuditParameters`), one typed job per artefact with its stage,
:func:`plan_tasks` (one task per CNN: training, then its canary scores; per GPT-2: trained and scored in one
artefact, after the tokenizer; at every epsilon) and :func:`audit_results`, which loads what the plan computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from leakage.config import doc_field
from leakage.experiments import llm
from leakage.experiments.audit.targets import (AuditScores, LMAuditConfig, VisionAuditConfig, lm_scores, lm_target,
                                               train_vision_target, vision_scores)
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.parameters import AuditParameters
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig
from leakage.metrics import roc_auc
from leakage.models.cnn import CNNConfig
from leakage.store import Store
from leakage.train import TrainConfig


def levels(params: AuditParameters) -> list[float]:
    """The chapter's epsilons: 0 (no DP) first, then the chapter's ``epsilons``."""
    return [0.0, *params.epsilons]


def vision_config(params: AuditParameters, epsilon: float) -> VisionAuditConfig:
    """The audited CNN at ``epsilon`` (0: no DP, trained for ``nodp_min_steps`` steps at least) from the
    ``audit`` chapter's parameters (``vision_*``, ``canary_kind``, ``width``, ``epochs``, ``batch_size``,
    ``lr``, ``boundary_budget``, ``delta``, ``seed``)."""
    train = TrainConfig(epochs=params.epochs, batch_size=params.batch_size, lr=params.lr,
                        min_steps=0 if epsilon else params.nodp_min_steps)
    return VisionAuditConfig(dataset=params.vision_dataset, base_size=params.vision_base,
                             test_size=params.vision_test, canaries=params.vision_canaries,
                             canary_kind=params.canary_kind, epsilon=epsilon, delta=params.delta,
                             arch=CNNConfig(width=params.width), train=train,
                             boundary_budget=params.boundary_budget, seed=params.seed)


def lm_config(params: AuditParameters, epsilon: float) -> LMAuditConfig:
    """The audited from-scratch GPT-2 at ``epsilon`` (0: no DP) from the ``audit`` chapter's parameters
    (``lm_*``, ``delta``, ``seed``), on the Brown corpus this machine reads (its digest enters the key)."""
    return LMAuditConfig(
        pools=PoolConfig(passage_words=params.lm_passage_words, docs_per_pool=params.lm_docs_per_pool,
                         passages_per_doc=params.lm_passages_per_doc, seed=params.seed),
        corpus_digest=llm.corpus().digest(),
        scratch=ScratchConfig(n_layer=params.lm_layers, n_head=2, n_embd=params.lm_width,
                              n_positions=params.lm_max_tokens + 1, vocab_size=params.lm_vocab),
        train=FinetuneConfig(method="full", epochs=params.lm_epochs, lr=params.lm_lr,
                             batch_size=params.lm_batch_size),
        canaries=params.lm_canaries, canary_words=params.lm_canary_words, epsilon=epsilon,
        delta=params.delta, max_tokens=params.lm_max_tokens, seed=params.seed)


#: The chapter's audited models: display name -> (config builder from the parameters and an epsilon, scorer).
MODELS: dict[str, tuple[Callable[[AuditParameters, float], Any], Callable[..., AuditScores]]] = {
    "CNN": (vision_config, vision_scores), "GPT-2": (lm_config, lm_scores)}


@dataclass(frozen=True)
class AuditVisionTargetJob:
    """Train one audited CNN with its canaries (artefact kind ``audit_vision_target``)."""

    audit: VisionAuditConfig = doc_field(VisionAuditConfig(), "the audited CNN, its canaries and its epsilon")


@dataclass(frozen=True)
class AuditVisionScoresJob:
    """Score every canary of one audited CNN with every vision attack (artefact kind ``audit_vision_scores``)."""

    audit: VisionAuditConfig = doc_field(VisionAuditConfig(), "the audited CNN, its canaries and its epsilon")


@dataclass(frozen=True)
class AuditLMScoresJob:
    """Train one audited GPT-2 with its canaries and score every canary with every text attack (artefact kind
    ``audit_lm_scores``: the model is trained and scored in one stage and not kept)."""

    audit: LMAuditConfig = doc_field(LMAuditConfig(), "the audited GPT-2, its canaries and its epsilon")


@stage(AuditVisionTargetJob)
def run_vision_target_job(job: AuditVisionTargetJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AuditVisionTargetJob`: the CNN's accountant epsilon and test accuracy."""
    _, payload, _ = train_vision_target(job.audit, store)
    return {"dp_epsilon": float(payload["dp_epsilon"]), "test_accuracy": float(payload["test_accuracy"])}


@stage(AuditVisionScoresJob)
def run_vision_scores_job(job: AuditVisionScoresJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AuditVisionScoresJob`: the attacks' AUCs on the canaries (the scores stay in the store)."""
    result = vision_scores(job.audit, store)
    return {attack: roc_auc(scores, result.included) for attack, scores in result.scores.items()}


@stage(AuditLMScoresJob)
def run_lm_scores_job(job: AuditLMScoresJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AuditLMScoresJob`: the attacks' AUCs on the canaries (the scores stay in the store)."""
    result = lm_scores(job.audit, store)
    return {attack: roc_auc(scores, result.included) for attack, scores in result.scores.items()}


def plan_tasks(params: AuditParameters) -> list[Task]:
    """The ``audit`` chapter's tasks from its resolved parameters: at every epsilon of :func:`levels`, the CNN's
    training and then its canary scores; the GPT-2 tokenizer once (per pools and vocabulary), then each GPT-2's
    training and canary scores. Lists tasks only (builds configs, reads the data sets' digests; trains nothing)."""
    tasks: list[Task] = []
    for epsilon in levels(params):
        target = task(AuditVisionTargetJob(vision_config(params, epsilon)))
        tasks += [target, task(AuditVisionScoresJob(vision_config(params, epsilon)), (target,))]
    tokenizers: dict[str, Task] = {}
    for epsilon in levels(params):
        config = lm_config(params, epsilon)
        tokenizer = llm.tokenizer_task(lm_target(config))  # the LLM chapter's job: one task per artefact
        if tokenizer.name not in tokenizers:
            tokenizers[tokenizer.name] = tokenizer
            tasks.append(tokenizer)
        tasks.append(task(AuditLMScoresJob(config), (tokenizer,)))
    return tasks


def audit_results(params: AuditParameters, store: Store | None = None) -> dict[tuple[str, float], AuditScores]:
    """(model name, epsilon) -> its canaries' scores, for each model of :data:`MODELS` and each epsilon of
    :func:`levels` (0: no DP), loaded from ``store`` (default ``Store()``; cache hits once :func:`plan_tasks`'
    tasks ran, else computed)."""
    store = store or Store()
    return {(name, epsilon): score(make(params, epsilon), store)
            for name, (make, score) in MODELS.items() for epsilon in levels(params)}
