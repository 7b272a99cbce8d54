"""Saying so when an attack could not apply its method: one warning category and one message shape.

A label-only attack may be unable to do what it is meant to do for some candidates within its query budget or the
data it was given: the boundary attack (HopSkipJump, QEBA) may find no label-changing point to start its search
from (:mod:`leakage.attacks.hopskipjump`), the augmentation attack may be configured to query no augmented copy,
the noise attack to add no noise. Such an attack warns with :class:`MethodNotAppliedWarning` (how many
candidates, why, what their score is instead, and which argument would let the method apply) and, where the
failure is per candidate, flags those candidates in its extras (``extras["unstarted"]`` of the boundary attack,
:data:`leakage.membership.EXTRAS`). The score it gives them instead carries no membership information by
construction (each attack's docstring says which), so a failure never ranks a candidate as a member.
"""

from __future__ import annotations

import warnings


class MethodNotAppliedWarning(UserWarning):
    """An attack could not apply its method to some (or all) candidates within its budget or data."""


def warn_not_applied(attack: str, count: int, total: int, what: str, instead: str, remedy: str,
                     subject: str = "candidates") -> None:
    """Warn (:class:`MethodNotAppliedWarning`) that ``attack`` could not apply its method to ``count`` of ``total``
    ``subject``: ``what`` went wrong, what they score ``instead``, and the ``remedy`` (arguments to change).
    Nothing is emitted for ``count == 0``."""
    if count:
        warnings.warn(f"{attack}: {count} of {total} {subject} {what}. {instead}. {remedy}", MethodNotAppliedWarning,
                      stacklevel=3)
