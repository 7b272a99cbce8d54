"""The one result type of every membership-inference attack in this package: :class:`MembershipResult`.

Vision attacks (:func:`leakage.api.attack_classifier`, and the book's ``run_attack``), language-model
attacks (:func:`leakage.api.attack_language_model`, the book's ``run_llm``) and the code-model attack
(:func:`leakage.api.attack_code_model`, the book's VP chapter) all return it, one per attack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from leakage.checks import check_finite, check_membership
from leakage.metrics import summarize

#: What each attack family leaves in ``MembershipResult.extras``: name -> meaning. Every entry is an array
#: whose first axis is the candidate (n, ...), except those in :data:`PER_RUN`.
EXTRAS: dict[str, str] = {
    # label-only boundary attack (HopSkipJump / QEBA)
    "l0": "boundary: pixels changed by the smallest label-changing perturbation found (count)",
    "l1": "boundary: L1 norm of that perturbation (pixel units in [0, 1])",
    "l2": "boundary: L2 norm of that perturbation",
    "linf": "boundary: L-infinity norm of that perturbation",
    "flipped": "boundary: True when a label-changing point was found within the budget (bool; misclassified "
               "candidates included)",
    "unstarted": "boundary: True when the search found no label-changing start within the budget, so it never "
                 "began (bool): the candidate scores UNSTARTED_SCORE (leakage.attacks.hopskipjump), tied with the "
                 "other unstarted ones, below every distance found and above the misclassified (no membership "
                 "information); the attack warns how many (MethodNotAppliedWarning)",
    "misclassified": "boundary: the target already mislabels the candidate (bool; score 0)",
    "queries": "boundary, augmentation, noise: label queries spent on the candidate (int)",
    "checkpoint_dist": "boundary: (n, C) best distance after each query count of 'checkpoints' (UNSTARTED_SCORE "
                       "where none was known yet)",
    "checkpoints": "boundary, augmentation, noise: (C,) query counts of 'checkpoint_dist' / 'checkpoint_score' (per "
                   "run)",
    "correct": "augmentation, noise: how many of the candidate's queries the target labelled with the true label (int)",
    "agree": "augmentation: (n, A) whether each augmentation, in query order, kept the true label (bool)",
    "checkpoint_score": "augmentation, noise: (n, C) the score after the first q queries, q from 'checkpoints'",
    "labels": "boundary: the label each candidate was moved away from (int)",
    "start_source": "boundary: where the search's start came from (see leakage.attacks.boundary.unflipped_by_class)",
    # transfer attack
    "shadow_loss": "transfer: minus the shadow's cross-entropy on (candidate, true label)",
    "shadow_max_confidence": "transfer: the shadow's largest softmax probability",
    "shadow_entropy": "transfer: minus the shadow's normalised prediction entropy",
    # language models
    "failed": "LM: the attack could not score the text (no token: an empty text, or none under its reference or "
              "in any of its neighbours): its score is the lowest float, least likely member (bool)",
    "n_tokens": "LM: tokens scored (int)",
    "truncated": "LM: the text had more than max_tokens tokens and was scored as its prefix (bool)",
    # code models (shadow-model attack under NMID)
    "released_prediction": "code: the label the (NMID-defended) release predicts for the candidate (int)",
    "raw_prediction": "code: argmax of the model's raw logits, before NMID (int)",
    "true_label": "code: the candidate's true label, as handed in (int)",
}

#: Extras that describe the run, not a candidate (never a per-candidate column).
PER_RUN: frozenset[str] = frozenset({"checkpoints"})


@dataclass
class MembershipResult:
    """One attack's scores on n candidates, with what is needed to evaluate and reuse them.

    - ``attack``: the attack's label (registry name plus parameters, e.g. ``"min-k++ (k=0.2)"``);
    - ``scores`` (n,) float64, **higher = member**; every candidate has one (none dropped); +/-inf allowed;
    - ``is_member`` (n,) bool, the ground truth used to evaluate (the attack never saw it);
    - ``indices`` (n,) int64: which candidate each row is (data-set indices for the book's targets,
      positions in members-then-non-members for data handed in);
    - ``cost``: measured cost (e.g. ``queries_per_candidate``, ``seconds``, ``shadow_epochs``);
    - ``extras``: per-candidate by-products, documented in :data:`EXTRAS`;
    - ``config``: what determined the scores (the attack's config, or the book's run identity);
    - ``seed``: seed of the bootstrap behind the confidence intervals.

    ``metrics`` (computed once): AUC with a 95% bootstrap CI, TPR at 1% and 0.1% FPR (NaN where the non-members
    cannot resolve the FPR) and TPR at zero false positives, with 95% bootstrap CIs, best F1, counts. Raises
    ``ValueError`` when the arrays do not have one entry per candidate or a score is NaN.
    """

    attack: str
    scores: np.ndarray
    is_member: np.ndarray
    indices: np.ndarray | None = None
    cost: dict[str, float] = field(default_factory=dict)
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    config: Any = None
    seed: int = 0
    n_boot: int = 1000

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.is_member = check_membership(f"is_member of {self.attack}", self.is_member)
        if self.scores.ndim != 1 or self.is_member.shape != self.scores.shape:
            raise ValueError(f"a result needs (n,) scores and (n,) is_member, got {self.scores.shape} and "
                             f"{self.is_member.shape}")
        check_finite(f"scores of {self.attack}", self.scores, allow_inf=True)
        self.indices = (np.arange(len(self.scores)) if self.indices is None
                        else np.asarray(self.indices, dtype=np.int64))
        if self.indices.shape != self.scores.shape:
            raise ValueError(f"indices must be (n,) = {self.scores.shape}, got {self.indices.shape}")

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def run(self) -> Any:
        """The book's name for ``config`` (what identifies the run)."""
        return self.config

    @property
    def metrics(self) -> dict[str, float]:
        """:func:`leakage.metrics.summarize` with TPR intervals: AUC (+ ``auc_lo``/``auc_hi``), TPR at 1% / 0.1%
        FPR and ``tpr_at_0fp`` (TPR at zero false positives), each + ``_lo``/``_hi`` (95% bootstrap CIs, members
        and non-members resampled apart), best F1 and its threshold, ``n_members``, ``n_non_members``.

        With n0 non-members, the TPR at an FPR below 1/n0 (0.1% with fewer than 1,000 non-members, 1% with
        fewer than 100) and its CI are NaN: no threshold has an FPR between 0 and 1/n0, so the number would be
        ``tpr_at_0fp`` under another name (:func:`leakage.metrics.fpr_resolution`). Raises ``ValueError`` when
        the result has no member or no non-member."""
        if not hasattr(self, "_metrics"):
            self._metrics = summarize(self.scores, self.is_member, n_boot=self.n_boot, seed=self.seed,
                                      tpr_intervals=True)
        return self._metrics

    def summary(self) -> dict[str, Any]:
        """One table row: ``attack``, every metric of :attr:`metrics` (a TPR at an FPR the sample cannot resolve is
        NaN; ``tpr_at_0fp`` holds what it would have measured) and every scalar cost."""
        return {"attack": self.attack, **self.metrics, **{k: v for k, v in self.cost.items() if np.isscalar(v)}}

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: ``index``, ``is_member``, ``score`` and every one-value-per-candidate extra."""
        n = len(self)
        columns = {k: np.asarray(v) for k, v in self.extras.items()
                   if k not in PER_RUN and np.ndim(v) == 1 and len(v) == n}
        return pd.DataFrame({"attack": self.attack, "index": self.indices, "is_member": self.is_member,
                             "score": self.scores, **columns})


def summary_frame(results: list[MembershipResult] | dict[str, MembershipResult]) -> pd.DataFrame:
    """One row per result (:meth:`MembershipResult.summary`), in the given order."""
    items = list(results.values()) if isinstance(results, dict) else list(results)
    return pd.DataFrame([r.summary() for r in items])
