"""Profiles: the parameters each notebook gets. A profile sets parameters only; the code path is the same.

- ``smoke``: CI; the whole book in minutes on 2 CPU cores; tiny, on data that ships with scikit-learn.
- ``default``: a CPU laptop, about 47 minutes on 2 cores (see the README); real data available offline (Fashion-MNIST from
  Debian's ``dataset-fashion-mnist``), sizes that carry the papers' effects.
- ``paper``: the papers' own data sets, sizes, epochs and query budgets; for a GPU, with downloaded data.
"""

from __future__ import annotations

from typing import Any

PROFILES: tuple[str, ...] = ("smoke", "default", "paper")

# A profile holds only what differs from the notebooks' own `parameters` cells, which are the smoke
# profile (a test checks both). The runner resolves a notebook's parameters: its cell's values, then the
# profile's changes, then `--set` overrides.

# The target models M-0..M-5 every label-only notebook attacks (the same parameters give the same,
# cached, targets): the changes from the cells' digits targets.
TARGET_CHANGES: dict[str, dict[str, Any]] = {
    "default": {"datasets": ["fashion-mnist"], "scale": 1.0, "epochs": 50, "min_steps": 1000},
    "paper": {"datasets": ["cifar10", "cifar100", "gtsrb", "lfw"], "scale": 1.0, "epochs": 200, "min_steps": 0,
              "width": 64},
}

# Notebook name -> profile -> the parameters that differ from the notebook's cell (besides `profile`).
NOTEBOOK_PARAMETERS: dict[str, dict[str, dict[str, Any]]] = {
    "lz_targets": {"smoke": {}, "default": dict(TARGET_CHANGES["default"]), "paper": dict(TARGET_CHANGES["paper"])},
    "lz_transfer": {
        "smoke": {},
        "default": {**TARGET_CHANGES["default"], "shadow_size": 5000, "shadow_epochs": 20, "shadow_min_steps": 500,
                    "grid_sizes": [1250, 5000], "grid_widths": [8, 16, 24], "n_boot": 1000},
        "paper": {**TARGET_CHANGES["paper"], "shadow_epochs": 200, "shadow_min_steps": 0,
                  "grid_sizes": [5000, 15000, 25000, 35000, 42000], "grid_widths": [32, 48, 64, 80], "n_boot": 1000},
    },
    "lz_boundary": {
        "smoke": {},
        "default": {**TARGET_CHANGES["default"], "max_per_side": 100, "hsj_budget": 1000, "qeba_budget": 500,
                    "qeba_ratio": 4, "reference_samples": 40, "certify_per_side": 100, "certify_n": 200,
                    "tsne_per_side": 150, "n_boot": 1000},
        "paper": {**TARGET_CHANGES["paper"], "max_per_side": 200, "hsj_budget": 15000, "qeba_budget": 7000,
                  "qeba_ratio": 4, "attack_norms": ["l2", "linf"], "reference_samples": 100, "certify_per_side": 200,
                  "certify_n0": 100, "certify_n": 100000, "tsne_per_side": 1000, "n_boot": 1000},
    },
    "lz_defences": {
        "smoke": {},
        "default": {**TARGET_CHANGES["default"], "l1": [0.0001], "l2": [0.001, 0.01],
                    "memguard_sets": [["fashion-mnist", 1.0], ["digits", 0.25]], "shadow_size": 2500,
                    "shadow_epochs": 20, "shadow_min_steps": 500, "boundary_budget": 1000, "boundary_per_side": 50,
                    "n_boot": 1000},
        "paper": {**TARGET_CHANGES["paper"], "l1": [0.0001, 0.001, 0.005], "l2": [0.01, 0.05, 0.1],
                  "dropout": [0.25, 0.5, 0.75], "augment": ["flip_crop", "strong"], "dp_noise": [0.1, 0.5, 1.1],
                  "dp_epsilon": [1.0, 8.0], "adv_reg": [1.0, 3.0, 6.0],
                  "memguard_sets": [["cifar10", 1.0], ["lfw", 1.0]], "shadow_epochs": 200, "shadow_min_steps": 0,
                  "boundary_budget": 15000, "boundary_per_side": 200, "n_boot": 1000},
    },
    "lz_ladder": {
        "smoke": {},
        "default": {**TARGET_CHANGES["default"], "ladder_targets": [2, 5], "max_per_side": 100, "reference_models": 4,
                    "rmia_population": 1000, "augment_shift": 2, "noise_queries": 500, "n_boot": 1000},
        "paper": {**TARGET_CHANGES["paper"], "ladder_targets": [2, 5], "max_per_side": 200, "reference_models": 64,
                  "lira_global_variance": False, "rmia_population": 5000, "augment_shift": 2, "noise_queries": 2500,
                  "n_boot": 1000},
    },
    "vp_mia": {
        "smoke": {},
        "default": {"per_set": 300, "max_len": 128, "vocab_size": 2000, "rnn_embed": 64, "rnn_hidden": 64,
                    "bert_hidden": 64, "bert_intermediate": 128, "epochs": {"bilstm": 25, "bigru": 25, "codebert": 20},
                    "sigmas": [0.0, 2.0, 10.0], "n_boot": 1000},
        "paper": {"per_set": 5000, "max_len": 512, "vocab_size": 10000, "max_chars": 6000, "rnn_embed": 128,
                  "rnn_hidden": 128, "bert_hidden": 768, "bert_layers": 12, "bert_heads": 12,
                  "bert_intermediate": 3072, "codebert_path": "microsoft/codebert-base",
                  "epochs": {"bilstm": 50, "bigru": 50, "codebert": 10},
                  "lr": {"bilstm": 1e-3, "bigru": 1e-3, "codebert": 2e-5}, "sigmas": [0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
                  "attack_hidden": [128, 64], "attack_iter": 300, "n_boot": 1000},
    },
    "llm_mia": {
        "smoke": {},
        "default": {"scratch_docs_per_pool": 30, "scratch_passages_per_doc": 4, "scratch_passage_words": 48,
                    "scratch_layers": 4, "scratch_width": 128, "scratch_vocab": 2048, "scratch_checkpoints": [1, 3],
                    "scratch_lr": 2e-3, "scratch_neighbours": 5, "pretrained_model": "smollm2-135m",
                    "pretrained_epochs": 2, "pretrained_checkpoints": [1], "n_boot": 1000},
        "paper": {"scratch_docs_per_pool": 150, "scratch_passages_per_doc": 6, "scratch_passage_words": 64,
                  "scratch_layers": 6, "scratch_width": 384, "scratch_vocab": 8192, "scratch_epochs": 20,
                  "scratch_checkpoints": [1, 2, 5, 10], "scratch_lr": 1e-3, "scratch_neighbours": 25,
                  "pretrained_model": "smollm2-135m", "pretrained_method": "full", "pretrained_docs_per_pool": 150,
                  "pretrained_passages_per_doc": 4, "pretrained_passage_words": 64, "pretrained_epochs": 5,
                  "pretrained_checkpoints": [1, 2, 3, 4], "pretrained_lr": 5e-5, "pretrained_batch_size": 16,
                  "pretrained_neighbours": 25, "k_grid": [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0], "max_tokens": 256,
                  "n_boot": 1000},
    },
    "audit": {
        "smoke": {},
        "default": {"curve_sizes": [50, 100, 200, 400], "vision_dataset": "fashion-mnist", "vision_base": 3000,
                    "vision_test": 1000, "vision_canaries": 600, "width": 16, "epochs": 10, "batch_size": 256,
                    "nodp_min_steps": 1500, "boundary_budget": 0, "lm_docs_per_pool": 20, "lm_passages_per_doc": 3,
                    "lm_passage_words": 32, "lm_layers": 2, "lm_width": 64, "lm_vocab": 1024, "lm_epochs": 15,
                    "lm_batch_size": 16, "lm_canaries": 200, "lm_canary_words": 12, "lm_max_tokens": 64},
        "paper": {"epsilons": [1.0, 2.0, 4.0, 8.0], "curve_sizes": [100, 250, 500, 1000, 2500, 5000],
                  "vision_dataset": "cifar10", "vision_base": 25000, "vision_test": 10000, "vision_canaries": 5000,
                  "width": 64, "epochs": 50, "batch_size": 1024, "lr": 2e-3, "nodp_min_steps": 20000,
                  "boundary_budget": 2000, "lm_docs_per_pool": 150, "lm_passages_per_doc": 6, "lm_passage_words": 64,
                  "lm_layers": 6, "lm_width": 384, "lm_vocab": 8192, "lm_epochs": 20, "lm_batch_size": 64,
                  "lm_lr": 1e-3, "lm_canaries": 1000, "lm_canary_words": 16, "lm_max_tokens": 128},
    },
    "audit_llm": {
        "smoke": {},
        "default": {"epsilons": [1.0, 4.0, 8.0], "docs_per_pool": 12, "passages_per_doc": 3, "passage_words": 32,
                    "canaries": 100, "canary_words": 12, "secrets": 32, "secret_digits": 6, "alternatives": 31,
                    "epochs": 3},
        "paper": {"epsilons": [1.0, 4.0, 8.0], "docs_per_pool": 150, "passages_per_doc": 4, "passage_words": 64,
                  "canaries": 1000, "canary_words": 16, "secrets": 200, "secret_digits": 9, "alternatives": 4095,
                  "epochs": 5, "lr": 1e-3, "batch_size": 32, "lora_r": 16, "max_tokens": 128},
    },
    "own_model": {
        "smoke": {},
        "default": {"image_members": 300, "code_per_set": 200, "n_boot": 1000},  # a tutorial page: kept small
        "paper": {"image_members": 600, "image_epochs": 100, "shadow_epochs": 100, "boundary_budget": 15000,
                  "lm_docs": 60, "lm_epochs": 20, "lm_width": 128, "code_per_set": 1000, "n_boot": 1000},
    },
    "intro": {profile: {} for profile in PROFILES},
    "scorecard": {profile: {} for profile in PROFILES},
}

# What each profile costs, measured with the command in the README (see its "Profiles" section).
PROFILE_COST = {
    "smoke": "a few minutes on 2 CPU cores",
    "default": "about 47 minutes on 2 CPU cores (measured from a fresh clone, set-up included; see the README)",
    "paper": "hours on one GPU; needs the downloaded data sets",
}


class UnknownProfileError(ValueError):
    """A profile name that is not one of PROFILES."""


def check_profile(profile: str) -> str:
    """``profile`` itself, or a clear error listing the valid names."""
    if profile not in PROFILES:
        raise UnknownProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile
