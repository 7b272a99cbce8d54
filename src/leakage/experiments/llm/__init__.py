"""Stage and chapter ``llm_mia``: membership inference on causal LMs with known members (cached in the store).

One module per concern:

- :mod:`~leakage.experiments.llm.configs`  the target, statistics and run configs and the Brown pools they name;
- :mod:`~leakage.experiments.llm.models`   the scratch tokenizer, training and loading a model (``lm_tokenizer``,
  ``lm_target``);
- :mod:`~leakage.experiments.llm.runs`     per-token statistics and every attack's scores (``lm_stats``,
  ``lm_scores``), :class:`LLMRun`;
- :mod:`~leakage.experiments.llm.jobs`     the chapter's targets and runs from its :class:`LLMParameters`, one
  staged job per artefact and :func:`plan_tasks`;
- :mod:`~leakage.experiments.llm.frames`   the chapter's tidy tables, loaded from the store after the plan ran.

The names below are what the notebooks, the audit chapters, the API and the tests use.
"""

from leakage.experiments.llm.configs import (DATA_NOTE, REFERENCES, TRAIN_ON, LLMRunConfig, LMTargetConfig, StatsConfig,
                                             base_config, corpus, data_sources, pools_for, reference_config,
                                             target_config, training_texts)
from leakage.experiments.llm.frames import (AUC_COLUMNS, attack_labels, attack_table, config_table, cost_table,
                                            earliest_auc_table, earliest_epoch_rows, last_epoch_rows, last_runs,
                                            load_runs, mink_sweep_table, neighbourhood_table, pools_table,
                                            roc_table, scores_table, targets_table, zlib_table)
from leakage.experiments.llm.jobs import (LLMRunJob, LMStatsJob, LMTargetJob, LMTokenizerJob, chapter_targets,
                                          lm_target_task, plan_tasks, pretrained_name, run_configs, run_tasks,
                                          stats_task, tokenizer_task)
from leakage.experiments.llm.models import (cached_requiring, embedding_marks, fresh_model, load_model,
                                            scratch_tokenizer, tokenizer_key, train_lm_target)
from leakage.experiments.llm.runs import (LLMRun, attack_specs, describe_target, eval_neighbours, mink_table,
                                          model_stats, run_llm, run_stats_configs, summary_table)

__all__ = ["AUC_COLUMNS", "DATA_NOTE", "REFERENCES", "TRAIN_ON", "LLMRun", "LLMRunConfig", "LLMRunJob", "LMStatsJob",
           "LMTargetConfig", "LMTargetJob", "LMTokenizerJob", "StatsConfig", "attack_labels", "attack_specs",
           "attack_table", "base_config", "cached_requiring", "chapter_targets", "config_table", "corpus",
           "cost_table", "data_sources", "describe_target", "earliest_auc_table", "earliest_epoch_rows",
           "embedding_marks", "eval_neighbours", "fresh_model", "last_epoch_rows", "last_runs", "lm_target_task",
           "load_model", "load_runs", "mink_sweep_table", "mink_table", "model_stats", "neighbourhood_table",
           "plan_tasks", "pools_for", "pools_table", "pretrained_name", "reference_config", "roc_table",
           "run_configs", "run_llm", "run_stats_configs", "run_tasks", "scores_table", "scratch_tokenizer",
           "stats_task", "summary_table", "target_config", "targets_table", "tokenizer_key", "tokenizer_task",
           "train_lm_target", "training_texts", "zlib_table"]
