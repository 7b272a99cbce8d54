"""leakage.device: the device choice and the allocator setting every task and notebook runs with."""

import os
import platform
import subprocess
import sys

import pytest

from leakage.device import KEEP_FREED_MEMORY_ENV, keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A child process that runs 10 training steps of the book's CNN (Fashion-MNIST-sized batches of 128, after 2 to
# warm up) and prints whether the setting was applied and its minor page faults during the 10 steps.
CHILD = """
import resource, sys, torch
import torch.nn.functional as F
from leakage.device import keep_freed_memory
from leakage.models.cnn import CNNConfig, TargetCNN
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
torch.set_num_threads(1)
model = TargetCNN((1, 28, 28), 10, CNNConfig(width=16))
optimizer = torch.optim.Adam(model.parameters())
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
def step():
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_ENV}
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True, env=env)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_tensors_are_reused_instead_of_faulted_in_again():
    applied, kept = page_faults("keep")
    _, default = page_faults("default")
    # glibc's default maps and unmaps the activations of every step, faulting their pages in again each time
    assert applied
    assert kept < default / 10, (default, kept)


def test_the_environment_can_turn_it_off(monkeypatch):
    monkeypatch.setenv(KEEP_FREED_MEMORY_ENV, "0")
    assert keep_freed_memory() is False


@pytest.mark.parametrize("limit", [0, -1, 2**31, 1.5, "1G"])
def test_a_limit_mallopt_cannot_take_is_refused(limit):
    with pytest.raises(ValueError, match="limit_bytes"):
        keep_freed_memory(limit)
