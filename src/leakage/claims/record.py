"""A chapter's evidence on disk: ``results/<profile>/claims/<chapter>.csv``, written atomically."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from leakage.claims.core import Evidence
from leakage.paths import profile_dir
from leakage.store import atomic_path

COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Evidence) if f.name != "extra")


def record_evidence(profile: str, chapter: str, evidence: list[Evidence]) -> pd.DataFrame:
    """Write a chapter's claims to ``results/<profile>/claims/<chapter>.csv``; returns them as a table
    (one row per claim, the columns of :class:`Evidence`). Raises ``ValueError`` if a claim names
    another chapter."""
    wrong = sorted({e.chapter for e in evidence} - {chapter})
    if wrong:
        raise ValueError(f"claims of chapter {chapter} name other chapters: {', '.join(wrong)}")
    frame = pd.DataFrame([e.row() for e in evidence], columns=list(COLUMNS))
    path = profile_dir(profile) / "claims" / f"{chapter}.csv"
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def load_evidence(profile: str) -> pd.DataFrame:
    """Every chapter's claims of one profile's build (the columns of :class:`Evidence`)."""
    files = sorted((profile_dir(profile) / "claims").glob("*.csv"))
    frames = [pd.read_csv(f, keep_default_na=False, na_values={"effect": [""], "ci_low": [""], "ci_high": [""]})
              for f in files]
    for file, frame in zip(files, frames):
        if "claim_id" not in frame:
            raise ValueError(f"{file} holds claims in an older format (bare inequalities, no CI); rebuild its "
                             f"chapter: python -m leakage book --profile {profile} --only {file.stem}")
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)
