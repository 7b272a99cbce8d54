"""Reference model (Carlini et al. 2021): score = -(L(x; M) - L(x; M_ref)).

Calibrates the target's loss by the loss of a reference model M_ref that saw same-distribution
text but not x: a text that is merely easy has a low loss under both; a member's loss drops only
under the target. Higher = member.
"""

from __future__ import annotations

import numpy as np

from leakage.lm.attacks.base import Attack, AttackInputs


class ReferenceAttack(Attack):
    """score(x) = L(x; M_ref) - L(x; M)  (higher = member); ``reference`` names the model in the inputs."""

    name = "reference"

    def __init__(self, reference: str = "disjoint"):
        self.reference = reference

    @property
    def label(self) -> str:
        return f"reference ({self.reference})"

    def _reference(self, inputs: AttackInputs):
        if self.reference not in inputs.references:
            raise ValueError(f"reference attack needs the statistics of reference model {self.reference!r}; "
                             f"the inputs hold {sorted(inputs.references) or 'none'}")
        return inputs.references[self.reference]

    def failed(self, inputs: AttackInputs) -> np.ndarray:
        """The target or the reference scored no token of the text."""
        return inputs.target.failed | self._reference(inputs).failed

    def score(self, inputs: AttackInputs) -> np.ndarray:
        return -(inputs.target.loss() - self._reference(inputs).loss())
