"""The VP chapter's jobs, their stages, and its plan (:func:`plan_tasks`): one task per artefact (the tokenizer,
each target and shadow model, the baseline, each attack run), built from the chapter's parameters by the same
functions (:mod:`leakage.experiments.vp.runs`) as its frames, which the notebook calls once the plan ran: they
load, and compute nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leakage.config import doc_field
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.parameters import VPParameters
from leakage.experiments.vp.attacks import run_vp_attack
from leakage.experiments.vp.baseline import run_vp_baseline
from leakage.experiments.vp.configs import (VPAttackRunConfig, VPBaselineRunConfig, VPDataConfig, VPModelRunConfig,
                                            shadow_of)
from leakage.experiments.vp.data import load_tokenizer
from leakage.experiments.vp.models import train_vp_model
from leakage.experiments.vp.runs import baseline_config, nmid_attacks, target_config, undefended_attacks
from leakage.store import Store
from leakage.vp.models import VPModelConfig

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


def plan_tasks(params: VPParameters) -> list[Task]:
    """The ``vp_mia`` chapter's tasks, each once: the tokenizer, every target and shadow model, the baseline,
    the undefended attacks (:func:`undefended_attacks`) and the NMID sweep (:func:`nmid_attacks`)."""
    attacks = [config for *_, config in undefended_attacks(params)] + [config for *_, config in nmid_attacks(params)]
    models = [run for arch in params.models
              for run in (target_config(params, arch), shadow_of(target_config(params, arch)))]
    tasks: dict[str, Task] = {}
    for new in [*(t for run in models for t in (*tokenizer_tasks(run), model_task(run))),
                task(VPBaselineJob(baseline_config(params))), *(attack_task(config) for config in attacks)]:
        tasks.setdefault(new.name, new)
    return list(tasks.values())
