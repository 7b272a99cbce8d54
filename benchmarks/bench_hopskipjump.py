"""Benchmark: our batched HopSkipJump vs ART's (adversarial-robustness-toolbox 1.20.1), same target,
same candidates, same HopSkipJump settings and (about) the same queries per candidate.

Prints label queries per second of both, their ratio, queries spent per candidate and both attack
AUCs (score = L2 perturbation; misclassified candidates 0; candidates never flipped rank highest,
the same rule for both); also the target's raw forward rate (inputs per second through ``model(x)``
under ``torch.no_grad``, replaying the batch sizes of our attack's forward passes, in the same run),
our queries/s as a fraction of it, and our seconds per candidate. Without ART installed it measures
ours only and says so.

    python benchmarks/bench_hopskipjump.py                        # digits CNN, CPU, 1 thread
    python benchmarks/bench_hopskipjump.py --target synthetic-cifar --per-side 600 --art-candidates 100

``--target digits`` attacks M-``index`` of the smoke profile's digits targets, ``fashion-mnist`` of the
default profile's (trained and cached by the store, like the book's); ``synthetic-cifar`` trains a
CIFAR-sized CNN (3x32x32 input, 10 classes) on synthetic Gaussian-class images, since CIFAR-10
itself cannot be downloaded here.
ART works one candidate at a time, so on a large candidate set ``--art-candidates`` times ART on a
random subset: queries per second is a rate; the AUCs are then both reported on that subset too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from leakage.attacks import LabelOnlyOracle
from leakage.attacks.boundary import BoundaryAttack
from leakage.data.splits import membership_candidates
from leakage.device import describe_device, get_device
from leakage.metrics import roc_auc
from leakage.models.cnn import CNNConfig, TargetCNN
from leakage.seed import derive_seed, seed_everything
from leakage.train import TrainConfig, accuracy, fit


def book_target(dataset: str, index: int, device: torch.device):
    """(model, members x, members y, non-members x, non-members y, description) of the book's M-index:
    digits as in the smoke profile, fashion-mnist as in the default profile (trained once, cached by the store)."""
    from leakage.experiments.targets import paper_targets, train_target
    from leakage.chapters import chapter_parameters

    profile = "smoke" if dataset == "digits" else "default"
    p = chapter_parameters("lz_targets", profile)
    config = paper_targets(dataset, scale=p.scale, epochs=p.epochs, min_steps=p.min_steps,
                           width=p.width, seed=p.seed)[index]
    target = train_target(config)
    members, test = torch.as_tensor(target.members), torch.as_tensor(target.splits.test)
    data = target.data
    return (target.model.to(device).eval(), data.images(members), data.y[members], data.images(test), data.y[test],
            f"{dataset} M-{index} ({profile} profile, width {p.width})")


def synthetic_cifar_target(members: int, device: torch.device, epochs: int, width: int, signal: float,
                           min_steps: int = 1000):
    """A CIFAR-sized CNN memorising ``members`` synthetic 3x32x32 images of 10 overlapping Gaussian classes
    (class means 0.5 + signal * smooth noise, pixel noise 0.35: small ``signal`` = overlapping classes)."""
    gen = torch.Generator().manual_seed(0)
    smooth = F.interpolate(torch.rand(10, 3, 8, 8, generator=gen), size=(32, 32), mode="bilinear", align_corners=False)
    means = 0.5 + signal * (smooth - 0.5)
    n = 2 * members
    y = torch.randint(0, 10, (n,), generator=gen)
    x = (means[y] + 0.35 * torch.randn(n, 3, 32, 32, generator=gen)).clamp(0, 1)
    seed_everything(0)
    torch.manual_seed(derive_seed(0, "bench-init"))
    model = TargetCNN((3, 32, 32), 10, CNNConfig(width=width)).to(device)
    fit(model, x[:members].to(device), y[:members].to(device), TrainConfig(epochs=epochs, min_steps=min_steps), seed=0,
        desc="target")
    model.eval()
    return (model, x[:members], y[:members], x[members:], y[members:],
            f"synthetic CIFAR-sized CNN (3x32x32, width {width}, {members} members)")


def iterations_for(budget: int, init_eval: int, max_eval: int, dim: int) -> int:
    """HopSkipJump iterations whose planned queries (ART's schedule) add up to about ``budget`` per candidate."""
    bisect = math.ceil(math.log2(math.sqrt(dim) / 0.01)) + 1
    spent, iterations = 1 + 2 + 10, 0  # label check, a couple of random starts, the initial binary search
    while True:
        nxt = spent + bisect + min(int(init_eval * math.sqrt(iterations + 1)), max_eval) + 2
        if nxt > budget:
            return max(1, iterations)
        spent, iterations = nxt, iterations + 1


def ours(model, x, y, budget: int, iterations: int, init_eval: int, max_eval: int, seed: int) -> dict:
    """Our batched HopSkipJump through a counting, budget-enforcing oracle."""
    device = next(model.parameters()).device
    config = BoundaryAttack.Config(budget=budget, max_iter=iterations, init_eval=init_eval, max_eval=max_eval,
                                   checkpoints=(budget,))
    oracle = LabelOnlyOracle(model, num_owners=len(x), budget=budget)
    x, y = x.to(device), y.to(device)
    sizes: list[int] = []  # the batch of every forward pass the attack makes (after the oracle's chunking)
    hook = model.register_forward_pre_hook(lambda module, inputs: sizes.append(len(inputs[0])))
    try:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = BoundaryAttack(config).search(oracle, x, y, seed)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    finally:
        hook.remove()
    l2 = result.norms["l2"].copy()
    return {"seconds": seconds, "queries": int(oracle.queries), "per_candidate": oracle.per_owner.numpy(),
            "l2": l2, "flipped": result.flipped, "model_calls": result.model_calls, "batch_sizes": np.array(sizes)}


def forward_rate(model, batch_sizes: np.ndarray, input_shape: tuple[int, ...], *, max_calls: int = 2000,
                 seed: int = 0) -> dict:
    """The target's raw forward rate: inputs per second through ``model(x)`` under ``torch.no_grad``, replaying
    the batch sizes the attack's forward passes had (a uniform random subset of ``max_calls`` of them when it
    made more; the rate is total inputs / total seconds), on uniform random inputs in [0, 1]."""
    device = next(model.parameters()).device
    sizes = np.asarray(batch_sizes, np.int64)
    if len(sizes) > max_calls:
        sizes = np.random.default_rng(seed).choice(sizes, max_calls, replace=False)
    x = torch.rand((int(sizes.max()), *input_shape), generator=torch.Generator().manual_seed(seed)).to(device)
    with torch.no_grad():
        model(x[:int(sizes[0])])  # warm-up (allocator, kernels), not timed
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for n in sizes:
            model(x[:int(n)])
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {"inputs_per_second": float(sizes.sum() / seconds), "calls_replayed": len(sizes),
            "inputs_replayed": int(sizes.sum()), "seconds": seconds}


def art(model, x, y, iterations: int, init_eval: int, max_eval: int, init_size: int) -> dict | None:
    """ART's HopSkipJump, one candidate at a time (as ART works), queries counted at the model."""
    try:
        from art.attacks.evasion import HopSkipJump
        from art.estimators.classification import PyTorchClassifier
    except ImportError:
        return None
    device = next(model.parameters()).device
    count = [0]

    class Counting(torch.nn.Module):
        """Counts inputs; casts to float32 (ART 1.20.1 with NumPy 2 sends float64 from its binary search)."""

        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            count[0] += len(inputs)
            return self.inner(inputs.float())

    classifier = PyTorchClassifier(Counting(model), loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                                   nb_classes=int(model.head.out_features), clip_values=(0.0, 1.0),
                                   device_type="gpu" if device.type == "cuda" else "cpu")
    attack = HopSkipJump(classifier, max_iter=iterations, max_eval=max_eval, init_eval=init_eval,
                         init_size=init_size, verbose=False)
    xs = x.numpy().astype(np.float32)
    l2 = np.zeros(len(xs))
    adversarial = xs.copy()
    np.random.seed(0)
    start = time.perf_counter()
    labels = classifier.predict(xs).argmax(1)  # the label check: one query per candidate, as ours
    correct = labels == y.numpy()
    per_candidate = np.ones(len(xs), np.int64)
    for i in np.flatnonzero(correct):  # ART attacks one candidate at a time; one call each gives exact counts
        before = count[0]
        adversarial[i] = attack.generate(xs[i:i + 1])[0]
        per_candidate[i] += count[0] - before
    seconds = time.perf_counter() - start
    queries = count[0]
    flipped = classifier.predict(adversarial).argmax(1) != y.numpy()  # checked after timing, not counted
    l2[correct] = np.linalg.norm((adversarial - xs).reshape(len(xs), -1), axis=1)[correct]
    return {"seconds": seconds, "queries": int(queries), "per_candidate": per_candidate, "l2": l2,
            "flipped": flipped}


def scores(run: dict) -> np.ndarray:
    """L2 perturbation; never-flipped candidates rank above every flipped one (the same rule for both)."""
    s = run["l2"].astype(np.float64).copy()
    s[~run["flipped"]] = s[run["flipped"]].max(initial=0.0) + 1.0 + s[~run["flipped"]]
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("digits", "fashion-mnist", "synthetic-cifar"), default="digits")
    parser.add_argument("--index", type=int, default=1, help="digits / fashion-mnist: which M-i (default M-1)")
    parser.add_argument("--members", type=int, default=1000, help="synthetic-cifar: training set size")
    parser.add_argument("--epochs", type=int, default=40, help="synthetic-cifar: training epochs")
    parser.add_argument("--width", type=int, default=32, help="synthetic-cifar: CNN width")
    parser.add_argument("--min-steps", type=int, default=1000,
                        help="synthetic-cifar: at least this many training steps")
    parser.add_argument("--signal", type=float, default=0.15, help="synthetic-cifar: class separation (small = "
                                                                    "overlapping classes, an overfit target)")
    parser.add_argument("--per-side", type=int, default=100, help="members and non-members attacked, each")
    parser.add_argument("--budget", type=int, default=1000, help="queries per candidate")
    parser.add_argument("--init-eval", type=int, default=100)
    parser.add_argument("--max-eval", type=int, default=10000)
    parser.add_argument("--init-size", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: leakage.device.get_device())")
    parser.add_argument("--art-candidates", type=int, default=0, help="time ART on this many random candidates "
                                                                      "(0 = all)")
    parser.add_argument("--skip-art", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = get_device(args.device)
    if args.target in ("digits", "fashion-mnist"):
        model, xm, ym, xn, yn, what = book_target(args.target, args.index, device)
    else:
        model, xm, ym, xn, yn, what = synthetic_cifar_target(args.members, device, args.epochs, args.width, args.signal,
                                                               args.min_steps)
    pool_x, pool_y = torch.cat([xm, xn]), torch.cat([ym, yn])
    index, is_member = membership_candidates(np.arange(len(xm)), np.arange(len(xm), len(pool_x)), 0,
                                             args.per_side)
    x, y = pool_x[torch.as_tensor(index)], pool_y[torch.as_tensor(index)]
    dim = int(np.prod(x.shape[1:]))
    iterations = iterations_for(args.budget, args.init_eval, args.max_eval, dim)
    print(f"target: {what}; train acc {accuracy(model, xm.to(device), ym.to(device)):.3f}, "
          f"test acc {accuracy(model, xn.to(device), yn.to(device)):.3f}")
    print(f"device: {describe_device(device)}; {len(x)} candidates ({is_member.sum()} members); budget "
          f"{args.budget} queries per candidate; HopSkipJump max_iter {iterations}, init_eval {args.init_eval}, "
          f"max_eval {args.max_eval}, init_size {args.init_size}")

    mine = ours(model, x, y, args.budget, iterations, args.init_eval, args.max_eval, seed=0)
    out = {"target": what, "device": describe_device(device), "candidates": len(x), "budget": args.budget,
           "max_iter": iterations,
           "ours": {"queries_per_second": mine["queries"] / mine["seconds"], "seconds": mine["seconds"],
                    "mean_queries": float(mine["per_candidate"].mean()),
                    "max_queries": int(mine["per_candidate"].max()), "model_calls": mine["model_calls"],
                    "auc": roc_auc(scores(mine), is_member), "flipped": float(mine["flipped"].mean())}}
    print(f"ours: {out['ours']['queries_per_second']:,.0f} queries/s ({mine['queries']:,} queries in "
          f"{mine['seconds']:.2f} s, {mine['model_calls']} oracle calls); per candidate mean "
          f"{out['ours']['mean_queries']:.0f}, max {out['ours']['max_queries']}; AUC {out['ours']['auc']:.4f}")
    sizes = mine["batch_sizes"]
    raw = forward_rate(model, sizes, tuple(x.shape[1:]))
    out["forward"] = {**raw, "attack_forward_calls": len(sizes), "attack_inputs": int(sizes.sum()),
                      "median_batch": float(np.median(sizes)), "max_batch": int(sizes.max()),
                      "ours_fraction": out["ours"]["queries_per_second"] / raw["inputs_per_second"]}
    out["ours"]["seconds_per_candidate"] = mine["seconds"] / len(x)
    f = out["forward"]
    print(f"raw forward (model(x) under no_grad, the attack's batch sizes: {f['attack_forward_calls']:,} calls, "
          f"median batch {f['median_batch']:.0f}, max {f['max_batch']}; {f['calls_replayed']:,} replayed): "
          f"{f['inputs_per_second']:,.0f} inputs/s; ours reaches {f['ours_fraction']:.1%} of it")
    print(f"ours: {out['ours']['seconds_per_candidate']:.3f} s per candidate ({len(x)} candidates batched, budget "
          f"{args.budget})")

    result = None
    if not args.skip_art:
        subset = np.arange(len(x))
        if args.art_candidates and args.art_candidates < len(x):
            subset = np.sort(np.random.default_rng(0).choice(len(x), args.art_candidates, replace=False))
        if is_member[subset].all() or not is_member[subset].any():
            subset = np.arange(len(x))
        result = art(model, x[torch.as_tensor(subset)].cpu(), y[torch.as_tensor(subset)].cpu(), iterations,
                     args.init_eval, args.max_eval, args.init_size)
    if result is None:
        print("ART: not measured (" + ("--skip-art" if args.skip_art else
              "adversarial-robustness-toolbox is not installed: pip install adversarial-robustness-toolbox==1.20.1 "
              "packaging") + ")")
    else:
        import art as art_package

        member_sub = is_member[subset]
        ours_sub = {k: v[subset] for k, v in mine.items() if isinstance(v, np.ndarray)}
        out["art"] = {"version": art_package.__version__, "candidates": len(subset),
                      "queries_per_second": result["queries"] / result["seconds"], "seconds": result["seconds"],
                      "mean_queries": float(result["per_candidate"].mean()),
                      "max_queries": int(result["per_candidate"].max()),
                      "auc": roc_auc(scores(result), member_sub), "flipped": float(result["flipped"].mean()),
                      "ours_auc_same_candidates": roc_auc(scores(ours_sub), member_sub)}
        out["speedup"] = out["ours"]["queries_per_second"] / out["art"]["queries_per_second"]
        a = out["art"]
        print(f"ART {a['version']}: {a['queries_per_second']:,.0f} queries/s ({result['queries']:,} queries in "
              f"{a['seconds']:.2f} s on {len(subset)} candidates); per candidate mean {a['mean_queries']:.0f}, max "
              f"{a['max_queries']}; AUC {a['auc']:.4f} (ours on the same candidates: "
              f"{a['ours_auc_same_candidates']:.4f})")
        print(f"speed-up (queries/s, ours / ART): {out['speedup']:.1f}x; AUC difference (ours - ART, same "
              f"candidates): {a['ours_auc_same_candidates'] - a['auc']:+.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
