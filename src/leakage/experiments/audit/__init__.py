"""The ``audit`` chapter: auditing DP training with membership inference.

Train targets with canaries under DP-SGD (or none), score the canaries with the book's attacks and turn the
scores into empirical epsilon lower bounds. One module per concern:

- :mod:`~leakage.experiments.audit.targets`: the audited CNN and GPT-2, their canaries and their canary scores
  (the stages' work, cached in the store);
- :mod:`~leakage.experiments.audit.jobs`: the configs from the chapter's parameters
  (:class:`~leakage.experiments.parameters.AuditParameters`), the typed jobs and their stages, :func:`plan_tasks`
  and :func:`audit_results` (what the notebook loads once the plan ran);
- :mod:`~leakage.experiments.audit.frames`: the bounds of every attack and the frames the notebook shows
  (:func:`models_frame`, :func:`eps_frame`, :func:`curve_frame`, :func:`best_curve`, :func:`canary_frame`).

The names callers use (the notebook, the ``audit_llm`` chapter, the registry's ``plan_tasks``) are re-exported here.
"""

from leakage.experiments.audit.frames import (audit_rows, best_curve, canary_frame, curve_frame, curve_rows,
                                              epsilon_label, eps_frame, models_frame, tightest_bounds)
from leakage.experiments.audit.jobs import (MODELS, AuditLMScoresJob, AuditVisionScoresJob, AuditVisionTargetJob,
                                            audit_results, levels, lm_config, plan_tasks, vision_config)
from leakage.experiments.audit.targets import (AuditScores, LMAuditConfig, VisionAuditConfig, VisionScoresKey,
                                               dp_hooks, dp_record, lm_scores, lm_target, lm_texts,
                                               train_vision_target, vision_canaries, vision_scores)

__all__ = ["MODELS", "AuditLMScoresJob", "AuditScores", "AuditVisionScoresJob", "AuditVisionTargetJob",
           "LMAuditConfig", "VisionAuditConfig", "VisionScoresKey", "audit_results", "audit_rows", "best_curve",
           "canary_frame", "curve_frame", "curve_rows", "dp_hooks", "dp_record", "epsilon_label", "eps_frame",
           "levels", "lm_config", "lm_scores", "lm_target", "lm_texts", "models_frame", "plan_tasks",
           "tightest_bounds", "train_vision_target", "vision_canaries", "vision_config", "vision_scores"]
