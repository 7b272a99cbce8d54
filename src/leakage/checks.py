"""Input checks shared by every public entry point: a bad value is rejected with an error that says what
was wrong and what is expected, before it can turn into a silently wrong number deep inside."""

from __future__ import annotations

import numpy as np
import torch


def check_finite(name: str, values: np.ndarray | torch.Tensor, *, allow_inf: bool = False) -> None:
    """Raise ``ValueError`` if ``values`` holds a NaN (or an infinity, unless ``allow_inf``).

    ``name`` says what the values are (e.g. ``"candidates"``, ``"scores"``); the message counts the bad
    entries and names the first one's flat index, so the caller can find it.
    """
    if isinstance(values, torch.Tensor):
        if not (values.is_floating_point() or values.is_complex()):
            return
        bad = torch.isnan(values) if allow_inf else ~torch.isfinite(values)
        count = int(bad.sum())
        first = int(bad.flatten().nonzero()[0, 0]) if count else -1
    else:
        array = np.asarray(values)
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating)):
            return
        bad = np.isnan(array) if allow_inf else ~np.isfinite(array)
        count = int(bad.sum())
        first = int(np.flatnonzero(bad)[0]) if count else -1
    if count:
        kind = "NaN" if allow_inf else "NaN or infinite"
        allowed = "finite or +/-inf" if allow_inf else "finite"
        raise ValueError(f"{name}: {count} value(s) are {kind} (the first at flat index {first}); "
                         f"every value must be {allowed}")


def check_images(name: str, x: torch.Tensor, *, ndim: int = 4) -> None:
    """Raise ``ValueError`` unless ``x`` is a float tensor of ``ndim`` dimensions (N, C, H, W), finite, in [0, 1]."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor (N, C, H, W) in [0, 1], got "
                         f"{type(x).__name__}{'' if not isinstance(x, torch.Tensor) else ' of ' + str(x.dtype)}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions (N, C, H, W), got shape {tuple(x.shape)}")
    check_finite(name, x)
    if len(x) and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")
