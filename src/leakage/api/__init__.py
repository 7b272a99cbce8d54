"""Measure the membership leakage of your own model: the book's attacks as a library.

Three entry points, one per kind of model, each returning :class:`MembershipResult` objects
(per-candidate scores, higher = member, and AUC / TPR at 1% and 0.1% FPR / TPR at zero false positives with
CIs; a TPR at an FPR below 1/(non-members) is NaN, see :func:`leakage.metrics.fpr_resolution`):

- :func:`attack_classifier` (:mod:`leakage.api.vision`): any torch image classifier (N, C, H, W) in
  [0, 1] -> logits; every label-only and score-based attack of part 1;
- :func:`attack_language_model` (:mod:`leakage.api.text`): any causal LM + tokenizer (or a path / Hub id)
  and member / non-member texts; the six LM attacks, optional reference model and neighbours;
- :func:`attack_code_model` (:mod:`leakage.api.code`): any code classifier (a callable on code strings)
  with the shadow-model attack and NMID.

A result is never another model's: ``attack_classifier`` caches only when given a store, keyed by the
digest of the model's weights and of the data's content; the LM and code entry points never cache (each
call scores the weights the model holds at that moment).
"""

from __future__ import annotations

from typing import Any

from leakage.membership import EXTRAS, MembershipResult, summary_frame

__all__ = ["EXTRAS", "MembershipResult", "attack_classifier", "attack_code_model", "attack_language_model",
           "summary_frame"]

_LAZY = {"attack_classifier": "leakage.api.vision", "attack_language_model": "leakage.api.text",
         "attack_code_model": "leakage.api.code"}


def __getattr__(name: str) -> Any:  # the entry points import torch/transformers: load them when asked
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'leakage.api' has no attribute {name!r}")
