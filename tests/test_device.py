"""leakage.device: the device choice, and the threads and allocator setting every task and notebook runs with."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from leakage import device
from leakage.device import KEEP_FREED_MEMORY_ENV, THREAD_ENV_VARIABLES, apply_threads, keep_freed_memory, thread_env

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


def test_thread_env_names_every_library_pool():
    assert thread_env(3) == {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3"}
    assert tuple(thread_env(1)) == THREAD_ENV_VARIABLES


@pytest.mark.parametrize("threads", [0, -2, 1.0, "2", True])
def test_a_thread_count_below_one_or_not_an_int_is_refused(threads):
    with pytest.raises(ValueError, match="threads must be an int of at least 1"):
        thread_env(threads)
    with pytest.raises(ValueError, match="threads must be an int of at least 1"):
        apply_threads(threads)


@pytest.fixture
def allocator_calls(monkeypatch):
    """The calls apply_threads makes to keep_freed_memory (recorded, not applied); the process's torch threads and
    thread environment restored after the test."""
    calls = []
    monkeypatch.setattr(device, "keep_freed_memory", lambda: calls.append(True) or True)
    for name in THREAD_ENV_VARIABLES:
        monkeypatch.setenv(name, os.environ.get(name, "1"))  # undone after the test, whatever apply_threads sets
    threads = torch.get_num_threads()
    yield calls
    torch.set_num_threads(threads)


def test_apply_threads_fixes_torch_the_environment_and_the_allocator(allocator_calls):
    assert apply_threads(2) == thread_env(2)
    assert torch.get_num_threads() == 2
    assert all(os.environ[name] == "2" for name in THREAD_ENV_VARIABLES)
    assert allocator_calls == [True]


def test_apply_threads_without_a_count_only_sets_the_allocator(allocator_calls):
    torch.set_num_threads(1)
    before = {name: os.environ[name] for name in THREAD_ENV_VARIABLES}
    assert apply_threads() == {}
    assert torch.get_num_threads() == 1 and before == {name: os.environ[name] for name in THREAD_ENV_VARIABLES}
    assert allocator_calls == [True]


def test_a_process_started_with_thread_env_runs_with_its_threads():
    env = {**os.environ, **thread_env(2)}
    code = "import os, torch; print(os.environ['OPENBLAS_NUM_THREADS'], torch.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["2", "2"]
