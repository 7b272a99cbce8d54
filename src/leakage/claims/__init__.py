"""Scorecard claims as tested hypotheses: each chapter's claims are functions of its published tidy frames
that return :class:`Evidence` (statistic, effect with a 95% CI, sample sizes, verdict).

- :mod:`leakage.claims.core`: the verdict rules, the power note, the tolerance for published numbers, and the
  chapters' shared frame checks, sample sizes and target order;
- :mod:`leakage.claims.stats`: effects and CIs from the right resampling unit;
- :mod:`leakage.claims.paper`: the papers' numbers (``paper_values.csv``), the only place they live;
- :mod:`leakage.claims.record`: writing a chapter's evidence and reading every chapter's back.
"""

from leakage.claims.core import PAPER_TOLERANCE, VERDICTS, Evidence, decide, equivalence, hypothesis, not_comparable
from leakage.claims.record import load_evidence, record_evidence

__all__ = ["PAPER_TOLERANCE", "VERDICTS", "Evidence", "decide", "equivalence", "hypothesis", "load_evidence",
           "not_comparable", "record_evidence"]
