"""Benchmark: glibc's malloc with its defaults against :func:`leakage.device.keep_freed_memory` (the setting every
plan task and notebook runs with), in the same run, on the book's hot loops at 1 torch thread: a training step of
the Fashion-MNIST CNN (batch 128), a DP-SGD step (opacus, batch 128), and a no-grad forward of 1,024 inputs (a
prediction or query batch).

Three settings: glibc's defaults; ``thresholds`` (the mmap and trim thresholds raised, glibc's top pad kept: the
setting before the top pad was added); ``kept`` (keep_freed_memory as it is). ``--thread`` runs the calls in a
thread other than the main one, as a Dask task runs (its own glibc arena). The setting cannot be undone inside a
process, so each measurement is a fresh child process; the settings alternate, ``--rounds`` times each, and the
medians are compared. Prints milliseconds per call, the minor page faults per call, and the speed-ups against
the defaults.

    python benchmarks/bench_allocator.py
    python benchmarks/bench_allocator.py --thread --rounds 5 --steps 30
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = """
import ctypes, json, resource, sys, threading, time, warnings
import torch
import torch.nn.functional as F
from leakage.defenses.dp import DPSGD
from leakage.device import keep_freed_memory
from leakage.models.cnn import CNNConfig, TargetCNN

warnings.filterwarnings("ignore")
mode, steps, in_thread = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "thread"
applied = keep_freed_memory() if mode != "default" else False
if mode == "thresholds":  # glibc's default top pad (128 KiB) back
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt(-2, 128 * 1024)
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(0)
x, y = torch.rand(1024, 1, 28, 28, generator=gen), torch.randint(0, 10, (128,), generator=gen)

def measure(fn):
    for _ in range(3):
        fn()
    faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(steps):
        fn()
    return {"ms": 1e3 * (time.perf_counter() - start) / steps,
            "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps}

def calls():
    torch.manual_seed(0)
    model = TargetCNN((1, 28, 28), 10, CNNConfig(width=16))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    def train_step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[:128]), y).backward()
        optimizer.step()
    out = {"train step (128)": measure(train_step)}
    model.eval()
    with torch.no_grad():
        out["forward (1024)"] = measure(lambda: model(x))
    dp_model = TargetCNN((1, 28, 28), 10, CNNConfig(width=16))
    hook = DPSGD(noise=1.0, target_epsilon=0.0, clip=1.0, epochs=1, seed=0)
    wrapped, dp_optimizer = hook.prepare(dp_model, torch.optim.Adam(dp_model.parameters(), lr=1e-3), 5000, 128)
    def dp_step():
        dp_optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(wrapped(x[:128]), y).backward()
        dp_optimizer.step()
    out["DP-SGD step (128)"] = measure(dp_step)
    return out

if in_thread:
    result = []
    worker = threading.Thread(target=lambda: result.append(calls()))
    worker.start()
    worker.join()
    out = result[0]
else:
    out = calls()
print(json.dumps({"applied": applied, "calls": out}))
"""


def child(mode: str, steps: int, where: str) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, mode, str(steps), where], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"the {mode} child failed:\n{run.stderr}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="child processes per setting (alternating)")
    parser.add_argument("--steps", type=int, default=20, help="calls timed per measurement")
    parser.add_argument("--thread", action="store_true", help="run the calls in a thread, as a Dask task does")
    args = parser.parse_args()
    where = "thread" if args.thread else "main"  # the CHILD's argument
    runs: dict[str, list[dict]] = {"default": [], "thresholds": [], "kept": []}
    for _ in range(args.rounds):
        for mode in runs:
            result = child(mode, args.steps, where)
            if mode != "default" and not result["applied"]:
                print("note: keep_freed_memory() did not apply here (not glibc, or LEAKAGE_KEEP_FREED_MEMORY=0)")
            runs[mode].append(result["calls"])
    place = "a worker thread" if args.thread else "the main thread"
    print(f"{args.rounds} rounds x {args.steps} calls, medians; 1 torch thread; calls in {place}")
    print(f"{'call':>18} {'ms: default':>12} {'thresholds':>11} {'kept':>7} {'speed-up: thresholds':>21} {'kept':>6}"
          f" {'faults/call: default':>21} {'thresholds':>11} {'kept':>6}")
    for call in runs["default"][0]:
        ms = {m: statistics.median(r[call]["ms"] for r in runs[m]) for m in runs}
        faults = {m: statistics.median(r[call]["faults"] for r in runs[m]) for m in runs}
        print(f"{call:>18} {ms['default']:12.1f} {ms['thresholds']:11.1f} {ms['kept']:7.1f} "
              f"{ms['default'] / ms['thresholds']:20.2f}x {ms['default'] / ms['kept']:5.2f}x "
              f"{faults['default']:21.0f} {faults['thresholds']:11.0f} {faults['kept']:6.0f}")


if __name__ == "__main__":
    main()
