"""Run an experiment plan on Dask: a local cluster by default, an existing scheduler, or a batch system.

The store (on a file system every worker sees) is the only state: a task computes its artefact through
``Store.cached`` (atomic writes, one lock per artefact), so concurrent workers never compute an artefact
twice or corrupt one, a killed run resumes where it stopped, and a task whose artefact exists is a cache hit.
A failed task is reported with its job and traceback while the others go on; the tasks that need it are
reported as not run.

- :func:`make_client`: ``scheduler="tcp://HOST:PORT"`` joins an existing cluster; ``cluster="local"`` starts a
  ``distributed.LocalCluster`` of worker processes (``threads`` torch threads each, as many workers as the
  cores allow); ``cluster="slurm" | "pbs" | "sge"`` starts workers through dask-jobqueue (queue, cores,
  memory, walltime... from ``options``: the keyword arguments of ``dask_jobqueue.SLURMCluster`` and its kin).
- :func:`run_plan`: submit every task with its prerequisites, print progress (done / total, running,
  failed, elapsed) and return a :class:`PlanReport`.

GPUs: a task uses the first visible GPU of its worker (:func:`leakage.device.get_device`); on a multi-GPU
machine start one worker per GPU with ``CUDA_VISIBLE_DEVICES`` set for each (e.g. with dask-cuda's
``LocalCUDACluster``, then pass its scheduler address).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leakage.device import apply_threads, thread_env
from leakage.experiments.jobs import Task, execute
from leakage.experiments.plan import Plan

CLUSTERS: tuple[str, ...] = ("local", "slurm", "pbs", "sge")


@dataclass
class PlanReport:
    """What a plan run did: per task name, seconds taken (done) or the error (failed) or why it did not run."""

    done: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # name -> job and traceback
    not_run: dict[str, str] = field(default_factory=dict)  # name -> the failed task it needed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_run


def run_task(task: Task, threads: int, store_root: str | None, *needed: Any) -> dict[str, Any]:
    """Worker side: fix the process's threads and allocator (:func:`leakage.device.apply_threads`), run the task's
    stage through the store; returns its summary and time."""
    from leakage.store import Store

    del needed  # only orders the task after its prerequisites
    apply_threads(threads)
    start = time.perf_counter()
    summary = execute(task.job, Store(store_root) if store_root else Store())
    return {"name": task.name, "seconds": time.perf_counter() - start, **summary}


def make_client(scheduler: str | None = None, cluster: str = "local", *, workers: int | None = None,
                threads: int = 1, options: Mapping[str, Any] | None = None, quiet: bool = False):
    """A ``distributed.Client`` for :func:`run_plan` (see the module docstring); the caller closes it
    (``client.close()``, and ``client.cluster.close()`` for one it started).

    Raises ``ValueError`` for an unknown cluster kind, ``threads < 1`` or ``workers < 1``.
    """
    from distributed import Client, LocalCluster

    if threads < 1 or (workers is not None and workers < 1):
        raise ValueError(f"threads and workers must be at least 1, got {threads} and {workers}")
    if scheduler:
        return Client(scheduler)
    if cluster not in CLUSTERS:
        raise ValueError(f"unknown cluster {cluster!r}; choose one of {', '.join(CLUSTERS)}")
    if cluster == "local":
        import dask

        n = workers or max(1, (os.cpu_count() or 1) // threads)
        # Replaces Dask's default, whose MALLOC_TRIM_THRESHOLD_=65536 makes glibc hand memory back after every
        # torch step (the book's CNN training ran 1.6-1.9x slower in a worker than in-process): the workers
        # start with the threads' environment only; each task then applies the allocator setting itself.
        with dask.config.set({"distributed.nanny.pre-spawn-environ": thread_env(threads)}):
            local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                 silence_logs=50 if quiet else 30, **dict(options or {}))
        return Client(local)
    import dask_jobqueue

    kind = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster, "sge": dask_jobqueue.SGECluster}
    batch = kind[cluster](**dict(options or {}))
    batch.scale(jobs=workers or 1)
    return Client(batch)


def run_plan(plan: Plan, client, *, threads: int = 1, retries: int = 0, store_root: str | None = None,
             echo: Callable[[str], None] = print, every: float = 5.0) -> PlanReport:
    """Compute every task of ``plan`` on ``client``'s workers, each after the tasks it needs.

    ``threads``: torch threads per task; ``retries``: times a failed task is retried (a lost worker's task is
    rescheduled by Dask anyway); ``store_root``: the store the workers use, made absolute here against this
    process's working directory (None: each worker's own default, ``$LEAKAGE_STORE`` or the project's, for
    workers of an existing cluster started elsewhere; a cluster this process starts inherits its environment,
    pinned by :func:`leakage.paths.pin_environment_paths`); ``echo`` receives a progress line every ``every`` seconds and the
    dashboard address. Never raises for a failing task: the report says which failed and why.
    """
    from distributed import as_completed

    from leakage.paths import absolute_path

    store_root = str(absolute_path(store_root)) if store_root else None
    start = time.perf_counter()
    report = PlanReport()
    futures, names = {}, {}
    for t in plan.tasks:
        needed = [futures[n] for n in t.needs]
        future = client.submit(run_task, t, threads, store_root, *needed, key=t.name, retries=retries, pure=False)
        futures[t.name], names[future.key] = future, t.name
    dashboard = getattr(client, "dashboard_link", None)
    echo(f"plan: {len(plan)} tasks ({', '.join(f'{n} {k}' for k, n in plan.counts().items())}) on "
         f"{len(client.scheduler_info().get('workers', {}))} workers; dashboard {dashboard}")
    errors: dict[str, str] = {}
    last = 0.0
    for future in as_completed(list(futures.values())):
        name = names[future.key]
        if future.status == "finished":
            report.done[name] = future.result()["seconds"]
        else:
            error = future.exception()
            tb = "".join(traceback.format_tb(future.traceback())) if future.traceback() else ""
            job = next(t.job for t in plan.tasks if t.name == name)
            errors[name] = f"{job!r}\n{tb}{type(error).__name__}: {error}"
        now = time.perf_counter()
        if now - last >= every or len(report.done) + len(errors) == len(plan):
            last = now
            waiting = len(plan) - len(report.done) - len(errors)
            echo(f"plan: {len(report.done)}/{len(plan)} done, {len(errors)} failed or not run, {waiting} waiting "
                 f"or running, {now - start:.0f} s")
    for name, text in errors.items():  # a task whose prerequisite failed did not run: say which one failed
        origin = _origin(plan, name, errors)
        if origin is None:
            report.failed[name] = text
            echo(f"plan: task {name} failed: {text.splitlines()[-1]}")
        else:
            report.not_run[name] = origin
    report.seconds = time.perf_counter() - start
    return report


def _origin(plan: Plan, name: str, errors: Mapping[str, str]) -> str | None:
    """A task that ``name`` (transitively) needed and that erred, if any: ``name`` did not run because of it."""
    needs = {t.name: t.needs for t in plan.tasks}
    stack, seen = list(needs[name]), set()
    while stack:
        other = stack.pop()
        if other in errors:
            return other
        if other not in seen:
            seen.add(other)
            stack.extend(needs[other])
    return None
