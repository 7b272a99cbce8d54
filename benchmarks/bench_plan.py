"""Benchmark: the smoke profile's experiment plan on Dask with 1, 2 and 4 local worker processes, against the
old notebook-level schedule (the planned artefacts computed one after another in one process, as the notebooks'
own loops did), each from an empty store, in the same run.

Prints, per schedule, the wall time, the artefacts computed and the speed-up over the old schedule.
Each task uses 1 torch thread, so on a machine with fewer cores than workers the extra workers only share
the cores (this project's CI machine has 2).

    python benchmarks/bench_plan.py                              # the whole smoke plan
    python benchmarks/bench_plan.py --workers 1 2                # only these worker counts
    python benchmarks/bench_plan.py --only lz_targets --only lz_transfer   # some chapters' plans
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


CHAPTERS: list[str] = []  # set by --only; empty: every chapter with a plan


def plan_parameters() -> dict:
    """Chapter -> its smoke-profile parameters, for the chapters of ``--only`` (default: every planned chapter)."""
    from leakage.chapters import chapter_parameters
    from leakage.experiments.plan import PLANNERS

    return {n: chapter_parameters(n, "smoke") for n in (CHAPTERS or PLANNERS)}


def old_schedule(root: str) -> tuple[float, int]:
    """The plan's jobs one after another in this process (the notebooks' loops), from an empty store."""
    import torch

    from leakage.experiments.plan import execute, plan_for
    from leakage.store import Store

    torch.set_num_threads(1)
    store = Store(root)
    start = time.perf_counter()
    for t in plan_for(plan_parameters()).tasks:
        execute(t.job, store)
    return time.perf_counter() - start, len(store.computed())


def on_dask(root: str, workers: int) -> tuple[float, int]:
    """The plan on a LocalCluster of ``workers`` processes (cluster start-up included), from an empty store."""
    from leakage.experiments.plan import plan_for
    from leakage.grid import make_client, run_plan
    from leakage.store import Store

    start = time.perf_counter()
    client = make_client(workers=workers, threads=1, quiet=True)
    try:
        report = run_plan(plan_for(plan_parameters()), client, store_root=root, echo=lambda line: None)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    if not report.ok:
        raise SystemExit(f"the plan failed: {report.failed}")
    return time.perf_counter() - start, len(Store(root).computed())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--only", action="append", default=[], metavar="NOTEBOOK", help="plan only these chapters")
    args = parser.parse_args()
    CHAPTERS[:] = args.only
    os.environ["LEAKAGE_PROGRESS"] = "0"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        seconds, computed = old_schedule(f"{tmp}/old")
        rows.append(("old: notebooks' loops, 1 process", seconds, computed))
        for n in args.workers:
            seconds, computed = on_dask(f"{tmp}/dask{n}", n)
            rows.append((f"Dask LocalCluster, {n} worker(s)", seconds, computed))
    reference = rows[0][1]
    from leakage.experiments.plan import plan_for

    counts = plan_for(plan_parameters()).counts()
    print(f"smoke plan ({', '.join(f'{n} {k}' for k, n in counts.items())}) on {os.cpu_count()} cores, "
          "1 torch thread per task")
    print(f"{'schedule':36s} {'wall s':>8s} {'computed':>9s} {'speed-up':>9s}")
    for name, seconds, computed in rows:
        print(f"{name:36s} {seconds:8.1f} {computed:9d} {reference / seconds:8.2f}x")


if __name__ == "__main__":
    main()
