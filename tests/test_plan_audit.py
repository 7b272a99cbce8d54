"""The audit chapter's plan: a DAG of typed jobs, each with a stage; after it ran, the notebook's frames load only."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from leakage.chapters import chapter_parameters
from leakage.data import vision as vision_data
from leakage.experiments import audit, llm
from leakage.experiments.jobs import STAGES, execute
from leakage.experiments.parameters import AuditParameters
from leakage.experiments.plan import Plan, plan_for
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig
from leakage.models.cnn import CNNConfig
from leakage.store import Store
from leakage.train import TrainConfig
from conftest import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")

#: Tiny sizes over the smoke parameters: two epsilons (no DP and 4), a few canaries, one-epoch models.
TINY = {"epsilons": [4.0], "curve_sizes": [10, 20], "vision_base": 120, "vision_test": 60, "vision_canaries": 24,
        "width": 4, "epochs": 1, "batch_size": 32, "nodp_min_steps": 20, "boundary_budget": 10,
        "lm_docs_per_pool": 2, "lm_passages_per_doc": 2, "lm_passage_words": 12, "lm_width": 16, "lm_vocab": 300,
        "lm_epochs": 1, "lm_batch_size": 4, "lm_canaries": 12, "lm_canary_words": 4, "lm_max_tokens": 24}


@pytest.fixture
def toy_vision(monkeypatch):
    data = toy_data(n=300)
    monkeypatch.setattr(vision_data, "cached_data", lambda name: data)  # toy images stand in for 'digits'


def smoke(**changes) -> AuditParameters:
    return chapter_parameters("audit").changed(**changes)


def old_vision_config(p: AuditParameters, epsilon: float) -> audit.VisionAuditConfig:
    """The notebook's config builder before the plan (kept here to show the plan names the same artefacts)."""
    train = TrainConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr,
                        min_steps=0 if epsilon else p.nodp_min_steps)
    return audit.VisionAuditConfig(dataset=p.vision_dataset, base_size=p.vision_base, test_size=p.vision_test,
                                   canaries=p.vision_canaries, canary_kind=p.canary_kind, epsilon=epsilon,
                                   delta=p.delta, arch=CNNConfig(width=p.width), train=train,
                                   boundary_budget=p.boundary_budget, seed=p.seed)


def old_lm_config(p: AuditParameters, epsilon: float) -> audit.LMAuditConfig:
    return audit.LMAuditConfig(
        pools=PoolConfig(passage_words=p.lm_passage_words, docs_per_pool=p.lm_docs_per_pool,
                         passages_per_doc=p.lm_passages_per_doc, seed=p.seed),
        corpus_digest=llm.corpus().digest(),
        scratch=ScratchConfig(n_layer=p.lm_layers, n_head=2, n_embd=p.lm_width,
                              n_positions=p.lm_max_tokens + 1, vocab_size=p.lm_vocab),
        train=FinetuneConfig(method="full", epochs=p.lm_epochs, lr=p.lm_lr, batch_size=p.lm_batch_size),
        canaries=p.lm_canaries, canary_words=p.lm_canary_words, epsilon=epsilon, delta=p.delta,
        max_tokens=p.lm_max_tokens, seed=p.seed)


@pytest.mark.parametrize("profile", ["smoke", "default"])
def test_the_plan_is_a_dag_of_staged_jobs_with_stable_names(profile):
    params = chapter_parameters("audit", profile)
    tasks = audit.plan_tasks(params)
    plan = Plan(list(tasks))
    assert all(type(t.job) in STAGES for t in plan.tasks)
    assert [t.name for t in audit.plan_tasks(params)] == [t.name for t in tasks]  # same jobs, same names
    assert {t.name for t in plan_for({"audit": params}).tasks} == {t.name for t in tasks}
    levels = len(params.epsilons) + 1
    assert plan.counts() == {"auditvisiontarget": levels, "auditvisionscores": levels, "lmtokenizer": 1,
                             "auditlmscores": levels}
    by_name = {t.name: t for t in tasks}
    for t in tasks:  # each scores task comes after the model (or tokenizer) it uses
        if isinstance(t.job, audit.AuditVisionScoresJob):
            assert [type(by_name[n].job) for n in t.needs] == [audit.AuditVisionTargetJob]
            assert by_name[t.needs[0]].job.audit == t.job.audit
        if isinstance(t.job, audit.AuditLMScoresJob):
            assert [by_name[n].job for n in t.needs] == [llm.tokenizer_task(audit.lm_target(t.job.audit)).job]


def test_the_plan_names_the_artefacts_the_notebook_loaded_before():
    params = smoke()
    for epsilon in audit.levels(params):
        assert audit.vision_config(params, epsilon) == old_vision_config(params, epsilon)
        assert audit.lm_config(params, epsilon) == old_lm_config(params, epsilon)
    assert audit.levels(params) == [0.0, 1.0, 4.0, 8.0]


def test_after_the_plan_the_frames_compute_nothing(tmp_path, toy_vision):
    params = smoke(**TINY)
    store = Store(tmp_path)
    for t in Plan(audit.plan_tasks(params)).tasks:
        json.dumps(execute(t.job, store))  # a small JSON-able summary
    since = time.time()
    results = audit.audit_results(params, store)
    models = audit.models_frame(results)
    eps = audit.eps_frame(results, params)
    curve = audit.curve_frame(results, params)
    best = audit.best_curve(curve)
    canaries = audit.canary_frame(results)
    assert store.computed(since) == []
    assert list(results) == [(m, e) for m in ("CNN", "GPT-2") for e in (0.0, 4.0)]
    assert list(models.target_epsilon) == [np.inf, 4.0] * 2
    # the frames are the notebook's former loops over the same results
    old_eps = pd.DataFrame([row for (name, e), r in results.items()
                            for row in audit.audit_rows(name, e, r, params.delta, params.confidence,
                                                        seed=params.seed)])
    pd.testing.assert_frame_equal(eps, old_eps)
    assert len(eps) == 2 * 3 + 2 * 4  # CNN: loss, baseline, boundary; GPT-2: four text attacks
    assert set(curve.canaries) == {10, 12, 20, 24} and set(curve.epsilon) == {"no DP", "4"}
    assert (best.groupby(["model", "epsilon"]).size() > 0).all()
    assert len(canaries) == 2 * (24 * 3 + 12 * 4)
    tightest = audit.tightest_bounds(eps)
    assert len(tightest) == 4
    # the stored scores are what a direct call of the old path gives
    direct = audit.vision_scores(old_vision_config(params, 4.0), store)
    np.testing.assert_array_equal(direct.scores["loss"], results["CNN", 4.0].scores["loss"])
    assert store.computed(since) == []
