"""A scorecard claim as a tested hypothesis: statistic, effect with a 95% CI, sample sizes, verdict.

A claim says the paper's effect lies on one side of a null value (``direction`` +1: above it, -1:
below it), e.g. "AUC(transfer) - AUC(baseline) > 0". Its verdict follows from the 95% CI alone:

- ``reproduced``: the CI lies wholly on the paper's side of the null;
- ``inconclusive``: the CI covers the null (the note says roughly how many samples would decide it);
- ``contradicted``: the CI lies wholly on the other side;
- ``not comparable``: this build cannot test the claim as stated (e.g. the paper's number is on another
  data set); the reason is given.

A comparison with a published number is an equivalence test instead (:func:`equivalence`): reproduced
when the CI lies within ``PAPER_TOLERANCE`` of the paper's value, contradicted when it lies wholly
outside that band.

The chapters' claims share the helpers at the end: :func:`require_columns` (a frame's columns),
:func:`sides`, :func:`enough_per_side` and :func:`sizes` (how many members and non-members a CI rests on),
:func:`model_index` and :func:`model_order` (the targets M-0, M-1, ... in index order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import norm

if TYPE_CHECKING:
    import pandas as pd

VERDICTS: tuple[str, ...] = ("reproduced", "inconclusive", "contradicted", "not comparable")
LEVEL = 0.95  # every CI of the scorecard is a two-sided 95% interval
POWER = 0.8  # the power the "samples needed" note aims at
# A reproduced published number: within 0.05 of it (AUC, accuracy, F1 and the like are on [0, 1]). Our
# builds train on other data, sizes and epochs than the papers', so a closer match would be luck, and a
# looser one would accept effects the papers would call different; 0.05 is half the step between the
# paper's neighbouring targets' AUCs in Li & Zhang's Fig. 2.
PAPER_TOLERANCE = 0.05


@dataclass(frozen=True)
class Evidence:
    """One tested claim of one build, as the scorecard shows it.

    ``effect`` and its CI (``ci_low``, ``ci_high``) are in the units of ``statistic``; ``null`` is the
    value that separates the paper's side from the other (``direction`` +1: the paper says effect > null);
    ``n`` says how many of ``unit`` the CI rests on (e.g. "200 members + 200 non-members");
    ``needed`` is roughly how many ``unit`` the observed effect would need for 80% power (inconclusive
    claims only, else None).
    """

    claim_id: str
    chapter: str
    item: str
    claim: str
    statistic: str
    effect: float
    ci_low: float
    ci_high: float
    null: float
    direction: int
    n: str
    unit: str
    paper: str
    ours: str
    verdict: str
    needed: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {self.direction!r}")

    def row(self) -> dict:
        """The claim as one flat row (``extra`` left out)."""
        row = asdict(self)
        row.pop("extra")
        return row


def decide(ci_low: float, ci_high: float, null: float, direction: int) -> str:
    """'reproduced' (CI wholly on the paper's side of ``null``), 'contradicted' (wholly on the other side)
    or 'inconclusive' (the CI covers the null, or is undefined)."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive"
    if ci_low > ci_high:
        raise ValueError(f"CI bounds out of order: [{ci_low}, {ci_high}]")
    low, high = (ci_low, ci_high) if direction == 1 else (-ci_high, -ci_low)
    null = null if direction == 1 else -null
    if low > null:
        return "reproduced"
    if high < null:
        return "contradicted"
    return "inconclusive"


def samples_needed(effect: float, ci_low: float, ci_high: float, null: float, n: float,
                   power: float = POWER, level: float = LEVEL) -> float | None:
    """Roughly how many samples (of the CI's resampling unit, scaled from ``n``) a two-sided test at
    ``level`` needs to detect the observed ``effect - null`` with probability ``power``.

    The CI's half-width gives the standard error at ``n`` (normal approximation), which shrinks as
    1/sqrt(n). None when the effect equals the null (no sample size detects a zero effect).
    """
    z = norm.ppf(0.5 + level / 2)
    se = (ci_high - ci_low) / (2 * z)
    gap = abs(effect - null)
    if not (gap > 0 and se > 0 and math.isfinite(se)):
        return None
    return float(n * ((z + norm.ppf(power)) * se / gap) ** 2)


def hypothesis(claim_id: str, *, chapter: str, claim: str, statistic: str, effect: float, ci: tuple[float, float],
               null: float = 0.0, direction: int = 1, n: str, unit: str, n_unit: float, ours: str = "",
               note: str = "", extra: dict | None = None) -> Evidence:
    """A claim that the paper's effect lies above (``direction`` +1) or below (-1) ``null``.

    ``n_unit`` is the count of ``unit`` the CI rests on (per side for members/non-members), scaled by
    :func:`samples_needed` into the power note of an inconclusive verdict. The claim's item and the
    paper's column come from the paper table (:mod:`leakage.claims.paper`).
    """
    from leakage.claims.paper import paper_entry

    entry = paper_entry(claim_id)
    verdict = decide(ci[0], ci[1], null, direction)
    needed = ""
    if verdict == "inconclusive":
        want = samples_needed(effect, ci[0], ci[1], null, n_unit)
        needed = f"about {_round_up(want):,} {unit}" if want is not None else "no sample size (zero effect)"
    ours = ours or f"{effect:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"
    return Evidence(claim_id, chapter, entry.item, claim, statistic, float(effect), float(ci[0]), float(ci[1]),
                    float(null), direction, n, unit, entry.text, ours, verdict, needed, note, extra or {})


def equivalence(claim_id: str, *, chapter: str, claim: str, statistic: str, estimate: float,
                ci: tuple[float, float], n: str, unit: str, n_unit: float, comparable: bool = True,
                reason: str = "", tolerance: float = PAPER_TOLERANCE, ours: str = "") -> Evidence:
    """A claim that our ``estimate`` matches the paper's published value (from the paper table) within
    ``tolerance``: reproduced when the CI lies inside [value - tolerance, value + tolerance], contradicted
    when it lies wholly outside it, else inconclusive. ``comparable=False`` (with ``reason``) when this
    build measured something else (another data set, another size).

    The effect shown is ``estimate - value``; its null is 0 within the tolerance band.
    """
    from leakage.claims.paper import paper_entry

    entry = paper_entry(claim_id)
    if entry.value is None:
        raise ValueError(f"claim {claim_id} has no published value in the paper table")
    effect, low, high = estimate - entry.value, ci[0] - entry.value, ci[1] - entry.value
    ours = ours or f"{estimate:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    if not comparable:
        return Evidence(claim_id, chapter, entry.item, claim, statistic, effect, low, high, 0.0, 1, n, unit,
                        entry.text, ours, "not comparable", "", reason)
    if -tolerance <= low and high <= tolerance:
        verdict, needed = "reproduced", ""
    elif high < -tolerance or low > tolerance:
        verdict, needed = "contradicted", ""
    else:
        verdict = "inconclusive"
        half = (high - low) / 2
        # the CI must shrink to fit between the estimate and the nearer edge of the band
        room = tolerance - abs(effect)
        needed = (f"about {_round_up(n_unit * (half / room) ** 2):,} {unit}" if room > 0 and half > 0
                  else "none: the estimate lies outside the tolerance band")
    return Evidence(claim_id, chapter, entry.item, claim, statistic, effect, low, high, 0.0, 1, n, unit,
                    entry.text, ours, verdict, needed, f"tolerance ±{tolerance:g} around the paper's value")


def not_comparable(claim_id: str, *, chapter: str, claim: str, reason: str, ours: str = "", statistic: str = "",
                   n: str = "", unit: str = "") -> Evidence:
    """A claim this build cannot test as stated; ``reason`` says why."""
    from leakage.claims.paper import paper_entry

    entry = paper_entry(claim_id)
    nan = float("nan")
    return Evidence(claim_id, chapter, entry.item, claim, statistic, nan, nan, nan, 0.0, 1, n, unit, entry.text,
                    ours, "not comparable", "", reason)


# --------------------------------------------------------------------------- shared by the chapters' claims


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise ``ValueError`` naming the ``columns`` that ``frame`` lacks; ``name`` names the frame in the message
    (e.g. ``"scores"``: "the scores frame lacks the columns ...")."""
    columns = list(columns)
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"the {name} frame lacks the columns {', '.join(missing)}; it needs {', '.join(columns)}")


def sides(is_member: np.ndarray) -> tuple[int, int]:
    """(members, non-members) of a membership vector ``is_member`` (N,) bool."""
    is_member = np.asarray(is_member, bool)
    return int(is_member.sum()), int((~is_member).sum())


def enough_per_side(is_member: np.ndarray, least: int = 2) -> bool:
    """Whether ``is_member`` (N,) bool has at least ``least`` members and ``least`` non-members (a stratified
    bootstrap needs two on each side to vary)."""
    members, non_members = sides(is_member)
    return members >= least and non_members >= least


def sizes(n_members: int, n_non: int, unit: str, *, detail: str = "") -> dict[str, str | int]:
    """The ``n``, ``unit`` and ``n_unit`` arguments of :func:`hypothesis` and :func:`equivalence` for a CI that
    rests on ``n_members`` members and ``n_non`` non-members (per side, resampled separately).

    ``n`` reads "<members> members + <non> non-members", followed by `` (<detail>)`` when ``detail`` is given
    (e.g. "texts", or which of several candidate sets is the smallest); ``unit`` is passed through (e.g.
    "candidates per side"); ``n_unit`` is the smaller side, the count the power note scales.
    """
    n = f"{n_members} members + {n_non} non-members" + (f" ({detail})" if detail else "")
    return {"n": n, "unit": unit, "n_unit": min(n_members, n_non)}


TARGET_NAME = re.compile(r"^M-(\d+)$")  # Li & Zhang's targets: M-0 (largest D_train) .. M-5 (smallest)


def model_index(models: Iterable[object]) -> np.ndarray:
    """i of each target name ``M-i`` in ``models`` (int array, one per name, in the given order).

    Raises ``ValueError`` naming the names not of the form ``M-i``.
    """
    names = [str(m) for m in models]
    found = [TARGET_NAME.search(name) for name in names]
    bad = sorted({name for name, match in zip(names, found) if match is None})
    if bad:
        raise ValueError(f"target names look like 'M-0'..'M-5', got {bad}")
    return np.array([int(match.group(1)) for match in found], dtype=np.int64)


def model_order(models: Iterable[str]) -> list[str]:
    """The distinct target names in ``models`` in M-index order ("M-0" < "M-1" < ... < "M-10").

    Raises ``ValueError`` on a name not of the form ``M-i`` (:func:`model_index`).
    """
    names = list(dict.fromkeys(models))
    return [name for _, _, name in sorted(zip(model_index(names).tolist(), map(str, names), names))]


def _round_up(value: float) -> int:
    """``value`` rounded up to two significant digits (a power estimate is rough)."""
    if value <= 0 or not math.isfinite(value):
        return 0
    step = 10 ** max(0, int(math.floor(math.log10(value))) - 1)
    return int(math.ceil(value / step) * step)
