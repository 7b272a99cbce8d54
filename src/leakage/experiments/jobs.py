"""Jobs, stages and tasks: the vocabulary of the experiment plan, shared by every chapter's experiment module.

A *job* is a frozen dataclass naming everything one artefact depends on; its *stage* is the one function
``(job, store) -> small summary`` that computes the artefact through the store (a cache hit when it exists).
A chapter module declares its jobs' stages with :func:`stage` and lists the tasks its notebook needs in a
``plan_tasks(parameters) -> list[Task]`` function; :func:`leakage.experiments.plan.plan_for` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from leakage.config import config_hash
from leakage.store import Store

#: Job type -> its stage function ``(job, store) -> small JSON-able summary`` (the artefact goes to the store).
STAGES: dict[type, Callable[[Any, Store], dict[str, Any]]] = {}

J = TypeVar("J")


def stage(job_type: type[J]) -> Callable[[Callable[[J, Store], dict[str, Any]]], Callable[[J, Store], dict[str, Any]]]:
    """Register the decorated function as the stage of ``job_type`` (one stage per job type).

    Raises ``ValueError`` when ``job_type`` already has a stage.
    """
    def register(function: Callable[[J, Store], dict[str, Any]]) -> Callable[[J, Store], dict[str, Any]]:
        known = STAGES.get(job_type)
        if known is not None and known.__qualname__ != function.__qualname__:
            raise ValueError(f"{job_type.__name__} already has the stage {known.__qualname__}")
        STAGES[job_type] = function
        return function

    return register


@dataclass(frozen=True)
class Task:
    """One planned artefact: ``name`` (unique: job kind and config hash), the job, the names of its prerequisites."""

    name: str
    job: Any
    needs: tuple[str, ...] = ()


def task(job: Any, needs: tuple[str, ...] | list[Task] | tuple[Task, ...] = ()) -> Task:
    """The task of ``job``, named by its kind and config hash (the same job always gets the same name).

    ``needs``: the tasks (or their names) that must be done first. Raises ``ValueError`` for a job with no stage.
    """
    if type(job) not in STAGES:
        raise ValueError(f"no stage runs {type(job).__name__}; known jobs: {', '.join(t.__name__ for t in STAGES)}")
    kind = type(job).__name__.removesuffix("Job").lower()
    names = tuple(n.name if isinstance(n, Task) else n for n in needs)
    return Task(f"{kind}-{config_hash(kind, job)}", job, names)


def execute(job: Any, store: Store | None = None) -> dict[str, Any]:
    """Run ``job``'s stage (a cache hit when its artefact exists); returns the stage's summary."""
    if type(job) not in STAGES:
        raise ValueError(f"no stage runs {type(job).__name__}")
    return STAGES[type(job)](job, store or Store())
