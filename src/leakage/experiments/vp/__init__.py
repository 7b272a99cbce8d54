"""The ``vp_mia`` chapter (Liao et al.'s shadow-model attack on vulnerability-prediction models, and NMID).

Modules, one concern each:

- :mod:`~leakage.experiments.vp.configs`: the run configs (corpus, model, baseline, attack), hashed into keys;
- :mod:`~leakage.experiments.vp.data`: the corpus, its four sets and the tokenizer (artefact ``vp_tokenizer``);
- :mod:`~leakage.experiments.vp.models`: a trained target or shadow and its raw outputs (``vp_model``);
- :mod:`~leakage.experiments.vp.baseline`: the bag-of-tokens baseline's utility (``vp_baseline``);
- :mod:`~leakage.experiments.vp.attacks`: per-function attack scores under one NMID setting (``vp_attack``);
- :mod:`~leakage.experiments.vp.runs`: the chapter's runs, from its typed parameters;
- :mod:`~leakage.experiments.vp.jobs`: the jobs, their stages and the chapter's plan (:func:`plan_tasks`);
- :mod:`~leakage.experiments.vp.frames`: the tidy frames the notebook and the claims read (they load only).

Every artefact is keyed by its full config, including the content digests of the corpus's source and of a
CodeBERT checkpoint. This package re-exports what the notebook, the tests and the runner
(``leakage.experiments.vp:plan_tasks``) use.
"""

from leakage.experiments.vp.attacks import raw_outputs, run_vp_attack, vp_results
from leakage.experiments.vp.baseline import run_vp_baseline
from leakage.experiments.vp.configs import (ROLES, VP_DATASETS, VPAttackRunConfig, VPBaselineRunConfig, VPDataConfig,
                                            VPModelRunConfig, shadow_of)
from leakage.experiments.vp.data import (corpus_summary, encode_set, load_corpus, load_tokenizer, prepare,
                                         typical_vulnerable_member)
from leakage.experiments.vp.frames import (baseline_frame, baseline_share, claim_scores, frontier_frame,
                                           label_only_frame, mia_frames, nmid_frames, release_predictions,
                                           scores_frame, split_frame, utility_frame)
from leakage.experiments.vp.jobs import (VPAttackJob, VPBaselineJob, VPModelJob, VPTokenizerJob, attack_task,
                                         model_task, plan_tasks, tokenizer_tasks)
from leakage.experiments.vp.models import VPModelRun, train_vp_model, utility
from leakage.experiments.vp.sources import source_digest, source_path
from leakage.experiments.vp.runs import (ATTACKERS, MODEL_NAMES, SCORE_KEYS, attack_config, baseline_config,
                                         data_config, model_config, model_name, nmid_attacks, target_config,
                                         undefended_attacks)

__all__ = [
    "ATTACKERS", "MODEL_NAMES", "ROLES", "SCORE_KEYS", "VPAttackJob", "VPAttackRunConfig", "VPBaselineJob",
    "VPBaselineRunConfig", "VPDataConfig", "VPModelJob", "VPModelRun", "VPModelRunConfig", "VPTokenizerJob",
    "VP_DATASETS", "attack_config", "attack_task", "baseline_config", "baseline_frame", "baseline_share",
    "claim_scores", "corpus_summary", "data_config", "encode_set", "frontier_frame", "label_only_frame",
    "load_corpus", "load_tokenizer", "mia_frames", "model_config", "model_name", "model_task", "nmid_attacks",
    "nmid_frames", "plan_tasks", "prepare", "raw_outputs", "release_predictions", "run_vp_attack",
    "run_vp_baseline", "scores_frame", "shadow_of", "source_digest", "source_path", "split_frame", "target_config",
    "tokenizer_tasks", "train_vp_model", "typical_vulnerable_member", "undefended_attacks", "utility",
    "utility_frame", "vp_results",
]
