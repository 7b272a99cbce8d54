"""The VP chapter's attacks (artefact ``vp_attack``): per-function shadow-model attack scores on the target's
members and non-members for each feature set, under one NMID setting and one attack classifier, with the attack
metrics and the utility of the defended release."""

from __future__ import annotations

import numpy as np

from leakage.experiments.vp.configs import VPAttackRunConfig
from leakage.experiments.vp.models import VPModelRun, train_vp_model, utility
from leakage.membership import MembershipResult
from leakage.metrics import bootstrap_tprs, resolve_low_fprs, summarize, tpr_at_zero_fp_interval
from leakage.seed import derive_seed
from leakage.store import Store
from leakage.vp.attack import attack_label, shadow_attack
from leakage.vp.features import RawOutputs, check_feature_sets

def raw_outputs(run: VPModelRun) -> RawOutputs:
    """A trained model's raw outputs on its members then its non-members, as the attack takes them."""
    parts = [run.outputs("in"), run.outputs("out")]
    embedding, logits, labels = (np.concatenate([p[i] for p in parts]) for i in range(3))
    member = np.r_[np.ones(len(parts[0][2]), bool), np.zeros(len(parts[1][2]), bool)]
    return RawOutputs(embedding, logits, labels, member, name=run.config.role)


def run_vp_attack(config: VPAttackRunConfig, store: Store | None = None) -> dict:
    """Scores, attack metrics per feature set, and the defended release's utility, for one attack setting.

    The computation is :func:`leakage.vp.attack.shadow_attack` on the target's and the shadow's recorded
    outputs (the same function :func:`leakage.api.attack_code_model` runs on a model handed in).
    Returns the artefact: ``is_member`` (2n,) bool (target members first), ``scores_<i>`` (2n,) for the
    i-th feature set (higher = member), ``metrics`` {feature set: summarize()}, ``utility`` (on the
    held-out non-members, from the defended release) and ``utility_members``. :func:`vp_results` turns it
    into :class:`~leakage.api.MembershipResult` objects.
    """
    store = store or Store()
    check_feature_sets(config.feature_sets)
    if config.target.role != "target" or config.shadow.role != "shadow":
        raise ValueError("an attack needs a target config (role 'target') and a shadow config (role 'shadow')")

    def compute() -> dict:
        target = raw_outputs(train_vp_model(config.target, store))
        shadow = raw_outputs(train_vp_model(config.shadow, store))
        outcome = shadow_attack(target, shadow, config.nmid, config.attack, config.feature_sets)
        release, is_member = outcome.target_release, target.is_member
        payload: dict = {"is_member": is_member, "metrics": {}}
        for i, feature_set in enumerate(config.feature_sets):
            scores = outcome.scores[feature_set]
            payload[f"scores_{i}"] = scores
            boot_seed = _boot_seed(config, feature_set)
            metrics = summarize(scores, is_member, n_boot=config.n_boot, seed=boot_seed)
            if config.tpr_boot:  # the TPR at 1% FPR's bootstrap CI, and the TPR at zero false positives' exact one
                (metrics["tpr_at_1pct_fpr_lo"], metrics["tpr_at_1pct_fpr_hi"]), = bootstrap_tprs(
                    scores, is_member, (0.01,), n_boot=config.tpr_boot, seed=boot_seed)
                metrics["tpr_at_0fp_lo"], metrics["tpr_at_0fp_hi"] = tpr_at_zero_fp_interval(scores, is_member)
            payload["metrics"][feature_set] = resolve_low_fprs(metrics)  # NaN where 1% FPR < 1/n0
        payload["utility"] = utility(target.labels[~is_member], release.prediction[~is_member])
        payload["utility_members"] = utility(target.labels[is_member], release.prediction[is_member])
        payload["label_kept"] = float(np.mean(release.prediction == target.logits.argmax(1)))
        return payload

    return store.cached("vp_attack", config, compute, seed=config.attack.seed)


def _boot_seed(config: VPAttackRunConfig, feature_set: str) -> int:
    return derive_seed(config.attack.seed, "boot", feature_set)


def vp_results(config: VPAttackRunConfig, result: dict) -> dict[str, MembershipResult]:
    """One :class:`~leakage.api.MembershipResult` per feature set of a :func:`run_vp_attack` artefact.

    ``scores`` (2n,) higher = member, ``is_member`` (2n,) as stored; ``indices`` are positions among the
    target's members then non-members (the ``function`` of :func:`scores_frame`); ``config`` is the run's
    config; the bootstrap seed and ``n_boot`` are the run's, so the AUC and its CI equal the stored metrics
    (the TPR CIs use ``config.n_boot`` resamples). No extras: the artefact keeps only the scores.
    """
    is_member = np.asarray(result["is_member"], bool)
    return {feature_set: MembershipResult(attack=attack_label(feature_set, config.attack, config.nmid),
                                          scores=np.asarray(result[f"scores_{i}"], np.float64),
                                          is_member=is_member, config=config, seed=_boot_seed(config, feature_set),
                                          n_boot=config.n_boot)
            for i, feature_set in enumerate(config.feature_sets)}
