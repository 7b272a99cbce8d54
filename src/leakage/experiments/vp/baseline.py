"""The VP chapter's bag-of-tokens baseline (artefact ``vp_baseline``): a logistic regression on token presence,
scored on exactly the held-out functions the target models' utility is measured on."""

from __future__ import annotations

from leakage.experiments.vp.configs import VPBaselineRunConfig
from leakage.experiments.vp.data import prepare
from leakage.store import Store
from leakage.vp.baseline import bag_of_tokens_baseline

def run_vp_baseline(config: VPBaselineRunConfig, store: Store | None = None) -> dict:
    """The baseline's held-out utility on exactly the data the target models' utility is measured on.

    Trained on ``target_in``, evaluated on ``target_out`` (a model's ``heldout_*`` metrics); returns
    :func:`leakage.vp.baseline.bag_of_tokens_baseline`'s dict (accuracy, precision, recall, f1,
    majority_rate, n_train, n_test, vocabulary). Cached in the store as ``vp_baseline``.
    """
    store = store or Store()

    def compute() -> dict:
        corpus, splits = prepare(config.data)
        train, test = splits["target_in"], splits["target_out"]
        return bag_of_tokens_baseline([corpus.code[i] for i in train], corpus.label[train],
                                      [corpus.code[i] for i in test], corpus.label[test], config.baseline)

    return store.cached("vp_baseline", config, compute, seed=config.data.split.seed)
