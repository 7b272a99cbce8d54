"""Benchmark, prepared for a lent GPU machine: the label-only part of a profile's plan (part 1's targets, transfer,
boundary and defences chapters) computed from an empty store on this machine's device, against the CPU.

Runs the plan on a local Dask cluster (``--workers``, default one per visible GPU, else 2) into a fresh store,
every task on :func:`leakage.device.get_device` (CUDA when present; ``LEAKAGE_DEVICE`` overrides), and prints
the wall time and, per artefact kind, how many were computed and their summed seconds. With ``--cpu-log`` (the
``.computed.log`` of a CPU build's store, e.g. ``results/store/.computed.log`` after
``python -m leakage book --profile default``), the same artefacts' CPU seconds are matched by kind and key
(targets, shadows and reference models have device-independent keys; attack runs are keyed by the attacked
model's weights, so they are compared by kind in total) and the speed-up is printed. Nothing requires a GPU:
on a CPU-only machine it measures the CPU.

    python benchmarks/bench_gpu_plan.py --profile default --cpu-log results/store/.computed.log
    python benchmarks/bench_gpu_plan.py --profile smoke --workers 2      # a check of the script itself
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import torch

from leakage.chapters import chapter_parameters
from leakage.device import describe_device, get_device
from leakage.experiments.plan import plan_for
from leakage.grid import make_client, run_plan
from leakage.store import COMPUTED_LOG, Store

#: The label-only chapters (paper 1): their plan is what this benchmark computes.
LABEL_ONLY = ("lz_targets", "lz_transfer", "lz_boundary", "lz_defences")


def by_kind(entries: list[dict]) -> dict[str, tuple[int, float]]:
    """Store kind -> (artefacts computed, their summed seconds)."""
    out: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for e in entries:
        out[e["kind"]][0] += 1
        out[e["kind"]][1] += e["seconds"]
    return {k: (int(n), s) for k, (n, s) in out.items()}


def read_log(path: Path) -> list[dict]:
    """The entries of a store's ``.computed.log`` (a JSON object per line). Raises ``SystemExit`` naming the file
    when it is missing or not such a log."""
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise SystemExit(f"--cpu-log {path}: no such file (a store's {COMPUTED_LOG}, written by every build)")
    except json.JSONDecodeError as err:
        raise SystemExit(f"--cpu-log {path}: not a store's {COMPUTED_LOG} (line {err.lineno} is not JSON)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--workers", type=int, default=None, help="Dask workers (default: GPUs, else 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per task")
    parser.add_argument("--store", type=Path, default=None, help="an empty store folder (default: a temporary one)")
    parser.add_argument("--cpu-log", type=Path, default=None, help="a CPU build's store .computed.log to compare")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    device = get_device()
    workers = args.workers or (torch.cuda.device_count() if device.type == "cuda" else 2)
    params = {name: chapter_parameters(name, args.profile) for name in LABEL_ONLY}
    plan = plan_for(params)
    root = args.store or Path(tempfile.mkdtemp(prefix="leakage-gpu-plan-"))
    if Store(root).computed():
        raise SystemExit(f"--store {root} already holds computed artefacts: give an empty folder")
    print(f"device {describe_device(device)}; {workers} workers x {args.threads} thread(s); "
          f"{args.profile} label-only plan: {len(plan)} tasks; store {root}")
    client = make_client(workers=workers, threads=args.threads, quiet=True)
    try:
        start = time.perf_counter()
        report = run_plan(plan, client, threads=args.threads, store_root=str(root), every=30.0)
        wall = time.perf_counter() - start
    finally:
        client.close()
        client.cluster.close()
    if not report.ok:
        raise SystemExit(f"{len(report.failed)} tasks failed: {sorted(report.failed)[:5]}")
    here = Store(root).computed()
    print(f"\nwall {wall:.0f} s for {len(here)} artefacts on {describe_device(device)}")
    cpu = read_log(args.cpu_log) if args.cpu_log else []
    cpu_seconds = {(e["kind"], e["config_hash"]): e["seconds"] for e in cpu}
    kinds = by_kind(here)
    print(f"{'kind':>20} {'n':>5} {'seconds here':>13} {'matched':>8} {'CPU s':>9} {'here s':>9} {'speed-up':>9}")
    figures = {"device": describe_device(device), "workers": workers, "wall_s": wall, "kinds": {}}
    for kind, (n, seconds) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        matched = [(cpu_seconds[(e["kind"], e["config_hash"])], e["seconds"]) for e in here
                   if e["kind"] == kind and (e["kind"], e["config_hash"]) in cpu_seconds]
        if not matched and cpu:  # keyed by the model's weights: compare the kind's totals
            cpu_total = sum(e["seconds"] for e in cpu if e["kind"] == kind)
            matched = [(cpu_total, seconds)] if cpu_total else []
        c, g = sum(m[0] for m in matched), sum(m[1] for m in matched)
        ratio = f"{c / g:8.1f}x" if matched and g > 0 else f"{'-':>9}"
        print(f"{kind:>20} {n:5d} {seconds:13.1f} {len(matched):8d} {c:9.1f} {g:9.1f} {ratio}")
        figures["kinds"][kind] = {"n": n, "seconds": seconds, "cpu_seconds": c, "matched_seconds": g}
    if cpu:
        total = sum(kinds[k][1] for k in kinds)
        cpu_total = sum(e["seconds"] for e in cpu if e["kind"] in kinds)
        print(f"summed artefact seconds: here {total:.0f}, CPU log (same kinds, may hold other chapters' too) "
              f"{cpu_total:.0f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
