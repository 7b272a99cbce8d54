"""The experiment plan and its execution on Dask: a DAG, each artefact computed once by a real multi-process
cluster (a scheduler and 3 worker processes), the same numbers as one process, and a killed worker survived."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import functools
import graphlib
import pytest

from leakage.data import vision as vision_data
from leakage.book import CHAPTER_NOTEBOOKS
from leakage.data.vision import load_vision
from leakage.experiments.part1 import shadow_grid
from leakage.experiments.plan import (PLANNERS, STAGES, UNPLANNED, AttackJob, Plan, Task, TargetJob, execute, plan_for,
                                      planner, task)
from leakage.chapters import chapter_parameters
from leakage.parameters import ChapterParameters
from leakage.profiles import PROFILES
from leakage.store import Store

DASK = Path(sys.executable).with_name("dask")


def tiny_parameters() -> dict[str, ChapterParameters]:
    """The smoke profile's part-1 parameters, trained for a few steps only (the same plan, seconds of work)."""
    targets = chapter_parameters("lz_targets").changed(epochs=1, min_steps=5)
    transfer = chapter_parameters("lz_transfer").changed(epochs=1, min_steps=5, shadow_epochs=1, shadow_min_steps=5,
                                                         max_per_side=20, grid_widths=[4], grid_sizes=[300])
    return {"lz_targets": targets, "lz_transfer": transfer}


@pytest.mark.parametrize("profile", [p for p in PROFILES if p != "paper"])  # paper's data is not offline here
def test_each_profile_plan_is_a_dag_covering_every_chapter(profile, monkeypatch):
    # the real data sets, even while the session's toy target substitutes the loader (conftest.overfit_target)
    monkeypatch.setattr(vision_data, "cached_data", functools.lru_cache(maxsize=4)(load_vision))
    assert set(PLANNERS) | set(UNPLANNED) == set(CHAPTER_NOTEBOOKS)
    params = {n: chapter_parameters(n, profile) for n in CHAPTER_NOTEBOOKS}
    plan = plan_for(params)
    names = [t.name for t in plan.tasks]
    assert len(names) == len(set(names))
    seen = set()
    for t in plan.tasks:  # topological: every prerequisite comes first
        assert set(t.needs) <= seen and type(t.job) in STAGES
        seen.add(t.name)
    for notebook in PLANNERS:  # every chapter's own tasks are in the build's plan
        own = planner(notebook)(params[notebook])
        assert own and {t.name for t in own} <= seen, notebook
    part1 = plan_for({n: params[n] for n in ("lz_targets", "lz_transfer")})
    grid = len(shadow_grid(params["lz_transfer"]))  # Fig. 3's shadow grid (a cell may be the main shadow's run)
    assert part1.counts()["target"] == 6 and 48 < part1.counts()["attack"] <= 48 + grid
    assert all(isinstance(t.job, AttackJob) == bool(t.needs) for t in part1.tasks)


def test_a_plan_refuses_cycles_duplicates_and_unknown_prerequisites():
    a, b = Task("a", None, ("b",)), Task("b", None, ("a",))
    with pytest.raises(graphlib.CycleError):
        Plan([a, b])
    with pytest.raises(ValueError, match="not in the plan"):
        Plan([Task("a", None, ("zzz",))])
    with pytest.raises(ValueError, match="once"):
        Plan([Task("a", None), Task("a", None)])
    with pytest.raises(ValueError, match="no stage runs"):
        task(object())


def _summaries(root: Path, plan: Plan) -> dict:
    """Each task's stage summary read back from the store at ``root`` (the numbers, without the time)."""
    store = Store(root)
    return {t.name: execute(t.job, store) for t in plan.tasks}


@pytest.fixture
def workers(tmp_path):
    """A Dask scheduler and 3 worker processes on localhost (1 thread each), sharing a store under tmp_path."""
    env = {**os.environ, "LEAKAGE_RESULTS": str(tmp_path / "results"), "LEAKAGE_PROGRESS": "0"}
    scheduler_file = tmp_path / "scheduler.json"
    processes = [subprocess.Popen([str(DASK), "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                                   "--dashboard-address", ":0"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    deadline = time.time() + 60
    while not scheduler_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    for _ in range(3):
        processes.append(subprocess.Popen([str(DASK), "worker", "--scheduler-file", str(scheduler_file),
                                           "--nworkers", "1", "--nthreads", "1", "--no-nanny"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    client = Client(scheduler_file=str(scheduler_file), timeout=60)
    client.wait_for_workers(3, timeout=120)
    yield client, processes[1:], tmp_path / "results" / "store"
    client.close()
    for p in processes:
        p.kill()
        p.wait()


def test_three_worker_processes_compute_each_artefact_once_with_one_process_numbers(workers, tmp_path, monkeypatch):
    from leakage.grid import run_plan

    client, _, root = workers
    plan = plan_for(tiny_parameters())
    report = run_plan(plan, client, echo=lambda line: None)
    assert report.ok and len(report.done) == len(plan)
    computed = Store(root).computed()
    keys = [(e["kind"], e["config_hash"]) for e in computed]
    assert len(keys) == len(set(keys)), "an artefact was computed twice"
    assert {e["kind"] for e in computed} == {"target", "attack", "shadow"}
    assert len({e["pid"] for e in computed}) > 1, "the work was not spread over the workers"
    for kind in ("target", "attack", "shadow"):  # no partial or set-aside (corrupt) folder
        assert all((folder / "record.json").exists() and ".corrupt-" not in folder.name
                   for folder in (root / kind).iterdir())
    # the same numbers as one process computing the plan alone, in another store
    monkeypatch.setenv("LEAKAGE_PROGRESS", "0")
    serial_root = tmp_path / "serial"
    serial = {t.name: execute(t.job, Store(serial_root)) for t in plan.tasks}
    assert _summaries(root, plan) == serial
    before = time.time()
    _summaries(root, plan)  # reading every artefact back (checksums checked) computes nothing: none corrupt
    assert Store(root).computed(since=before) == []


def test_a_worker_killed_mid_run_still_ends_in_a_complete_correct_run(workers, tmp_path, monkeypatch):
    from leakage.grid import run_plan

    client, processes, root = workers
    plan = plan_for(tiny_parameters())

    def kill_one_worker_once_work_started(line: str) -> None:
        if processes[0].poll() is None and Store(root).computed():
            os.kill(processes[0].pid, signal.SIGKILL)

    report = run_plan(plan, client, echo=kill_one_worker_once_work_started, every=0.0)
    assert processes[0].poll() is not None, "the worker was not killed during the run"
    assert report.ok and len(report.done) == len(plan)
    monkeypatch.setenv("LEAKAGE_PROGRESS", "0")
    serial = {t.name: execute(t.job, Store(tmp_path / "serial")) for t in plan.tasks}
    assert _summaries(root, plan) == serial


def test_a_failing_task_is_reported_with_its_job_and_the_tasks_that_needed_it_are_not_run(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    from leakage.experiments import plan as plan_module
    from leakage.grid import run_plan

    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    params = tiny_parameters()
    params["lz_transfer"] = params["lz_transfer"].changed(datasets=["digits"])
    plan = plan_for(params)
    broken = plan.tasks[0]
    assert isinstance(broken.job, TargetJob)
    bad = Task(broken.name, TargetJob(broken.job.target.__class__(model_index=99)), broken.needs)
    plan = Plan([bad if t.name == broken.name else t for t in plan.tasks])
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        report = run_plan(plan, client, echo=lambda line: None)
    assert list(report.failed) == [bad.name] and "model_index must be in 0..5" in report.failed[bad.name]
    assert "TargetJob" in report.failed[bad.name]
    dependents = {t.name for t in plan.tasks if bad.name in t.needs}
    assert set(report.not_run) == dependents and all(v == bad.name for v in report.not_run.values())
    assert len(report.done) == len(plan) - 1 - len(dependents)



def _thread_settings() -> dict:
    import torch

    from leakage.device import THREAD_ENV_VARIABLES

    return {**{name: os.environ.get(name) for name in THREAD_ENV_VARIABLES}, "torch": torch.get_num_threads()}


def test_a_local_clusters_workers_start_with_the_threads_environment(monkeypatch):
    from leakage.device import THREAD_ENV_VARIABLES, thread_env
    from leakage.grid import make_client

    for name in THREAD_ENV_VARIABLES:  # Dask lets this process's own values win over the cluster's
        monkeypatch.delenv(name, raising=False)
    client = make_client(workers=1, threads=2, quiet=True)
    try:
        (settings,) = client.run(_thread_settings).values()
    finally:
        client.close()
        client.cluster.close()
    assert settings == {**thread_env(2), "torch": 2}


def test_a_task_applies_its_threads_before_its_stage_runs(monkeypatch):
    from leakage import grid

    calls = []
    monkeypatch.setattr(grid, "apply_threads", lambda threads: calls.append(("threads", threads)))
    monkeypatch.setattr(grid, "execute", lambda job, store: calls.append(("execute", job)) or {"value": 1})
    result = grid.run_task(Task("t", "job"), 3, None)
    assert calls == [("threads", 3), ("execute", "job")]
    assert result["name"] == "t" and result["value"] == 1
