"""Where the VP chapter's corpus is read from, and that source's content digest (what every VP artefact is keyed by)."""

from __future__ import annotations

from pathlib import Path

from leakage.inputs import path_digest
from leakage.vp.juliet import source_path as juliet_source_path
from leakage.vp.realworld import source_path as realworld_source_path


def source_path(dataset: str, path: str | None) -> Path:
    """The file or folder the corpus of ``dataset`` is read from: for Juliet the ``path`` argument, else
    ``$LEAKAGE_JULIET``, else the shared archive or the shipped derived file (:func:`leakage.vp.juliet.source_path`);
    for Devign / BigVul the file at ``path``. Raises ``DataUnavailableError`` when it is missing."""
    if dataset == "juliet":
        return juliet_source_path(path)
    if not path:
        raise ValueError(f"data set {dataset!r} is read from a file: give its path")
    return realworld_source_path(dataset, path)


def source_digest(dataset: str, path: str | None) -> str:
    """16-hex-digit content digest of :func:`source_path` (a folder: all its files), cached by size and mtime."""
    return path_digest(source_path(dataset, path))
