"""The one device helper: CUDA when present, else CPU (nothing in the package assumes a GPU); and the one owner of
a process's CPU threads and allocator setting (:func:`apply_threads`, :func:`thread_env`)."""

from __future__ import annotations

import os

import torch


def get_device(prefer: str | None = None) -> torch.device:
    """The device to compute on: ``prefer`` or ``$LEAKAGE_DEVICE`` if set, else CUDA when available, else CPU."""
    choice = prefer or os.environ.get("LEAKAGE_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} was asked for, but CUDA is not available on this machine")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe_device(device: torch.device) -> str:
    """A one-line human description, e.g. 'cuda:0 (NVIDIA H100)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


#: glibc's ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: The largest heap of a thread's arena in 64-bit glibc (``HEAP_MAX_SIZE``, malloc/arena.c): a top pad this large
#: keeps ``heap_trim`` from unmapping a thread arena's heap when it empties.
_THREAD_HEAP_BYTES = 64 << 20
#: Environment variable that turns :func:`keep_freed_memory` off (``0``) for a process started with it.
KEEP_FREED_MEMORY_ENV = "LEAKAGE_KEEP_FREED_MEMORY"


def keep_freed_memory(limit_bytes: int = 1 << 30) -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back to the kernel at once.

    With glibc's defaults every tensor above its mmap threshold is a fresh ``mmap`` and ``munmap``, so each
    training step page-faults in its activations and gradients anew: on the book's CNNs a third of the time of a
    step went to the kernel zeroing pages (DP-SGD's per-sample gradients, tens of MB a step, ran at half speed).
    This raises the mmap and trim thresholds to ``limit_bytes`` (1 GiB), so allocations below it come from the
    heap and up to that much freed memory stays in the process. Numbers are unchanged; the resident memory of a
    process can stay up to ``limit_bytes`` above its need. Measured by ``benchmarks/bench_allocator.py``.

    Applies to the calling process from now on (no restart needed): :func:`apply_threads` calls it, which the
    plan's Dask tasks, the notebooks' kernels and ``python -m leakage`` call. A Dask task runs in a worker thread, whose glibc arena unmaps a
    heap (at most 64 MB) as soon as it empties, whatever the thresholds: a default target's training in a thread
    took 2-7 million page faults and 5-17 s of kernel time. So it also sets the top pad (``M_TOP_PAD``) to 64 MB,
    which glibc's ``heap_trim`` reads as "keep this much": the heaps stay mapped (90,000 faults, 0.3 s). The
    main arena then grows ``brk`` by 64 MB at a time (address space only, not resident until used).
    Returns True when applied; False where the C library is not glibc (macOS, musl: nothing changes) or when
    ``$LEAKAGE_KEEP_FREED_MEMORY`` is ``0``.
    Raises ``ValueError`` for a limit that is not a positive int below 2**31.
    """
    if not isinstance(limit_bytes, int) or not 0 < limit_bytes < 2**31:
        raise ValueError(f"limit_bytes must be a positive int below 2**31 (mallopt takes a C int), got {limit_bytes!r}")
    if os.environ.get(KEEP_FREED_MEMORY_ENV, "1") == "0":
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it: musl's mallopt is a no-op)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return (bool(mallopt(_M_MMAP_THRESHOLD, limit_bytes)) and bool(mallopt(_M_TRIM_THRESHOLD, limit_bytes))
            and bool(mallopt(_M_TOP_PAD, _THREAD_HEAP_BYTES)))


#: The environment variables that fix the thread pools of the libraries below torch and NumPy (OpenMP, MKL,
#: OpenBLAS). They are read when a library loads, so they matter for processes started after they are set.
THREAD_ENV_VARIABLES: tuple[str, ...] = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """The environment a process to be started needs to run with ``threads`` CPU threads: each of
    :data:`THREAD_ENV_VARIABLES` -> ``str(threads)``, e.g. ``{"OMP_NUM_THREADS": "2", ...}``.

    For a process this one spawns (a Dask worker, a notebook's kernel); the process itself then calls
    :func:`apply_threads`. Raises ``ValueError`` when ``threads`` is not an int of at least 1.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int of at least 1, got {threads!r}")
    return dict.fromkeys(THREAD_ENV_VARIABLES, str(threads))


def apply_threads(threads: int | None = None) -> dict[str, str]:
    """Fix this process's CPU threads and allocator: the one place that does (every plan task, notebook kernel
    and ``python -m leakage`` calls it).

    With ``threads``: ``torch.set_num_threads(threads)`` (torch's CPU sums depend on it, so a fixed count gives
    the same digits) and :func:`thread_env` set in ``os.environ`` (inherited by the processes this one starts).
    With None: the thread settings stay as they are (torch's default, the environment's). Either way
    :func:`keep_freed_memory` (glibc keeps freed memory for reuse; ``$LEAKAGE_KEEP_FREED_MEMORY=0`` turns it off).

    Returns the environment variables it set (``{}`` for None). Raises ``ValueError`` for a count below 1.
    """
    env = {} if threads is None else thread_env(threads)
    if env:
        torch.set_num_threads(threads)
        os.environ.update(env)
    keep_freed_memory()
    return env
