"""Query access to a target model: the only way an attack may talk to it.

``LabelOnlyOracle`` answers predicted labels, nothing else, and counts every query (one query =
one input). It can charge queries to *owners* (the candidate each query is made for) and enforce
a per-owner budget, so an attack's query cost is measured, never assumed. ``PosteriorOracle``
answers confidence vectors, for the score-based threat model only.

Both refuse a query with a NaN or infinite input (``ValueError`` naming ``x``) before answering or
charging it: a model's argmax over NaN logits is an arbitrary class, which an attack would read as
"misclassified" (score 0, the lowest), so a bad input must fail loudly here, at the one door to the target.
"""

from __future__ import annotations

import torch
from torch import nn

from leakage.checks import check_finite


class QueryBudgetExceeded(RuntimeError):
    """An attack asked for more queries for one candidate than the budget allows."""


class _Oracle:
    def __init__(self, model: nn.Module, *, num_owners: int = 0, budget: int | None = None, batch_size: int = 1024):
        self._model = model.eval()
        self._device = next(model.parameters()).device
        self._batch_size = batch_size
        self.budget = budget
        self.queries = 0
        self.per_owner = torch.zeros(num_owners, dtype=torch.long)

    def _admit(self, x: torch.Tensor, owner: torch.Tensor | None) -> None:
        """Check a query batch x (N, ...) and charge it: ``ValueError`` on a NaN/inf input or an owner mismatch,
        ``QueryBudgetExceeded`` past the budget; nothing is charged when a check fails."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a tensor of inputs (N, ...), got {type(x).__name__}")
        check_finite("x", x)
        self._charge(len(x), owner)

    def _charge(self, n: int, owner: torch.Tensor | None) -> None:
        if owner is not None:
            owner = owner.detach().to("cpu", torch.long)
            if len(owner) != n:
                raise ValueError(f"{n} queries but {len(owner)} owners")
            counts = self.per_owner + torch.bincount(owner, minlength=len(self.per_owner))
            if self.budget is not None and bool((counts > self.budget).any()):
                worst = int(counts.argmax())
                raise QueryBudgetExceeded(f"candidate {worst} would need {int(counts[worst])} queries; "
                                          f"the budget is {self.budget}")
            self.per_owner = counts
        self.queries += n

    @torch.no_grad()
    def _logits(self, x: torch.Tensor, label_only: bool = False) -> torch.Tensor:
        # A wrapper that provably keeps every label (MemGuard) exposes `label_model` for label queries.
        model = getattr(self._model, "label_model", self._model) if label_only else self._model
        return torch.cat([model(x[i:i + self._batch_size].to(self._device))
                          for i in range(0, len(x), self._batch_size)]) if len(x) else torch.empty(0)


class LabelOnlyOracle(_Oracle):
    """Predicted labels of a target model; counts queries (total and per owner) and enforces a per-owner budget."""

    def labels(self, x: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """Top-1 labels (N,) int64 on x's device for inputs x (N, ...); ``owner`` (N,) charges each query.

        Raises ``ValueError`` if x holds a NaN or infinity, ``QueryBudgetExceeded`` past an owner's budget.
        """
        self._admit(x, owner)
        if len(x) == 0:
            return torch.empty(0, dtype=torch.long, device=x.device)
        return self._logits(x, label_only=True).argmax(1).to(x.device)


class PosteriorOracle(_Oracle):
    """Confidence vectors (softmax) of a target model, for score-based attacks; counts queries."""

    def posteriors(self, x: torch.Tensor, owner: torch.Tensor | None = None) -> torch.Tensor:
        """Softmax outputs (N, K) float on x's device for inputs x (N, ...); ``owner`` (N,) charges each query.

        Raises ``ValueError`` if x holds a NaN or infinity, ``QueryBudgetExceeded`` past an owner's budget.
        """
        self._admit(x, owner)
        return self._logits(x).softmax(1).to(x.device)
