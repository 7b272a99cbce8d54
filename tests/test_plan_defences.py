"""The defence chapter's plan (``lz_defences``): a DAG of staged jobs with stable names, after which the notebook's
frames (Fig. 13, Table 6, the frontier) load everything from the store and compute nothing."""

import time

import numpy as np
import pandas as pd
import pytest

from leakage.chapters import chapter_parameters
from leakage.defenses.memguard import MemGuardConfig
from leakage.experiments import defences
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.label_only import run_attack
from leakage.experiments.part1 import AttackJob, TargetJob, target_task
from leakage.experiments.plan import Plan, plan_for
from leakage.experiments.targets import behind_memguard, train_target
from leakage.store import Store

# The smoke profile's parameters, shrunk so that the whole plan runs in seconds; one strength of each defence.
TINY = {"epochs": 1, "min_steps": 4, "width": 4, "l2": [0.05], "l1": [], "dropout": [0.5], "augment": ["flip_crop"],
        "dp_noise": [1.1], "dp_epsilon": [], "adv_reg": [1.0], "memguard_sets": [["digits", 0.1]],
        "shadow_epochs": 1, "shadow_min_steps": 4, "boundary_budget": 20, "boundary_per_side": 3, "n_boot": 20}


@pytest.fixture(scope="module")
def params():
    return chapter_parameters("lz_defences").changed(**TINY)


@pytest.fixture(scope="module")
def planned(params, tmp_path_factory, one_thread):
    """(store, plan) once every task of the tiny plan has been executed in the plan's order."""
    store = Store(tmp_path_factory.mktemp("defences-store"))
    plan = Plan(defences.plan_tasks(params))
    for t in plan.tasks:
        execute(t.job, store)
    return store, plan


def test_the_plan_is_a_dag_of_staged_jobs_with_stable_names(params):
    tasks = defences.plan_tasks(params)
    plan = Plan(tasks)  # raises for a duplicate, a missing prerequisite or a cycle
    assert all(type(t.job) in STAGES for t in tasks)
    assert [t.name for t in defences.plan_tasks(params)] == [t.name for t in tasks]
    # none, L2, dropout, augmentation, DP-SGD, adv. reg.; Table 6's M-2 is the undefended target (planned once)
    assert plan.counts() == {"target": 6, "attack": 24, "memguard": 1, "memguardattack": 4}
    by_name = {t.name: t for t in tasks}
    for t in tasks:
        if isinstance(t.job, (AttackJob, defences.MemGuardJob)):
            assert t.needs == (target_task(t.job.target).name,)
        if isinstance(t.job, defences.MemGuardAttackJob):
            (need,) = t.needs
            assert by_name[need].job == defences.MemGuardJob(t.job.target, t.job.memguard)
    assert all(isinstance(t.job, TargetJob) for t in tasks if not t.needs)


def test_plan_for_gathers_the_smoke_profile_plan_each_task_once():
    smoke = plan_for({"lz_defences": chapter_parameters("lz_defences")})
    assert smoke.counts() == {"target": 7, "attack": 28, "memguard": 1, "memguardattack": 4}


def test_settings_follow_the_parameters(params):
    settings = defences.defence_settings(params)
    assert [(s.defence, s.strength) for s in settings] == [
        ("none", "-"), ("L2", "0.05"), ("dropout", "0.5"), ("augmentation", "flip_crop"), ("DP-SGD", "noise 1.1"),
        ("adv. reg.", "1")]
    configs = [defences.defended_target(params, s) for s in settings]
    assert len(set(configs)) == len(configs) and all(c.model_index == params.victim for c in configs)
    assert configs[2].arch.dropout == 0.5 and configs[0].arch.dropout == 0.0


def test_frames_load_from_the_store_and_compute_nothing(params, planned):
    store, _ = planned
    since = time.time()
    fig13, scores, accuracy = defences.figure13(params, store)
    tab6, tab6_scores = defences.table6(params, store)
    frontier = defences.frontier(fig13)
    assert store.computed(since) == []
    settings = len(defences.defence_settings(params))
    assert len(fig13) == 4 * settings and list(fig13["attack"][:4]) == ["baseline", "transfer", "boundary",
                                                                        "score-based"]
    assert fig13["auc"].between(0, 1).all() and (fig13["auc_lo"] <= fig13["auc_hi"]).all()
    assert set(scores.columns) >= {"defence", "strength", "attack", "candidate", "is_member", "score"}
    assert len(accuracy) == settings * accuracy["example"].nunique()
    assert list(tab6.columns) == ["dataset", "model", "attack", "auc_without", "auc_with_memguard"]
    assert len(tab6) == 4 and set(tab6_scores["memguard"]) == {"without", "with"}
    assert len(frontier) == settings and frontier["pareto"].any()
    # MemGuard keeps every label: the label-only attacks' scores are unchanged behind it
    for attack in ("baseline", "transfer", "boundary"):
        rows = tab6_scores[tab6_scores.attack == attack]
        np.testing.assert_array_equal(rows[rows.memguard == "with"]["score"].to_numpy(),
                                      rows[rows.memguard == "without"]["score"].to_numpy())


def test_the_old_notebook_path_gives_the_same_numbers(params, planned):
    """The notebook's former loop (train_target, behind_memguard fitted afresh, run_attack) hits the plan's
    artefacts: the same keys, so the same scores, and nothing computed."""
    store, _ = planned
    since = time.time()
    fig13, scores, _ = defences.figure13(params, store)
    tab6, tab6_scores = defences.table6(params, store)
    runs = defences.attack_runs(params, defences.part1.shadow(params))
    setting = defences.defence_settings(params)[-1]
    target = train_target(defences.defended_target(params, setting), store)
    for label, (name, config, candidates) in runs.items():
        result = run_attack(target, name, config, candidates, store, n_boot=params.n_boot)
        row = fig13[(fig13.defence == setting.defence) & (fig13.attack == label)].iloc[0]
        assert row["auc"] == result.metrics["auc"] and row["auc_lo"] == result.metrics["auc_lo"]
        ours = scores[(scores.defence == setting.defence) & (scores.attack == label)]
        np.testing.assert_array_equal(ours["score"].to_numpy(), result.scores)
    config = defences.memguard_target(params, "digits", 0.1)
    guarded = behind_memguard(train_target(config, store), MemGuardConfig(seed=params.seed))
    for label, (name, attack_config, candidates) in defences.memguard_attack_runs(params, config).items():
        result = run_attack(guarded, name, attack_config, candidates, store, n_boot=params.n_boot)
        assert tab6.set_index("attack").loc[label, "auc_with_memguard"] == result.metrics["auc"]
    assert store.computed(since) == []


def test_guarded_target_refuses_a_target_already_behind_memguard(params, planned):
    store, _ = planned
    target = train_target(defences.memguard_target(params, "digits", 0.1), store)
    guarded = defences.guarded_target(target, MemGuardConfig(seed=0), store)
    assert guarded.key != target.key
    with pytest.raises(ValueError, match="already behind"):
        defences.guarded_target(guarded, MemGuardConfig(seed=0), store)


def test_frontier_marks_the_pareto_settings():
    table = pd.DataFrame({"defence": ["none", "none", "L2", "L2", "DP-SGD", "DP-SGD"],
                          "strength": ["-", "-", "0.05", "0.05", "noise 1.1", "noise 1.1"],
                          "attack": ["baseline", "transfer"] * 3, "test_accuracy": [0.9, 0.9, 0.8, 0.8, 0.7, 0.7],
                          "auc": [0.8, 0.7, 0.85, 0.6, 0.55, 0.5], "tpr_at_1pct_fpr": [0.1, 0.2, 0.0, 0.3, 0.0, 0.0]})
    out = defences.frontier(table).set_index("setting")
    assert out.loc["none -", "best_attack_auc"] == 0.8 and out.loc["none -", "best_attack"] == "baseline"
    assert out.loc["L2 0.05", "best_tpr_at_1pct_fpr"] == 0.3
    assert out["pareto"].to_dict() == {"none -": True, "L2 0.05": False, "DP-SGD noise 1.1": True}
