"""The experiment plan: every artefact a profile's notebooks load, as typed jobs with their dependencies.

A *task* (:class:`leakage.experiments.jobs.Task`) is one artefact: a job (a frozen config naming everything
the artefact depends on) and the names of the tasks it needs first. Each chapter's experiment module lists
the tasks its notebook needs (``plan_tasks(parameters)``, declared with its chapter in :mod:`leakage.chapters`); :func:`plan_for`
gathers them for a build (a task two chapters need is planned once); :mod:`leakage.grid` runs the plan on
Dask; the notebooks then load every planned artefact from the store (cache hits) and only narrate and plot.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakage.chapters import PLANNERS, UNPLANNED, chapter  # noqa: F401 (declared with the chapters)
from leakage.parameters import ChapterParameters
from leakage.experiments.jobs import STAGES, Task, execute, task  # noqa: F401 (the plan's vocabulary)
from leakage.experiments.part1 import AttackJob, TargetJob  # noqa: F401

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


def planner(notebook: str):
    """The ``plan_tasks`` function of ``notebook`` (None for a notebook that computes nothing)."""
    return chapter(notebook).planner()


def plan_for(parameters: Mapping[str, ChapterParameters]) -> Plan:
    """The plan of a build: ``parameters`` maps each chapter that runs to its resolved parameters
    (:func:`leakage.chapters.chapter_parameters`); every chapter's tasks, each planned once."""
    tasks: dict[str, Task] = {}
    for notebook, params in parameters.items():
        function = planner(notebook)
        for new in function(params) if function else ():
            tasks.setdefault(new.name, new)
    return Plan(list(tasks.values()))
