"""Reference model (Carlini et al. 2021): score = -(L(x; M) - L(x; M_ref)).

Calibrates the target's loss by the loss of a reference model M_ref that saw same-distribution
text but not x: a text that is merely easy has a low loss under both; a member's loss drops only
under the target. Higher = member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leakage.config import doc_field
from leakage.lm.attacks.base import Attack, AttackInputs
from leakage.registry import register


@register("reference", modality="text")
class ReferenceAttack(Attack):
    """score(x) = L(x; M_ref) - L(x; M)  (higher = member); ``reference`` names the model in the inputs."""

    @dataclass(frozen=True)
    class Config:
        """The reference model the target's loss is calibrated by."""

        reference: str = doc_field("disjoint", "name of the reference model's statistics in AttackInputs.references")

    @property
    def label(self) -> str:
        return f"reference ({self.config.reference})"

    def _reference(self, inputs: AttackInputs):
        reference = self.config.reference
        if reference not in inputs.references:
            raise ValueError(f"reference attack needs the statistics of reference model {reference!r}; "
                             f"the inputs hold {sorted(inputs.references) or 'none'}")
        return inputs.references[reference]

    def failed(self, inputs: AttackInputs) -> np.ndarray:
        """The target or the reference scored no token of the text."""
        return inputs.target.failed | self._reference(inputs).failed

    def score(self, inputs: AttackInputs) -> np.ndarray:
        return -(inputs.target.loss() - self._reference(inputs).loss())
