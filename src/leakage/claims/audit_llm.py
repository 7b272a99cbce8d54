"""The fine-tuned LM audit's claims (``audit_llm``) as tested hypotheses on its published frames.

Frames, as the chapter publishes them:

- ``canaries``: the random-word canaries' scores, one row per (model, target epsilon, attack, canary), as
  in :mod:`leakage.claims.audit`; ``eps``: one row per (model, target epsilon, attack) with the accountant's
  epsilon and ``delta`` (``audit-llm``);
- ``exposure`` (``audit-exposure``): one row per (target epsilon, secret canary): ``target_epsilon`` (inf:
  no DP), ``secret``, ``included``, ``exposure`` (bits).

Claims:

- ``audit-llm-eps-valid`` and ``audit-llm-nodp``: the audit chapter's two claims
  (:func:`leakage.claims.audit.validity`, :func:`leakage.claims.audit.no_dp_leaks`) on the fine-tuned
  SmolLM2: no 95% eps_LB above the accountant's epsilon; without DP, an eps_LB above 0.
- ``audit-llm-exposure`` ("exposure falls with epsilon", Carlini et al. 2019 Sec. 9.1 for DP training):
  the mean exposure of the *included* secrets without DP minus that at the smallest epsilon, paired by
  secret (the same secrets are included in every run: one seeded coin each); 95% percentile bootstrap over
  the included secrets. Reproduced when the CI lies above 0, contradicted when below, else inconclusive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leakage.claims.audit import no_dp_leaks, validity
from leakage.claims.core import LEVEL, Evidence, hypothesis, not_comparable, require_columns
from leakage.claims.stats import percentile_ci
from leakage.seed import seeded_rng

CHAPTER = "audit_llm"
EXPOSURE_COLUMNS = ("target_epsilon", "secret", "included", "exposure")


def exposure_falls(exposure: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, level: float = LEVEL) -> Evidence:
    """``audit-llm-exposure``: mean exposure of the included secrets, no DP minus the smallest epsilon (paired
    by secret, bootstrap over secrets). Raises ``ValueError`` for a frame without the columns above."""
    claim = "exposure of the included secret canaries falls with epsilon: no DP above the smallest epsilon"
    require_columns(exposure, EXPOSURE_COLUMNS, "exposure")
    included = exposure[exposure.included.astype(bool)]
    finite = sorted(e for e in included.target_epsilon.unique() if np.isfinite(e))
    if not finite or not np.isinf(included.target_epsilon).any():
        return not_comparable("audit-llm-exposure", chapter=CHAPTER, claim=claim,
                              reason="this build needs a run without DP and one with DP")
    smallest = finite[0]
    table = included.pivot_table(index="secret", columns="target_epsilon", values="exposure")
    paired = table[[np.inf, smallest]].dropna()
    if len(paired) < 2:
        return not_comparable("audit-llm-exposure", chapter=CHAPTER, claim=claim,
                              reason=f"only {len(paired)} included secret(s): too few to resample")
    diff = (paired[np.inf] - paired[smallest]).to_numpy(float)
    rng = seeded_rng(seed)
    boot = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(1)
    low, high = percentile_ci(boot, level)
    ours = (f"mean exposure {paired[np.inf].mean():.2f} bits without DP vs {paired[smallest].mean():.2f} at eps "
            f"{smallest:g}: {diff.mean():+.2f} [{low:+.2f}, {high:+.2f}]")
    return hypothesis("audit-llm-exposure", chapter=CHAPTER, claim=claim,
                      statistic=f"mean exposure (bits) of included secrets, no DP - eps {smallest:g}",
                      effect=float(diff.mean()), ci=(low, high), null=0.0, direction=1,
                      n=f"{len(diff)} included secrets", unit="included secrets", n_unit=len(diff), ours=ours,
                      note="paired by secret; percentile bootstrap over the included secrets")


def audit_llm_claims(canaries: pd.DataFrame, eps: pd.DataFrame, exposure: pd.DataFrame, *, seed: int,
                     n_boot: int = 1000) -> list[Evidence]:
    """Every claim of the ``audit_llm`` chapter, from its published frames."""
    return [validity(canaries, eps, seed=seed, claim_id="audit-llm-eps-valid", chapter=CHAPTER),
            no_dp_leaks(canaries, eps, seed=seed, claim_id="audit-llm-nodp", chapter=CHAPTER),
            exposure_falls(exposure, n_boot=n_boot, seed=seed)]
