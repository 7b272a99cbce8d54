"""The VP pipeline end to end on a toy real-world file: loader, overfit target, attack sanity, determinism."""

import json

import numpy as np
import pytest
import torch

from leakage.config import field_docs
from leakage.data.vision import DataUnavailableError
from leakage.experiments.vp import (VPAttackRunConfig, VPDataConfig, VPModelRunConfig, run_vp_attack, shadow_of,
                                    train_vp_model, vp_results)
from leakage.store import Store
from leakage.train import TrainConfig
from leakage.vp.attack import AttackConfig, attack_scores, shadow_attack
from leakage.vp.features import RawOutputs
from leakage.vp.juliet import JulietConfig
from leakage.vp.models import VPModelConfig
from leakage.vp.nmid import NMIDConfig
from leakage.vp.realworld import load_realworld
from leakage.vp.splits import VPSplitConfig
from leakage.vp.tokenizer import TokenizerConfig

OPS = ["+", "-", "*", "^", "|", "&"]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: torch and BLAS on one thread


def devign_rows(n: int = 200, seed: int = 0) -> list[dict]:
    """Unique little functions with random labels: a model can only memorise them."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        body = " ".join(f"x = x {OPS[rng.integers(6)]} {rng.integers(100)};" for _ in range(rng.integers(3, 7)))
        rows.append({"project": "toy", "commit_id": f"c{i // 4}", "target": int(rng.integers(2)),
                     "func": f"int f(int x) {{ /* comment {i} */ {body} return x; }}"})
    return rows


@pytest.fixture(scope="module")
def devign_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("devign") / "function.json"
    path.write_text(json.dumps(devign_rows()))
    return path


def test_realworld_loaders_read_devign_json_and_bigvul_csv(devign_file, tmp_path):
    corpus, stats = load_realworld("devign", devign_file)
    assert len(corpus) == stats["kept"] == 200 and corpus.name == "devign"
    assert "comment" not in corpus.code[0] and corpus.group[0] == "c0"
    import pandas as pd

    csv = tmp_path / "MSR_data_cleaned.csv"
    pd.DataFrame({"func_before": ["int a() { return 1; }", "int b() { return 2; }", "int a() { return 1; }"],
                  "vul": [1, 0, 1], "commit_id": ["x", "y", "z"]}).to_csv(csv, index=False)
    bigvul, stats = load_realworld("bigvul", csv)
    assert list(bigvul.label) == [1, 0] and stats["duplicates_dropped"] == 1
    pd.DataFrame({"text": ["x"], "vul": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataUnavailableError, match="no code column"):
        load_realworld("bigvul", tmp_path / "bad.csv")
    with pytest.raises(DataUnavailableError, match="no devign file"):
        load_realworld("devign", tmp_path / "missing.json")


def toy_target(path) -> VPModelRunConfig:
    data = VPDataConfig(dataset="devign", path=str(path), juliet=JulietConfig(max_chars=2000),
                        split=VPSplitConfig(per_set=30, seed=0), tokenizer=TokenizerConfig(vocab_size=150, max_len=48))
    return VPModelRunConfig(data=data, model=VPModelConfig(arch="bilstm", embed_dim=16, hidden=16, dropout=0.0),
                            train=TrainConfig(epochs=40, lr=1e-2, batch_size=10), role="target", seed=0)


def test_an_overfit_toy_model_leaks_and_the_attack_scores_members_higher(devign_file, tmp_path):
    target = toy_target(devign_file)
    config = VPAttackRunConfig(target=target, shadow=shadow_of(target), nmid=NMIDConfig(),
                               attack=AttackConfig(max_iter=300), feature_sets=("loss", "all"), n_boot=50, tpr_boot=50)
    store = Store(tmp_path / "a")
    run = train_vp_model(target, store)
    assert run.metrics["train_accuracy"] == 1.0 and run.metrics["heldout_accuracy"] < 0.8
    result = run_vp_attack(config, store)
    member = result["is_member"]
    assert member.sum() == (~member).sum() == 30
    loss = result["metrics"]["loss"]
    assert loss["auc"] > 0.8 and loss["auc_lo"] <= loss["auc"] <= loss["auc_hi"]
    # 1% FPR < 1/30: left out (it would be the TPR at zero false positives), which is reported with its CI
    assert np.isnan([loss["tpr_at_1pct_fpr"], loss["tpr_at_1pct_fpr_lo"], loss["tpr_at_1pct_fpr_hi"]]).all()
    assert loss["tpr_at_0fp_lo"] <= loss["tpr_at_0fp_hi"] and 0 <= loss["tpr_at_0fp"] <= 1
    assert result["scores_0"][member].mean() > result["scores_0"][~member].mean()  # higher = member
    results = vp_results(config, result)  # the artefact as MembershipResults: the same metrics
    assert list(results) == ["loss", "all"] and np.array_equal(results["all"].scores, result["scores_1"])
    assert results["loss"].metrics["auc_lo"] == loss["auc_lo"] and results["loss"].attack == "shadow-mlp (loss)"
    again = train_vp_model(target, Store(tmp_path / "b"))  # same config, fresh store: same numbers
    assert np.array_equal(again.outputs("out")[1], run.outputs("out")[1])
    assert np.array_equal(run_vp_attack(config, store)["scores_1"], result["scores_1"])  # loaded, not recomputed
    label_only = run_vp_attack(VPAttackRunConfig(**{**config.__dict__, "nmid": NMIDConfig(level="label")}), store)
    assert label_only["utility"] == result["utility"]  # the label is kept, so is utility
    assert label_only["label_kept"] == 1.0


def test_attack_classifiers_separate_a_shifted_feature():
    rng = np.random.default_rng(0)
    member = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    x = rng.normal(size=(200, 3)) + member[:, None] * 2.0
    for classifier in ("mlp", "gbdt"):
        scores = attack_scores(x, member, x, AttackConfig(classifier=classifier, max_iter=100))
        assert scores.shape == (200,) and scores[member].mean() > scores[~member].mean() + 0.3
    with pytest.raises(ValueError, match="members and non-members"):
        attack_scores(x, np.ones(200, bool), x, AttackConfig())
    with pytest.raises(ValueError, match="unknown attack classifier"):
        AttackConfig(classifier="svm")


def test_the_attack_rejects_nan_features_and_clips_infinite_ones():
    rng = np.random.default_rng(0)
    member = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    x = rng.normal(size=(100, 2)) + member[:, None]
    for which in ("shadow", "target"):
        bad = x.copy()
        bad[7, 1] = np.nan
        args = (bad, member, x) if which == "shadow" else (x, member, bad)
        with pytest.raises(ValueError, match=f"{which} attack features: 1 value.*NaN.*flat index 15"):
            attack_scores(*args, AttackConfig(classifier="gbdt", max_iter=20))
    infinite = x.copy()
    infinite[0, 0] = np.inf  # e.g. a loss of +inf: the largest, kept in order
    scores = attack_scores(x, member, infinite, AttackConfig(classifier="gbdt", max_iter=20))
    assert scores.shape == (100,) and np.isfinite(scores).all()
    from leakage.metrics import bootstrap_tpr

    with pytest.raises(ValueError, match="attack scores: 1 value"):
        bootstrap_tpr(np.r_[np.nan, np.zeros(99)], member, n_boot=5)


def raw(rng, n: int, d: int, k: int = 2, name: str = "model") -> RawOutputs:
    member = np.r_[np.ones(n // 2, bool), np.zeros(n - n // 2, bool)]
    labels = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 3.0 * member[:, None] * np.eye(k)[labels]  # members: confident
    return RawOutputs(rng.normal(size=(n, d)) if d else None, logits, labels, member, name=name)


def test_shadow_attack_scores_members_higher_and_checks_what_it_is_given():
    rng = np.random.default_rng(0)
    target, shadow = raw(rng, 100, 4, name="target"), raw(rng, 100, 4, name="shadow")
    outcome = shadow_attack(target, shadow, NMIDConfig(), AttackConfig(classifier="gbdt", max_iter=30),
                            ("loss", "all", "loss"))
    assert list(outcome.scores) == ["loss", "all"] and len(outcome.target_release) == 100
    assert outcome.scores["loss"][:50].mean() > outcome.scores["loss"][50:].mean() + 0.3
    with pytest.raises(ValueError, match="need an embedding, but there is none from the shadow model"):
        shadow_attack(target, raw(rng, 100, 0, name="shadow"), NMIDConfig(), AttackConfig(), ("all",))
    with pytest.raises(ValueError, match="target's widths"):
        shadow_attack(target, raw(rng, 100, 4, k=3), NMIDConfig(), AttackConfig(), ("loss",))
    with pytest.raises(ValueError, match="target's widths"):
        shadow_attack(target, raw(rng, 100, 5), NMIDConfig(), AttackConfig(), ("embedding",))
    with pytest.raises(ValueError, match="members and non-members"):
        shadow_attack(target, RawOutputs(None, np.zeros((4, 2)), [0, 1, 0, 1], np.ones(4, bool)), NMIDConfig(),
                      AttackConfig(), ("loss",))
    with pytest.raises(ValueError, match=r"target labels must be class indices in \[0, 2\)"):
        RawOutputs(None, np.zeros((2, 2)), [0, 2], [True, False], name="target")
    with pytest.raises(ValueError, match="target logits: 1 value"):
        RawOutputs(None, np.array([[0.0, np.nan]]), [0], [True], name="target")


def test_every_vp_config_documents_every_field():
    from leakage.vp.models import VPModelConfig as M
    from leakage.vp.nmid import NMIDConfig as N

    from leakage.experiments.vp import VPBaselineRunConfig
    from leakage.vp.baseline import BaselineConfig

    for config_type in (VPDataConfig, VPModelRunConfig, VPAttackRunConfig, JulietConfig, VPSplitConfig,
                        TokenizerConfig, M, N, AttackConfig, VPBaselineRunConfig, BaselineConfig):
        assert all("\n" not in doc for doc in field_docs(config_type).values())
    with pytest.raises(ValueError, match="give its path"):
        VPDataConfig(dataset="devign")
