"""The audit stage: canaries in, DP-SGD as configured, every canary scored by every attack, exact repeats."""

import dataclasses

import numpy as np
import pytest
import torch

from leakage.data import vision as vision_data
from leakage.audit.canaries import canary_inclusion
from leakage.config import field_docs
from leakage.experiments import audit
from leakage.experiments.llm import corpus
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, per_text_loss, train_tokenizer
from leakage.models.cnn import CNNConfig
from leakage.store import Store
from leakage.train import TrainConfig
from conftest import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def toy_vision(monkeypatch):
    data = toy_data(n=700)
    monkeypatch.setattr(vision_data, "cached_data", lambda name: data)  # toy images stand in for 'digits'


def vision(epsilon: float, **fields) -> audit.VisionAuditConfig:
    return audit.VisionAuditConfig(dataset="digits", base_size=300, test_size=200, canaries=40, epsilon=epsilon,
                                   arch=CNNConfig(width=4, hidden=32), train=TrainConfig(epochs=3, batch_size=50),
                                   boundary_budget=30, **fields)


@pytest.mark.parametrize("config_type", [audit.VisionAuditConfig, audit.LMAuditConfig], ids=lambda t: t.__name__)
def test_every_config_field_has_a_one_line_doc(config_type):
    docs = field_docs(config_type)
    assert set(docs) == {f.name for f in dataclasses.fields(config_type)}


def test_vision_audit_scores_every_canary_with_every_attack_and_repeats_exactly(tmp_path):
    config = vision(4.0)
    result = audit.vision_scores(config, Store(tmp_path / "a"))
    assert list(result.scores) == ["loss", "baseline", "boundary"]
    assert all(s.shape == (40,) and np.isfinite(s).all() for s in result.scores.values())
    assert np.array_equal(result.included, canary_inclusion(40, config.seed))
    assert result.metrics["dp_epsilon"] == pytest.approx(4.0, rel=0.05) and result.metrics["noise_multiplier"] > 0
    assert result.metrics["train_size"] == 300 + result.included.sum()
    again = audit.vision_scores(config, Store(tmp_path / "b"))  # recomputed in another store
    for name, scores in result.scores.items():
        np.testing.assert_allclose(again.scores[name], scores, rtol=1e-6, atol=1e-6)
    rows = audit.audit_rows("CNN", 4.0, result, config.delta, 0.95)
    assert len(rows) == 3 and all(0 <= r["eps_lb"] <= r["ceiling"] + 1e-9 for r in rows)
    curve = audit.curve_rows("CNN", 4.0, result, [10, 20, 40], config.delta, 0.95)
    assert sorted({r["canaries"] for r in curve}) == [10, 20, 40]


def test_a_memorising_model_without_dp_gives_a_large_bound(tmp_path):
    config = vision(0.0, canary_kind="noise")
    config = dataclasses.replace(config, canaries=160, train=TrainConfig(epochs=3, batch_size=50, min_steps=1000, lr=3e-3),
                                 arch=CNNConfig(width=8, hidden=64), boundary_budget=0)
    result = audit.vision_scores(config, Store(tmp_path))
    assert np.isinf(result.metrics["dp_epsilon"]) and result.metrics["canary_accuracy_in"] > 0.9
    rows = audit.audit_rows("CNN", 0.0, result, config.delta, 0.95)
    # the threshold audit bounds on half the canaries (the other half picks the threshold): ceiling ~2.4 here
    assert max(r["eps_lb"] for r in rows) > 1.5 and max(r["eps_lb_one_run"] for r in rows) > 1.5
    assert all(r["eps_lb_family"] <= r["eps_lb"] + 1e-12 for r in rows)  # the corrected level is stricter


def test_bad_audit_configs_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="canary_kind"):
        vision(1.0, canary_kind="shiny")
    with pytest.raises(ValueError, match="has 700 images"):
        audit.vision_scores(dataclasses.replace(vision(1.0), base_size=650), Store(tmp_path))


def test_opacus_per_text_gradients_of_gpt2_equal_one_text_backward():
    from opacus import GradSampleModule

    tokenizer = train_tokenizer(["the cat sat on the mat", "a dog ran in the park"] * 5, 300)
    model = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=300), tokenizer, 0)
    model.train()
    ids = torch.randint(1, len(tokenizer), (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # one padded text
    per_text_loss(GradSampleModule(model, loss_reduction="sum"), ids, mask).sum().backward()
    samples = {n: p.grad_sample.clone() for n, p in model.named_parameters()}
    for i in range(3):
        model.zero_grad()
        for p in model.parameters():
            p.grad_sample = None
        single = build_scratch(ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=300),
                               tokenizer, 0)
        single.load_state_dict(model.state_dict())
        single.train()
        per_text_loss(single, ids[i:i + 1], mask[i:i + 1]).sum().backward()
        for name, p in single.named_parameters():  # tied input/output embeddings and positions included
            torch.testing.assert_close(samples[name][i], p.grad, rtol=1e-4, atol=1e-6)


def test_lm_audit_trains_with_dp_and_scores_every_canary(tmp_path):
    config = audit.LMAuditConfig(
        pools=PoolConfig(passage_words=16, docs_per_pool=3, passages_per_doc=2), corpus_digest=corpus().digest(),
        scratch=ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=40, vocab_size=300),
        train=FinetuneConfig(epochs=2, batch_size=4, lr=1e-2, warmup_steps=1), canaries=10, canary_words=5,
        epsilon=8.0, max_tokens=32)
    result = audit.lm_scores(config, Store(tmp_path))
    assert list(result.scores) == ["loss", "zlib", "min-k (20%)", "min-k++ (20%)"]
    assert all(s.shape == (10,) and np.isfinite(s).all() for s in result.scores.values())
    assert result.metrics["dp_epsilon"] == pytest.approx(8.0, rel=0.05)
    assert np.array_equal(result.included, canary_inclusion(10, config.seed))
    with pytest.raises(ValueError, match="method must be 'full'"):
        audit.lm_scores(dataclasses.replace(config, train=FinetuneConfig(method="lora")), Store(tmp_path))


def test_the_audit_key_covers_the_content_of_the_data_set(monkeypatch):
    from leakage.config import config_hash
    from leakage.data.vision import VisionData

    x = torch.zeros(10, 1, 8, 8, dtype=torch.uint8)
    data = VisionData("digits", x, torch.zeros(10, dtype=torch.int64), tuple("0123456789"), "toy")
    monkeypatch.setattr(vision_data, "cached_data", lambda name: data)
    before = config_hash("audit_vision_target", audit.VisionAuditConfig())
    monkeypatch.setattr(vision_data, "cached_data", lambda name: VisionData("digits", x + 1, data.y, data.classes, "toy"))
    assert config_hash("audit_vision_target", audit.VisionAuditConfig()) != before
