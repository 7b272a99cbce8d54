"""What a notebook hands to the book: tidy tables, figures and data provenance (scorecard claims: see
:mod:`leakage.claims`).

Everything lands under ``results/<profile>/``, written atomically:
``<ID>.csv`` and ``<ID>.png`` per table/figure, ``provenance/<ID>.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from leakage.paths import profile_dir
from leakage.store import atomic_path

ITEM_ID = re.compile(r"^[a-z]+-[a-z0-9-]+$")


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
