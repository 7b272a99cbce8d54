"""The experiment plan: every artefact a profile's notebooks load, as typed jobs with their dependencies.

A *task* is one artefact: a job (a frozen config naming everything the artefact depends on) and the
names of the tasks it needs first. :func:`plan_for` builds the plan of a build from the notebooks'
resolved parameters; :mod:`leakage.grid` runs it on Dask; the notebooks then load every planned artefact
from the store (cache hits) and only narrate and plot. Each job kind has one stage function,
``job -> artefact`` through the store (:data:`STAGES`).

Covered so far: part 1's targets (``lz_targets``) and every attack run of the transfer chapter
(``lz_transfer``; ``lz_boundary`` reuses three of them). The other chapters still compute their own
artefacts when their notebook runs (the store makes that safe and resumable); they join the plan chapter by
chapter.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakage.config import config_hash, doc_field
from leakage.experiments import part1
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.experiments.targets import TargetConfig, train_target
from leakage.metrics import roc_auc
from leakage.store import Store


@dataclass(frozen=True)
class TargetJob:
    """Train one target M-i (artefact kind ``target``)."""

    target: TargetConfig = doc_field(TargetConfig(), "the target's config")


@dataclass(frozen=True)
class AttackJob:
    """One attack against one target (artefact kind ``attack``; its shadow model, if any, is made on the way)."""

    target: TargetConfig = doc_field(TargetConfig(), "the attacked target's config")
    attack: str = doc_field("baseline", "registered attack name")
    config: Any = doc_field(None, "the attack's Config (None: its defaults)")
    candidates: CandidateConfig = doc_field(CandidateConfig(), "the evaluation candidates")


def run_target_job(job: TargetJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`TargetJob`: the trained target's accuracies."""
    target = train_target(job.target, store)
    return {"train_accuracy": target.metrics["train_accuracy"], "test_accuracy": target.metrics["test_accuracy"]}


def run_attack_job(job: AttackJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AttackJob`: the attack's AUC (the scores stay in the store)."""
    result = run_attack(train_target(job.target, store), job.attack, job.config, job.candidates, store, n_boot=1)
    return {"auc": roc_auc(result.scores, result.is_member)}


#: Job type -> its stage function ``(job, store) -> small summary`` (the artefact itself goes to the store).
STAGES: dict[type, Callable[[Any, Store], dict[str, Any]]] = {TargetJob: run_target_job, AttackJob: run_attack_job}


@dataclass(frozen=True)
class Task:
    """One planned artefact: ``name`` (unique: job kind and config hash), the job, the names of its prerequisites."""

    name: str
    job: Any
    needs: tuple[str, ...] = ()


def task(job: Any, needs: tuple[str, ...] = ()) -> Task:
    """The task of ``job``, named by its kind and config hash (the same job always gets the same name)."""
    if type(job) not in STAGES:
        raise ValueError(f"no stage runs {type(job).__name__}; known jobs: {', '.join(t.__name__ for t in STAGES)}")
    kind = type(job).__name__.removesuffix("Job").lower()
    return Task(f"{kind}-{config_hash(kind, job)}", job, needs)


@dataclass
class Plan:
    """Tasks in an order where every task comes after the tasks it needs (a DAG; checked when built)."""

    tasks: list[Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError("a plan holds each task once")
        known = set(names)
        for t in self.tasks:
            missing = [n for n in t.needs if n not in known]
            if missing:
                raise ValueError(f"task {t.name} needs {missing}, which are not in the plan")
        order = list(graphlib.TopologicalSorter({t.name: t.needs for t in self.tasks}).static_order())  # CycleError
        rank = {n: i for i, n in enumerate(order)}
        self.tasks = sorted(self.tasks, key=lambda t: rank[t.name])

    def __len__(self) -> int:
        return len(self.tasks)

    def counts(self) -> dict[str, int]:
        """Tasks per job kind."""
        out: dict[str, int] = {}
        for t in self.tasks:
            kind = t.name.split("-")[0]
            out[kind] = out.get(kind, 0) + 1
        return out


def _add(tasks: dict[str, Task], new: Task) -> str:
    tasks.setdefault(new.name, new)
    return new.name


def plan_for(parameters: Mapping[str, Mapping[str, Any]]) -> Plan:
    """The plan of a build: ``parameters`` maps each notebook that runs to its resolved parameters (as the
    book runner injects them). Notebooks the plan does not cover yet add nothing."""
    tasks: dict[str, Task] = {}
    targets: dict[TargetConfig, str] = {}
    for notebook in ("lz_targets", "lz_transfer"):
        if notebook in parameters:
            for config in part1.targets(parameters[notebook]):
                targets[config] = _add(tasks, task(TargetJob(config)))
    if "lz_transfer" in parameters:
        params = parameters["lz_transfer"]
        candidates = part1.candidates(params)
        for config in part1.targets(params):
            for name, attack_config in part1.transfer_runs(params).values():
                _add(tasks, task(AttackJob(config, name, attack_config, candidates), (targets[config],)))
    return Plan(list(tasks.values()))


def execute(job: Any, store: Store | None = None) -> dict[str, Any]:
    """Run ``job``'s stage (a cache hit when its artefact exists); returns the stage's summary."""
    return STAGES[type(job)](job, store or Store())
