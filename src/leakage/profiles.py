"""Profiles: the parameters each notebook gets. A profile sets parameters only; the code path is the same.

- ``smoke``: CI; the whole book in minutes on 2 CPU cores; tiny, on data that ships with scikit-learn.
- ``default``: a CPU laptop, under 45 minutes; real data available offline (Fashion-MNIST from
  Debian's ``dataset-fashion-mnist``), sizes that carry the papers' effects.
- ``paper``: the papers' own data sets, sizes, epochs and query budgets; for a GPU, with downloaded data.
"""

from __future__ import annotations

from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "default", "paper")

# The target models M-0..M-5 every label-only notebook attacks (the same parameters give the same,
# cached, targets).
TARGETS: dict[str, dict[str, Any]] = {
    "smoke": {"datasets": ["digits"], "scale": 0.1, "epochs": 30, "min_steps": 300, "width": 16, "seed": 0},
    "default": {"datasets": ["fashion-mnist"], "scale": 1.0, "epochs": 50, "min_steps": 1000, "width": 16,
                "seed": 0},
    "paper": {"datasets": ["cifar10", "cifar100", "gtsrb", "lfw"], "scale": 1.0, "epochs": 200, "min_steps": 0,
              "width": 64, "seed": 0},
}

# Notebook name -> profile -> parameters injected into its `parameters` cell (besides `profile`).
NOTEBOOK_PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "lz_targets": {profile: dict(TARGETS[profile]) for profile in PROFILES},
    "lz_transfer": {
        "smoke": {**TARGETS["smoke"], "shadow_size": 0, "shadow_epochs": 30, "shadow_min_steps": 300,
                  "grid_sizes": [300, 700, 1397], "grid_widths": [4, 8, 16], "grid_target": 0, "max_per_side": 0,
                  "n_boot": 200},
        "default": {**TARGETS["default"], "shadow_size": 5000, "shadow_epochs": 20, "shadow_min_steps": 500,
                    "grid_sizes": [1250, 2500, 5000], "grid_widths": [8, 16, 24], "grid_target": 0,
                    "max_per_side": 0, "n_boot": 1000},
        "paper": {**TARGETS["paper"], "shadow_size": 0, "shadow_epochs": 200, "shadow_min_steps": 0,
                  "grid_sizes": [5000, 15000, 25000, 35000, 42000], "grid_widths": [32, 48, 64, 80],
                  "grid_target": 0, "max_per_side": 0, "n_boot": 1000},
    },
    "intro": {profile: {} for profile in PROFILES},
    "scorecard": {profile: {} for profile in PROFILES},
}

# What each profile costs, measured with the command in the README (see its "Profiles" section).
PROFILE_COST = {
    "smoke": "a few minutes on 2 CPU cores",
    "default": "under 45 minutes on 2 CPU cores",
    "paper": "hours on one GPU; needs the downloaded data sets",
}


class UnknownProfileError(ValueError):
    """A profile name that is not one of PROFILES."""


def check_profile(profile: str) -> str:
    """``profile`` itself, or a clear error listing the valid names."""
    if profile not in PROFILES:
        raise UnknownProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile


def notebook_parameters(notebook: str, profile: str) -> dict[str, Any]:
    """The parameters ``notebook`` gets under ``profile``, ``profile`` itself included."""
    check_profile(profile)
    if notebook not in NOTEBOOK_PARAMETERS:
        raise ValueError(f"unknown notebook {notebook!r}; known: {', '.join(NOTEBOOK_PARAMETERS)}")
    return {"profile": profile, **NOTEBOOK_PARAMETERS[notebook][profile]}
