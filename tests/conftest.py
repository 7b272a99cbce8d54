"""Shared fixtures: a deliberately overfit toy target on synthetic Gaussian-class images."""

import os
import pickle

import pytest
import torch

from leakage.data import vision as vision_data
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
    original = vision_data.cached_data
    vision_data.cached_data = lambda name: data  # the toy data stands in for 'digits' (same Table 7 column)
    try:
        config = targets.TargetConfig(split=SplitConfig("digits", 0.1, 0), model_index=4, arch=TOY_ARCH,
                                      train=TrainConfig(epochs=30, min_steps=300))
        yield targets.train_target(config, toy_store)
    finally:
        vision_data.cached_data = original


def as_user(uid, gid, task, *args):
    """Run ``task(*args)`` in a forked child as user ``uid`` / group ``gid``; its result, or the exception it
    raised, comes back (pickled through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report, exit without running the parent's cleanup
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            try:
                out = ("ok", task(*args))
            except Exception as err:  # noqa: BLE001 (sent back to the test)
                out = ("error", f"{type(err).__name__}: {err}")
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(out, pipe)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


def tiny_bert(folder, texts):
    """A tiny random BertForMaskedLM (eval mode) and its WordPiece tokenizer whose vocabulary is the words of
    ``texts``, the vocabulary file written in ``folder``."""
    import re

    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    words = sorted({w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t)})
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "##s", "##ed"] + words))
    tokenizer = BertTokenizer(str(vocab))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    return BertForMaskedLM(config).eval(), tokenizer


class Brightness(torch.nn.Module):
    """Three classes by the mean pixel value m of a 1x8x8 image: 0 below 0.35, 1 up to 0.65, 2 above.

    Every pixel moves m alike, so the L2 distance from x to the nearest other class is 8 * |m - 0.35 or 0.65|.
    """

    def __init__(self):
        super().__init__()
        self.centres = torch.nn.Parameter(torch.tensor([0.2, 0.5, 0.8]), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(x.flatten(1).mean(1, keepdim=True) - self.centres).abs()


class RoughIsClassZero(torch.nn.Module):
    """:class:`Brightness`, except that every input whose pixel standard deviation is above ``std_above`` is class 0
    (uniform noise has 0.29), like a Fashion-MNIST target that labels all noise as one class."""

    def __init__(self, std_above: float):
        super().__init__()
        self.std_above = std_above
        self.inner = Brightness()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rough = x.flatten(1).std(1) > self.std_above
        return torch.where(rough[:, None], torch.tensor([1.0, 0.0, 0.0]), self.inner(x))


def brightness_images(levels: torch.Tensor, seed: int) -> torch.Tensor:
    """Smooth 1x8x8 images of mean exactly ``levels`` (n,) (a faint zero-mean pattern, std 0.03)."""
    pattern = torch.randn(len(levels), 64, generator=torch.Generator().manual_seed(seed))
    pattern = (pattern - pattern.mean(1, keepdim=True)) / pattern.std(1, keepdim=True)
    return (levels[:, None] + 0.03 * pattern).view(-1, 1, 8, 8)
