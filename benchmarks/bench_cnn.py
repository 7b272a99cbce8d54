"""Benchmark: the target CNN's memory layout, channels-last (the model's default) against the contiguous
(NCHW) layout, in the same run: one training step (forward, backward, Adam) of a batch of 128 and a
no-grad forward of 1, 100 and 1,024 inputs (the sizes of a label query, a HopSkipJump batch and a
prediction batch), for the book's input shapes, and the largest difference of the logits. The DP-SGD step
(opacus, per-sample gradients, clipping and noise) compares the way it ran before (contiguous layout, opacus'
convolution sampler) with the way it runs now (channels-last, ``leakage.defenses.dp``'s layout-safe sampler).

Prints milliseconds per call for both layouts and the speed-up (contiguous / channels-last).

    python benchmarks/bench_cnn.py                 # 1 torch thread, as the plan's tasks run
    python benchmarks/bench_cnn.py --threads 2 --width 32
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from opacus.grad_sample import GradSampleModule
from opacus.grad_sample.conv import compute_conv_grad_sample

from leakage.defenses.dp import DPSGD, use_layout_safe_conv_grad_sampler
from leakage.models.cnn import CNNConfig, TargetCNN
from leakage.seed import seed_everything

SHAPES = {"digits": (1, 8, 8), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def per_call(fn, seconds: float = 1.0) -> float:
    """Milliseconds per call of ``fn`` (after 3 warm-up calls, repeated for about ``seconds``)."""
    for _ in range(3):
        fn()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or calls < 3:
        fn()
        calls += 1
    return 1e3 * elapsed / calls


def layouts(shape: tuple[int, int, int], width: int) -> dict[str, TargetCNN]:
    """The same weights in both layouts."""
    seed_everything(0)
    last = TargetCNN(shape, 10, CNNConfig(width=width))
    contiguous = TargetCNN(shape, 10, CNNConfig(width=width)).to(memory_format=torch.contiguous_format)
    contiguous.load_state_dict(last.state_dict())
    assert last.memory_format() == torch.channels_last and contiguous.memory_format() == torch.contiguous_format
    return {"contiguous": contiguous, "channels-last": last}


def dp_step(model: TargetCNN, x: torch.Tensor, y: torch.Tensor, seconds: float) -> float:
    """Milliseconds per DP-SGD step (batch of 128, noise 1, clip 1) on a copy of ``model``, with the convolution
    sampler of the model's layout: opacus' own for the contiguous one (as before), the layout-safe one else."""
    copy = TargetCNN(tuple(x.shape[1:]), 10, CNNConfig(width=model.features[0].out_channels))
    copy.load_state_dict(model.state_dict())
    copy.to(memory_format=model.memory_format())
    hook = DPSGD(noise=1.0, target_epsilon=0.0, clip=1.0, epochs=1, seed=0)
    wrapped, optimizer = hook.prepare(copy, torch.optim.Adam(copy.parameters(), lr=1e-3), len(x), 128)
    if model.memory_format() == torch.contiguous_format:
        GradSampleModule.GRAD_SAMPLERS[torch.nn.Conv2d] = compute_conv_grad_sample

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(wrapped(x[:128]), y).backward()
        optimizer.step()

    try:
        return per_call(step, seconds)
    finally:
        hook.finish(copy)
        use_layout_safe_conv_grad_sampler()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=16, help="the CNN's first conv width (default profile: 16)")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), width {args.width}")
    print(f"{'input':>14} {'call':>14} {'contiguous ms':>14} {'chan.-last ms':>14} {'speed-up':>9}")
    for name, shape in SHAPES.items():
        models = layouts(shape, args.width)
        x = torch.rand(1024, *shape, generator=torch.Generator().manual_seed(0))
        y = torch.randint(0, 10, (128,), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            gap = (models["contiguous"].eval()(x[:100]) - models["channels-last"].eval()(x[:100])).abs().max().item()
        rows: dict[str, dict[str, float]] = {}
        for layout, model in models.items():
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step(model=model, optimizer=optimizer) -> None:
                model.train()
                optimizer.zero_grad(set_to_none=True)
                F.cross_entropy(model(x[:128]), y).backward()
                optimizer.step()

            rows[layout] = {"train step (128)": per_call(step, args.seconds), "DP-SGD step": dp_step(model, x, y,
                                                                                                      args.seconds)}
            model.eval()
            for n in (1, 100, 1024):
                with torch.no_grad():
                    rows[layout][f"forward ({n})"] = per_call(lambda n=n, model=model: model(x[:n]), args.seconds)
        for call in rows["contiguous"]:
            a, b = rows["contiguous"][call], rows["channels-last"][call]
            print(f"{name:>14} {call:>14} {a:14.2f} {b:14.2f} {a / b:8.2f}x")
        print(f"{name:>14} largest logit difference between the layouts (100 inputs): {gap:.2e}")


if __name__ == "__main__":
    main()
