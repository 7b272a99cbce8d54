"""leakage.device: the device choice and the allocator setting every task and notebook runs with."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from leakage.device import KEEP_FREED_MEMORY_ENV, keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A child process (a fresh allocator) that prints tests/page_faults.py's probe.
CHILD = """
import sys
sys.path.insert(0, {tests!r})
import page_faults
applied, faults = getattr(page_faults, sys.argv[2])(keep=sys.argv[1] == "keep")
print(applied, faults)
""".format(tests=str(Path(__file__).parent))


def page_faults(mode: str, probe: str = "training_page_faults") -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != KEEP_FREED_MEMORY_ENV}
    out = subprocess.run([sys.executable, "-c", CHILD, mode, probe], capture_output=True, text=True, check=True,
                         env=env)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_freed_tensors_are_reused_instead_of_faulted_in_again():
    applied, kept = page_faults("keep")
    _, default = page_faults("default")
    # glibc's default maps and unmaps the activations of every step, faulting their pages in again each time
    assert applied
    assert kept < default / 10, (default, kept)


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_worker_threads_heaps_stay_mapped():
    # a Dask task runs in a thread: its arena's extra heap was unmapped whenever it emptied (the top pad keeps it)
    applied, kept = page_faults("keep", "thread_page_faults")
    _, default = page_faults("default", "thread_page_faults")
    assert applied
    assert default > 50_000 and kept < default / 10, (default, kept)


def test_the_environment_can_turn_it_off(monkeypatch):
    monkeypatch.setenv(KEEP_FREED_MEMORY_ENV, "0")
    assert keep_freed_memory() is False


@pytest.mark.parametrize("limit", [0, -1, 2**31, 1.5, "1G"])
def test_a_limit_mallopt_cannot_take_is_refused(limit):
    with pytest.raises(ValueError, match="limit_bytes"):
        keep_freed_memory(limit)
