"""The papers' published numbers and statements: one machine-readable table, the only place they live.

``paper_values.csv`` beside this module has one row per claim: ``claim_id``, ``paper`` (who says it),
``item`` (the book's figure/table ID), ``dataset`` (the data set the value is for, or ``all``), ``value``
(the published number, empty for a qualitative claim), ``unit`` and ``text`` (the paper's statement,
shown in the scorecard's "paper" column).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TABLE = Path(__file__).with_name("paper_values.csv")
COLUMNS = ("claim_id", "paper", "item", "dataset", "value", "unit", "text")


@dataclass(frozen=True)
class PaperEntry:
    """One row of the paper table."""

    claim_id: str
    paper: str
    item: str
    dataset: str
    value: float | None
    unit: str
    text: str


@functools.lru_cache(maxsize=1)
def paper_table() -> pd.DataFrame:
    """The whole table, indexed by claim_id (checked: the columns above, unique ids)."""
    frame = pd.read_csv(TABLE, keep_default_na=False, dtype=str)
    if tuple(frame.columns) != COLUMNS:
        raise ValueError(f"{TABLE} must have the columns {COLUMNS}, got {tuple(frame.columns)}")
    if frame.claim_id.duplicated().any():
        raise ValueError(f"{TABLE} repeats claim ids: {sorted(frame.claim_id[frame.claim_id.duplicated()])}")
    return frame.set_index("claim_id", drop=False)


def paper_entry(claim_id: str) -> PaperEntry:
    """The paper table's row for ``claim_id``; ``KeyError`` naming the known ids when it has none."""
    table = paper_table()
    if claim_id not in table.index:
        raise KeyError(f"claim {claim_id!r} is not in the paper table {TABLE.name}; add its row there "
                       f"(known: {', '.join(table.index)})")
    row = table.loc[claim_id]
    return PaperEntry(*(row[c] for c in ("claim_id", "paper", "item", "dataset")),
                      float(row["value"]) if row["value"] else None, row["unit"], row["text"])
