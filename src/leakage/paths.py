"""Where things live: the project root, the results folder and the artefact store.

A relative path in the environment (``LEAKAGE_STORE=relstore``) means a different folder in every process
that starts in another working directory: the book runner's Dask workers start in the caller's, its notebook
kernels in the project root. The runner therefore makes every path variable of :data:`PATH_VARIABLES`
absolute once, against the caller's working directory (:func:`pin_environment_paths`), before it starts any
worker or kernel; they inherit the absolute values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Environment variables that name a file or folder read by the package (or by the libraries it loads data and
#: models with): the runner hands every worker and kernel their absolute paths.
PATH_VARIABLES: tuple[str, ...] = ("LEAKAGE_STORE", "LEAKAGE_RESULTS", "LEAKAGE_DATA_DIR", "LEAKAGE_JULIET",
                                   "LEAKAGE_BROWN", "SCIKIT_LEARN_DATA", "HF_HOME", "HF_HUB_CACHE")


def absolute_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> Path:
    """``path`` with ``~`` expanded, joined to ``cwd`` (default: this process's working directory) when relative,
    and normalised (``a/../b`` -> ``b``); symbolic links are kept as they are."""
    path = Path(path).expanduser()
    return Path(os.path.normpath(Path(cwd if cwd is not None else os.getcwd()) / path))


def absolute_environment(environ: Mapping[str, str] | None = None,
                         cwd: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Each variable of :data:`PATH_VARIABLES` set (non-empty) in ``environ`` (default ``os.environ``) -> its
    absolute path against ``cwd`` (default: this process's working directory)."""
    environ = os.environ if environ is None else environ
    return {name: str(absolute_path(environ[name], cwd)) for name in PATH_VARIABLES if environ.get(name)}


def pin_environment_paths(cwd: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Rewrite this process's path variables (:data:`PATH_VARIABLES`) as absolute paths against ``cwd`` (default:
    the working directory), so that every process started from here (Dask workers, notebook kernels) reads the
    same folders whatever its own working directory; returns the rewritten variables."""
    pinned = absolute_environment(cwd=cwd)
    os.environ.update(pinned)
    return pinned


def project_root() -> Path:
    """The repository root when running from a checkout (the folder holding ``pyproject.toml``), else the cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def results_root() -> Path:
    """``$LEAKAGE_RESULTS`` if set (relative to the working directory), else ``<project root>/results``; absolute."""
    given = os.environ.get("LEAKAGE_RESULTS")
    return absolute_path(given) if given else project_root() / "results"


def profile_dir(profile: str) -> Path:
    """``results/<profile>/``: the tidy CSV of every table and figure of one profile's build."""
    return results_root() / profile


def store_root() -> Path:
    """``$LEAKAGE_STORE`` if set (e.g. a folder on a file system every Dask worker sees; relative to the working
    directory), else ``results/store/``: artefacts keyed by config hash, shared by all profiles; absolute."""
    given = os.environ.get("LEAKAGE_STORE")
    return absolute_path(given) if given else results_root() / "store"
