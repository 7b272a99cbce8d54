"""The scorecard's forest plot: every claim's effect and 95% CI against its null, coloured by verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from leakage.claims.core import LEVEL

VERDICT_COLOURS = {"reproduced": "#1a7f37", "inconclusive": "#9a6700", "contradicted": "#cf222e",
                   "not comparable": "#8c959f"}


def standardised(frame: pd.DataFrame) -> pd.DataFrame:
    """Each testable claim on one scale: its effect and its own 95% CI, measured from the null toward the
    paper's side and divided by the standard error (SE from the CI's width). Positive: the paper's side; a
    claim is reproduced exactly when its ``z_low`` > 0 and contradicted when its ``z_high`` < 0.

    Columns added: ``z``, ``z_low``, ``z_high``. For an equivalence claim (a published number) the distance
    is measured inside the tolerance band: ``z_low`` from the CI's end nearer the band's edge. Claims
    without a finite CI (or "not comparable") are left out.
    """
    low, high = frame.ci_low.astype(float), frame.ci_high.astype(float)
    rows = frame[np.isfinite(low) & np.isfinite(high) & (frame.verdict != "not comparable")].copy()
    low, high, effect = rows.ci_low.astype(float), rows.ci_high.astype(float), rows.effect.astype(float)
    se = ((high - low) / (2 * norm.ppf(0.5 + LEVEL / 2))).where(lambda s: s > 0)
    tolerance = rows.note.str.extract(r"tolerance ±([0-9.]+)", expand=False).astype(float)
    direction, null = rows.direction.astype(float), rows.null.astype(float)
    # hypothesis: signed distance from the null toward the paper's side
    a, b = direction * (low - null), direction * (high - null)
    z, z_low, z_high = direction * (effect - null), np.minimum(a, b), np.maximum(a, b)
    # equivalence: distance inside the band [-tolerance, tolerance]
    inside = tolerance.notna()
    nearest = np.where((low <= 0) & (high >= 0), 0.0, np.minimum(low.abs(), high.abs()))
    z = np.where(inside, tolerance - effect.abs(), z)
    z_low = np.where(inside, np.minimum(tolerance + low, tolerance - high), z_low)
    z_high = np.where(inside, tolerance - nearest, z_high)
    rows["z"], rows["z_low"], rows["z_high"] = z / se, z_low / se, z_high / se
    return rows[np.isfinite(rows.z)]


def forest_plot(frame: pd.DataFrame, chapters: list[str] | None = None):
    """A figure with one row per testable claim (grouped by chapter in the order of ``chapters``, top to
    bottom), its standardised effect and 95% CI (:func:`standardised`) and a line at 0 (the null);
    colour = verdict."""
    import matplotlib.pyplot as plt

    rows = standardised(frame)
    order = chapters or list(dict.fromkeys(rows.chapter))
    rows = rows.assign(_c=rows.chapter.map({c: i for i, c in enumerate(order)})).sort_values(["_c"], kind="stable")
    height = 0.28 * len(rows) + 1.2
    figure, axis = plt.subplots(figsize=(8.5, max(2.5, height)))
    y = np.arange(len(rows))[::-1]
    for yi, row in zip(y, rows.itertuples()):
        colour = VERDICT_COLOURS[row.verdict]
        axis.plot([max(row.z_low, -12), min(row.z_high, 12)], [yi, yi], color=colour, lw=2)
        axis.plot(np.clip(row.z, -12, 12), yi, "o", color=colour, ms=5)
    axis.axvline(0, color="black", lw=1)
    labels = [f"{r.chapter}: {r.claim[:60]}{'…' if len(r.claim) > 60 else ''}" for r in rows.itertuples()]
    axis.set_yticks(y, labels, fontsize=7)
    axis.set_xlim(-12, 12)
    axis.set_xlabel("effect toward the paper's side, in standard errors (clipped at ±12)")
    handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in VERDICT_COLOURS.items()
               if v != "not comparable"]
    axis.legend(handles=handles, loc="lower right", fontsize=7)
    figure.tight_layout()
    return figure
