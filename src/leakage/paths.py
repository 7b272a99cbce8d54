"""Where things live: the project root, the results folder and the artefact store."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The repository root when running from a checkout (the folder holding ``pyproject.toml``), else the cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def results_root() -> Path:
    """``$LEAKAGE_RESULTS`` if set, else ``<project root>/results``."""
    return Path(os.environ.get("LEAKAGE_RESULTS") or project_root() / "results")


def profile_dir(profile: str) -> Path:
    """``results/<profile>/``: the tidy CSV of every table and figure of one profile's build."""
    return results_root() / profile


def store_root() -> Path:
    """``$LEAKAGE_STORE`` if set (e.g. a folder on a file system every Dask worker sees), else ``results/store/``:
    artefacts keyed by config hash, shared by all profiles."""
    return Path(os.environ.get("LEAKAGE_STORE") or results_root() / "store")
