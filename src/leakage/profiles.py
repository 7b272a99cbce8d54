"""Profiles: named sets of chapter parameters. A profile sets parameters only; the code path is the same.

Each chapter's parameters class (:mod:`leakage.experiments.parameters`) holds the smoke profile's values as its
defaults and what the other profiles change (``PROFILE_CHANGES``); :mod:`leakage.parameters` resolves them.

- ``smoke``: CI; the whole book in minutes on 2 CPU cores; tiny, on data that ships with scikit-learn.
- ``default``: a CPU laptop, about 70 minutes on 2 cores (see the README); real data available offline
  (Fashion-MNIST from Debian's ``dataset-fashion-mnist``), sizes that carry the papers' effects.
- ``paper``: the papers' own data sets, sizes, epochs and query budgets; for a GPU, with downloaded data.
"""

from __future__ import annotations


PROFILES: tuple[str, ...] = ("smoke", "default", "paper")

# What each profile costs, measured with the command in the README (see its "Profiles" section).
PROFILE_COST = {
    "smoke": "a few minutes on 2 CPU cores",
    "default": "about 70 minutes on 2 CPU cores (measured from a fresh clone, set-up included; see the README)",
    "paper": "hours on one GPU; needs the downloaded data sets",
}


class UnknownProfileError(ValueError):
    """A profile name that is not one of PROFILES."""


def check_profile(profile: str) -> str:
    """``profile`` itself, or a clear error listing the valid names."""
    if profile not in PROFILES:
        raise UnknownProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile
