"""A probe of the allocator setting for tests/test_device.py (run in a fresh child process): minor page faults of
training steps of the book's Fashion-MNIST-sized CNN. No side effects on import."""

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
