"""What a notebook hands to the book: tidy tables, figures and data provenance (scorecard claims: see
:mod:`leakage.claims`).

Everything lands under ``results/<profile>/``, written atomically:
``<ID>.csv`` and ``<ID>.png`` per table/figure, ``provenance/<ID>.json``, and the book runner's
``.notebook_timings.json`` (each notebook's seconds in its last build, for the next build's time estimate).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from leakage.paths import profile_dir
from leakage.store import atomic_path

ITEM_ID = re.compile(r"^[a-z]+-[a-z0-9-]+$")
TIMINGS_FILE = ".notebook_timings.json"


def _item_path(profile: str, item_id: str, suffix: str) -> Path:
    if not ITEM_ID.match(item_id):
        raise ValueError(f"item IDs look like 'lz-fig2' or 'vp-mia', got {item_id!r}")
    return profile_dir(profile) / f"{item_id}{suffix}"


def save_table(frame: pd.DataFrame, item_id: str, profile: str) -> Path:
    """Write the tidy data behind a table or figure to ``results/<profile>/<ID>.csv``."""
    path = _item_path(profile, item_id, ".csv")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def save_figure(figure, item_id: str, profile: str) -> Path:
    """Write a matplotlib figure to ``results/<profile>/<ID>.png``."""
    path = _item_path(profile, item_id, ".png")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return path


def record_provenance(profile: str, item_id: str, *, datasets: dict[str, str], note: str) -> Path:
    """Say which data an item used: ``datasets`` maps name -> source line, ``note`` says why this data."""
    path = profile_dir(profile) / "provenance" / f"{item_id}.json"
    _item_path(profile, item_id, "")  # validates the ID
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"item": item_id, "datasets": datasets, "note": note}, indent=1))
    return path


def load_provenance(profile: str) -> pd.DataFrame:
    """One row per (item, data set): item, dataset, source, note."""
    rows = []
    for file in sorted((profile_dir(profile) / "provenance").glob("*.json")):
        entry = json.loads(file.read_text())
        rows += [{"item": entry["item"], "dataset": name, "source": source, "note": entry["note"]}
                 for name, source in entry["datasets"].items()]
    return pd.DataFrame(rows, columns=["item", "dataset", "source", "note"])


def notebook_timings(profile: str) -> dict[str, float]:
    """Notebook name -> seconds its last successful execution took in a build of ``profile`` (wall clock, kernel
    start included), from ``results/<profile>/.notebook_timings.json``; empty when no build has recorded any
    (or the file is unreadable: the timings only feed a progress estimate, and the next build rewrites them)."""
    try:
        entries = json.loads((profile_dir(profile) / TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {str(name): float(seconds) for name, seconds in entries.items()
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0}


def record_notebook_timing(profile: str, name: str, seconds: float) -> Path:
    """Store that notebook ``name`` took ``seconds`` in this build of ``profile`` (merged into the other
    notebooks' timings, written atomically); returns the file. Raises ``ValueError`` for a negative or
    non-finite ``seconds`` or an empty ``name``."""
    if not name:
        raise ValueError("a notebook timing needs the notebook's name")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"notebook {name}: seconds must be a finite number >= 0, got {seconds!r}")
    path = profile_dir(profile) / TIMINGS_FILE
    timings = {**notebook_timings(profile), name: round(float(seconds), 3)}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(dict(sorted(timings.items())), indent=1) + "\n")
    return path
