"""Shared fixtures: a deliberately overfit toy target on synthetic Gaussian-class images."""

import pytest
import torch

from leakage.data.splits import SplitConfig
from leakage.data.vision import VisionData
from leakage.device import keep_freed_memory
from leakage.experiments import targets
from leakage.models.cnn import CNNConfig
from leakage.store import Store
from leakage.train import TrainConfig

TOY_ARCH = CNNConfig(width=8, hidden=64)

keep_freed_memory()  # as the book's tasks and notebooks run (tests/test_device.py checks what it does)


def toy_data(n: int = 2400, classes: int = 10, noise: float = 0.35, seed: int = 0) -> VisionData:
    """Overlapping Gaussian classes of 1x8x8 images: a small training set is memorised, not generalised."""
    gen = torch.Generator().manual_seed(seed)
    means = torch.rand(classes, 1, 8, 8, generator=gen)
    y = torch.randint(0, classes, (n,), generator=gen)
    x = (means[y] + noise * torch.randn(n, 1, 8, 8, generator=gen)).clamp(0, 1)
    return VisionData("digits", (x * 255).round().to(torch.uint8), y, tuple(map(str, range(classes))), "toy")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread, torch's and BLAS' (and a busy machine makes two much slower)."""
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory) -> Store:
    return Store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def overfit_target(toy_store):
    """M-4 of the toy data (50 training samples), trained to memorise them (train acc ~1, test ~0.3)."""
    data = toy_data()
    original = targets.cached_data
    targets.cached_data = lambda name: data  # the toy data stands in for 'digits' (same Table 7 column)
    try:
        config = targets.TargetConfig(split=SplitConfig("digits", 0.1, 0), model_index=4, arch=TOY_ARCH,
                                      train=TrainConfig(epochs=30, min_steps=300))
        yield targets.train_target(config, toy_store)
    finally:
        targets.cached_data = original
