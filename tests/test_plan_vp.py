"""The VP chapter's plan: a DAG of staged jobs; after it ran, the notebook's frames load and compute nothing."""

import time

import numpy as np
import pandas as pd
import pytest

from leakage.chapters import chapter_parameters
from leakage.experiments import vp
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.plan import Plan, plan_for
from leakage.store import Store
from leakage.vp.features import BLACK_BOX, FEATURE_SETS, GRAY_BOX
from leakage.vp.nmid import KEEPS_LABEL, NMIDConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: torch and BLAS on one thread

#: Tiny overrides of the smoke parameters: seconds on one core.
TINY = {"models": ["bilstm", "codebert"], "per_set": 12, "max_len": 16, "vocab_size": 300, "rnn_embed": 8,
        "rnn_hidden": 8, "bert_hidden": 8, "bert_layers": 1, "bert_heads": 2, "bert_intermediate": 16,
        "epochs": {"bilstm": 2, "bigru": 2, "codebert": 1}, "levels": ["none", "top1", "label"],
        "sigmas": [0.0, 5.0], "attack_hidden": [8], "attack_iter": 20, "n_boot": 10}


@pytest.fixture(scope="module")
def params():
    return chapter_parameters("vp_mia", "smoke", TINY)


@pytest.fixture(scope="module")
def planned(params, tmp_path_factory):
    """(store, time after the plan ran) for the tiny plan executed task by task in the plan's order."""
    store = Store(tmp_path_factory.mktemp("store-vp"))
    for t in Plan(vp.plan_tasks(params)).tasks:
        execute(t.job, store)
    return store, time.time()


def test_plan_is_a_dag_of_staged_jobs_with_stable_names(params):
    tasks = vp.plan_tasks(params)
    plan = Plan(tasks)  # raises on a duplicate, a missing prerequisite or a cycle
    assert all(type(t.job) in STAGES for t in tasks)
    assert [t.name for t in tasks] == [t.name for t in vp.plan_tasks(chapter_parameters("vp_mia", "smoke", TINY))]  # same params, same names
    # 2 models x (target, shadow); undefended: 2 models x (mlp, gbdt); NMID: 2 models x (2 levels x 2 sigmas + label)
    assert plan.counts() == {"vptokenizer": 1, "vpmodel": 4, "vpbaseline": 1, "vpattack": 4 + 10}
    by_name = {t.name: t for t in tasks}
    for t in tasks:
        if isinstance(t.job, vp.VPAttackJob):
            needed = {type(by_name[n].job) for n in t.needs}
            assert needed == {vp.VPModelJob} and len(t.needs) == 2
            assert {by_name[n].job.run for n in t.needs} == {t.job.run.target, t.job.run.shadow}
        if isinstance(t.job, vp.VPModelJob):
            assert [type(by_name[n].job) for n in t.needs] == [vp.VPTokenizerJob]  # no pretrained checkpoint here
            assert by_name[t.needs[0]].job.data == t.job.run.data


def test_profile_plans_build_and_count():
    smoke = plan_for({"vp_mia": chapter_parameters("vp_mia", "smoke")}).counts()
    assert smoke == {"vptokenizer": 1, "vpmodel": 6, "vpbaseline": 1, "vpattack": 3 * 2 + 3 * (3 * 2 + 1)}


def test_pretrained_codebert_needs_no_tokenizer_task(params):
    config = vp.target_config(params.changed(codebert_path="some/checkpoint"), "codebert")
    assert vp.model_task(config).needs == ()
    assert vp.model_name("codebert", "some/checkpoint") == "CodeBERT"
    assert vp.model_name("codebert") == "CodeBERT (small, scratch)"


def test_frames_after_the_plan_compute_nothing_and_match_the_old_loops(params, planned):
    store, since = planned
    utility = vp.utility_frame(params, store)
    baseline = vp.run_vp_baseline(vp.baseline_config(params), store)
    table = vp.baseline_frame(utility, baseline)
    mia, mia_scores = vp.mia_frames(params, store)
    nmid, nmid_scores, predictions = vp.nmid_frames(params, store)
    scores = vp.claim_scores(mia_scores, nmid_scores)
    assert store.computed(since) == []

    names = [vp.model_name(a) for a in params.models]
    assert list(utility["model"]) == [n for n in names for _ in range(2)]
    assert list(utility["role"]) == ["target", "shadow"] * 2
    assert list(table.index) == names + ["bag of tokens (logistic regression)", "majority class"]
    assert table.loc["majority class", "accuracy"] == round(baseline["majority_rate"], 3)
    assert len(mia) == 2 * 2 * 8 and set(mia["classifier"]) == {"mlp", "gbdt"}
    assert len(nmid) == 2 * 3 * 2 * 2 and set(nmid["attacker"]) == set(vp.ATTACKERS.values())

    # the old notebook's loops, on the same store (cache hits)
    rows, frames, nmid_frames, prediction_frames = [], [], [], []  # undefended scores first, as the notebook had
    for arch in params.models:
        target = vp.target_config(params, arch)
        base_f1 = vp.train_vp_model(target, store).metrics["heldout_f1"]
        assert utility.set_index(["model", "role"]).loc[(vp.model_name(arch), "target"), "heldout_f1"] \
            == round(base_f1, 4)
        for classifier in ["mlp", "gbdt"]:
            config = vp.attack_config(params, arch, NMIDConfig(seed=params.seed), classifier)
            result = vp.run_vp_attack(config, store)
            frames.append(vp.scores_frame(config, result).assign(model=vp.model_name(arch), classifier=classifier,
                                                                  level="none", sigma=0.0))
            got = mia[(mia["model"] == vp.model_name(arch)) & (mia["classifier"] == classifier)]
            assert list(got["auc"]) == [m["auc"] for m in result["metrics"].values()]
        for level in params.levels:
            for sigma in params.sigmas:
                nmid_config = NMIDConfig(level=level, sigma=0.0 if level == "label" else float(sigma),
                                         seed=params.seed)
                config = vp.attack_config(params, arch, nmid_config, "mlp", (BLACK_BOX, GRAY_BOX), tpr_ci=False)
                result = vp.run_vp_attack(config, store)
                setting = {"model": vp.model_name(arch), "level": level, "sigma": float(sigma)}
                nmid_frames.append(vp.scores_frame(config, result).assign(classifier="mlp", **setting))
                prediction_frames.append(vp.release_predictions(config, store).assign(**setting))
                for feature_set, m in result["metrics"].items():
                    rows.append({**setting, "attacker": vp.ATTACKERS[feature_set], "auc": m["auc"],
                                 "f1_drop": base_f1 - result["utility"]["f1"],
                                 "keeps_label_by_rule": KEEPS_LABEL[level]})
    old = pd.DataFrame(rows)
    pd.testing.assert_frame_equal(nmid[old.columns], old)
    keys = list(vp.SCORE_KEYS)
    pd.testing.assert_frame_equal(scores, pd.concat(frames + nmid_frames, ignore_index=True).drop_duplicates(keys)[
        keys + ["is_member", "score"]])
    pd.testing.assert_frame_equal(predictions, pd.concat(prediction_frames, ignore_index=True)[
        ["model", "level", "sigma", "function", "label", "undefended", "defended"]])
    assert not scores.duplicated(keys).any()
    assert np.isin(scores["features"], list(FEATURE_SETS)).all()
