"""Probes of the allocator setting for tests/test_device.py (each run in a fresh child process): minor page faults of
training steps of the book's Fashion-MNIST-sized CNN, and of large blocks freed and allocated again in a thread (as
a Dask task's). No side effects on import."""

import resource


def training_page_faults(keep: bool, steps: int = 10) -> tuple[bool, int]:
    """(whether keep_freed_memory applied, minor page faults of ``steps`` training steps (batch 128, 1 thread) after
    2 to warm up). ``keep``: call keep_freed_memory first."""
    import torch
    import torch.nn.functional as F

    from leakage.device import keep_freed_memory
    from leakage.models.cnn import CNNConfig, TargetCNN

    torch.set_num_threads(1)
    applied = keep_freed_memory() if keep else False
    model = TargetCNN((1, 28, 28), 10, CNNConfig(width=16))
    optimizer = torch.optim.Adam(model.parameters())
    x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    step(), step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return applied, faults


def thread_page_faults(keep: bool, rounds: int = 10) -> tuple[bool, int]:
    """(whether keep_freed_memory applied, minor page faults of ``rounds`` 40 MB blocks allocated as torch allocates a
    tensor (``posix_memalign``, 64-byte alignment), written and freed in a thread while another 40 MB block lives,
    after 40 rounds to reach a steady state), as a Dask task's tensors are: a thread's glibc arena puts the second
    block in a heap of its own, which it unmaps when it empties unless the top pad keeps it."""
    import ctypes
    import threading

    from leakage.device import keep_freed_memory

    libc = ctypes.CDLL("libc.so.6")
    libc.posix_memalign.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    applied = keep_freed_memory() if keep else False
    size, counted = 40 << 20, []

    def block() -> ctypes.c_void_p:
        address = ctypes.c_void_p()
        assert libc.posix_memalign(ctypes.byref(address), 64, size) == 0
        libc.memset(address, 1, size)
        return address

    def work():
        held = block()
        for _ in range(40):
            libc.free(block())
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):
            libc.free(block())
        counted.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        libc.free(held)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return applied, counted[0]
