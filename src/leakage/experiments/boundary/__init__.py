"""The ``lz_boundary`` chapter (Li & Zhang, sections 4 and 5): its configs, jobs, plan and frames.

- :mod:`.configs`: the configs built from the chapter's parameters (:class:`BoundaryParameters`): the boundary
  attacks, candidates, randomized smoothing, part 1's attacks of Fig. 10 (from ``params.transfer``);
- :mod:`.jobs`: the jobs (Algorithm 3's reference run and threshold sweep, certified radii, t-SNE), their
  stages and the plan, :func:`plan_tasks`;
- :mod:`.frames`: what the notebook tables and plots, loaded through the store once the plan ran.
"""

from leakage.experiments.boundary.configs import (NORM_NAMES, PART1_ATTACKS, PERCENTILES, attack_configs,
                                                  candidates, certify_config, l2_method, part1_runs,
                                                  reference_run, same_targets, setup_frame, target_of)
from leakage.experiments.boundary.frames import (ACR_COLUMNS, COST_COLUMNS, L2_SUMMARY_COLUMNS, RunKey,
                                                 acr_table, attack_table, boundary_runs, candidate_frames,
                                                 certified_radius_tables, comparison, cost_table, l2_summary,
                                                 norm_auc_frame, perturbations, query_curve, targets,
                                                 threshold_curve, tsne_frame, unflipped_table)
from leakage.experiments.boundary.jobs import (CertifyJob, ReferenceJob, ThresholdSweepJob, TsneJob, certified,
                                               certify_jobs, plan_tasks, reference_jobs, reference_outputs,
                                               sweep_job, threshold_sweep, tsne, tsne_jobs)

__all__ = ["ACR_COLUMNS", "COST_COLUMNS", "L2_SUMMARY_COLUMNS", "NORM_NAMES", "PART1_ATTACKS", "PERCENTILES",
           "CertifyJob", "ReferenceJob", "RunKey", "ThresholdSweepJob", "TsneJob", "acr_table", "attack_configs",
           "attack_table", "boundary_runs", "candidate_frames", "candidates", "certified", "certified_radius_tables",
           "certify_config", "certify_jobs", "comparison", "cost_table", "l2_method", "l2_summary", "norm_auc_frame",
           "part1_runs", "perturbations", "plan_tasks", "query_curve", "reference_jobs", "reference_outputs",
           "reference_run", "same_targets", "setup_frame", "sweep_job", "target_of", "targets", "threshold_curve",
           "threshold_sweep", "tsne", "tsne_frame", "tsne_jobs", "unflipped_table"]
