"""What every language-model attack reads, and the one signature it implements.

An attack never runs a model: it reads the per-token statistics that :class:`leakage.lm.scoring.Scorer`
computed once per text and model, bundled in :class:`AttackInputs`, and returns one score per text,
**higher = member**. A NaN statistic is refused when the inputs are bundled (``ValueError``: it is a
bug or a broken model, never a score); an infinite one (a log-prob of -inf) gives a score that is not
finite, which becomes the lowest float, i.e. "least likely member" (see :func:`finite_scores`).

A *failed* text (no token to score: an empty text, see :mod:`leakage.lm.scoring`) gets ``FAILED_SCORE``
from every attack, without a numpy warning and without changing the other texts' scores; an attack
that also reads other statistics fails a text when those fail too (:meth:`Attack.failed`).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from leakage.checks import check_finite
from leakage.lm.scoring import StatsBatch

FAILED_SCORE = float(np.finfo(np.float64).min)


@dataclass(frozen=True, eq=False)
class AttackInputs:
    """Everything the attacks may read, for N target texts.

    - ``target``: statistics of the N texts under the target model;
    - ``references``: reference-model name -> statistics of the same N texts under that model;
    - ``neighbours``: statistics under the target model of N * n neighbour texts, the neighbours of
      text i in rows ``i*n .. i*n + n - 1`` (None when no neighbours were made).

    Raises ``ValueError`` when a reference holds another number of texts or scored other texts than the
    target (a reference that truncated or tokenised a text differently calibrates another text), when
    the neighbour rows are not N * n, or when a statistic of a real (unpadded) token is NaN.
    """

    target: StatsBatch
    references: Mapping[str, StatsBatch] = field(default_factory=dict)
    neighbours: StatsBatch | None = None
    n_neighbours: int = 0

    def __post_init__(self) -> None:
        n = len(self.target)
        for name, ref in self.references.items():
            if len(ref) != n:
                raise ValueError(f"reference {name!r} has statistics of {len(ref)} texts, the target of {n}")
            if ref.texts != self.target.texts:
                i = next(i for i, (a, b) in enumerate(zip(ref.texts, self.target.texts)) if a != b)
                raise ValueError(f"reference {name!r} scored another text than the target at row {i} "
                                 f"({ref.texts[i][:40]!r}... vs {self.target.texts[i][:40]!r}...); both must score "
                                 "the same text, tokenised and truncated the same way")
        if self.neighbours is not None and len(self.neighbours) != n * self.n_neighbours:
            raise ValueError(f"expected {n} x {self.n_neighbours} neighbour rows, got {len(self.neighbours)}")
        batches = {"target": self.target, **{f"reference {k!r}": v for k, v in self.references.items()}}
        if self.neighbours is not None:
            batches["neighbours"] = self.neighbours
        for label, batch in batches.items():
            for stat in ("logprobs", "mu", "sigma"):
                check_finite(f"{stat} of the {label} statistics", getattr(batch, stat)[batch.mask], allow_inf=True)

    def __len__(self) -> int:
        return len(self.target)


def finite_scores(scores: np.ndarray, attack: str) -> np.ndarray:
    """(N,) float64 scores with every non-finite value replaced by FAILED_SCORE (with a warning)."""
    scores = np.asarray(scores, dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        warnings.warn(f"attack {attack}: {int(bad.sum())} score(s) were not finite (a model gave non-finite "
                      "statistics); they get the lowest score (least likely member)", RuntimeWarning, stacklevel=3)
        scores = np.where(bad, FAILED_SCORE, scores)
    return scores


class Attack(ABC):
    """One membership-inference attack on a causal LM: ``attack(inputs)`` -> (N,) scores, higher = member.

    Calling it gives the (N,) float64 scores of :meth:`score` with ``FAILED_SCORE`` where :meth:`failed`
    (a text with nothing to score) or where a score is not finite. Built from its frozen ``Config``
    (``cls(config)``; None = the defaults), registered with modality ``"text"`` in :mod:`leakage.registry`
    (which sets ``name``).
    """

    name: str = ""

    @dataclass(frozen=True)
    class Config:
        """The attack has no parameters."""

    def __init__(self, config: Config | None = None):
        if config is not None and not isinstance(config, self.Config):
            raise ValueError(f"attack {self.name!r} takes a {self.Config.__qualname__} (or None), got "
                             f"{type(config).__name__}")
        self.config = config if config is not None else self.Config()

    @abstractmethod
    def score(self, inputs: AttackInputs) -> np.ndarray:
        """(N,) raw scores, higher = member (any value where :meth:`failed`: it is replaced)."""

    def failed(self, inputs: AttackInputs) -> np.ndarray:
        """(N,) bool: texts the attack cannot score (the target scored no token of them)."""
        return inputs.target.failed

    def __call__(self, inputs: AttackInputs) -> np.ndarray:
        raw = np.asarray(self.score(inputs), dtype=np.float64)
        return finite_scores(np.where(self.failed(inputs), FAILED_SCORE, raw), self.label)

    @property
    def label(self) -> str:
        """The name shown in tables (attack name plus its parameters)."""
        return self.name
