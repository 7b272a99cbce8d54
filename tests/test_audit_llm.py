"""The fine-tuned LM audit (``audit_llm``): canaries and their inclusion, exposure on toys whose rank is
known, opacus' per-sample gradients of LoRA adapters against one-text backward passes, a DP fine-tune
reaching its target epsilon by the accountant, the plan, and the exposure claim."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from leakage.audit.canaries import canary_inclusion, secret_alternatives, secret_canaries
from leakage.audit.exposure import exposure, max_exposure
from leakage.claims.audit_llm import exposure_falls
from leakage.experiments import audit_llm
from leakage.experiments.llm import corpus
from leakage.experiments.parameters import AuditLLMParameters
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, load_pretrained, prepare_for_training, train_tokenizer
from leakage.store import Store

TEXTS = ["the jury said the election was conducted well", "my secret code is 1 2 3 4",
         "a new school opened near the river", "she read the letter twice and put it away"] * 3


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory) -> str:
    """A folder with a tiny random Llama (SmolLM2's architecture) and a BPE tokenizer, as save_pretrained writes."""
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = train_tokenizer(TEXTS + [" ".join(str(i) for i in range(10))] * 3, 400)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def tiny_params(model: str, **changes) -> AuditLLMParameters:
    params = dict(seed=0, model=model, epsilons=[4.0], delta=1e-5, confidence=0.95, clip=1.0, docs_per_pool=2,
                  passages_per_doc=2, passage_words=12, canaries=8, canary_words=4, secrets=4, secret_digits=3,
                  alternatives=7, epochs=2, lr=1e-2, batch_size=4, score_batch_size=8, lora_r=2, max_tokens=32, min_k=0.2)
    return AuditLLMParameters().changed(**{**params, **changes})


# --------------------------------------------------------------------------- canaries and exposure


def test_exposure_on_toys_whose_rank_is_known():
    true = np.array([1.0, 5.0, 0.1, 2.0])
    alternatives = np.array([[2.0, 3.0, 4.0],    # rank 1 of 4: log2(4) - 0 = 2 bits
                             [1.0, 2.0, 3.0],    # rank 4: 0 bits
                             [0.0, 0.2, 0.3],    # rank 2: 1 bit
                             [2.0, 2.0, 9.0]])   # ties count against: rank 3
    assert exposure(true, alternatives) == pytest.approx([2.0, 0.0, 1.0, 2 - np.log2(3)])
    assert max_exposure(3) == 2.0
    with pytest.raises(ValueError, match=r"\(m, r\)"):
        exposure(true, alternatives[:3])
    with pytest.raises(ValueError, match="NaN"):
        exposure(np.array([np.nan]), np.array([[1.0]]))


def test_exposure_of_a_random_ranking_is_uniform_over_ranks():
    """Under no memorisation the true fill's rank is uniform on 1..r+1: mean exposure is log2(r+1) minus the
    mean of log2(rank), within sampling error over 20,000 canaries."""
    rng = np.random.default_rng(0)
    r = 15
    values = exposure(rng.random(20_000), rng.random((20_000, r)))
    expected = np.log2(r + 1) - np.mean(np.log2(np.arange(1, r + 2)))
    assert values.mean() == pytest.approx(expected, abs=0.03)


def test_secret_canaries_and_their_alternatives_are_seeded_distinct_and_exclude_the_true_fill():
    texts, fills = secret_canaries(50, 2, seed=3)
    assert texts == secret_canaries(50, 2, seed=3)[0] and texts != secret_canaries(50, 2, seed=4)[0]
    assert all(t == f"my secret code is {f}" and len(f.split()) == 2 for t, f in zip(texts, fills))
    others = secret_alternatives(fills, 99, 2, seed=3)  # the whole space but the true fill
    for text, row in zip(texts, others):
        assert len(set(row)) == 99 and text not in row
    with pytest.raises(ValueError, match="1 to 99 alternatives"):
        secret_alternatives(fills, 100, 2, seed=3)
    with pytest.raises(ValueError, match="fill"):
        secret_canaries(4, 2, seed=0, template="no placeholder")


def test_canary_inclusion_is_reproducible_from_the_seed_and_the_training_set_holds_exactly_the_included():
    config = audit_llm.CanarySetConfig(model="unused", corpus_digest=corpus().digest(), canaries=40, secrets=20,
                                       secret_digits=3, alternatives=7,
                                       pools=PoolConfig(passage_words=12, docs_per_pool=2, passages_per_doc=2))
    a, b = audit_llm.canary_texts(config), audit_llm.canary_texts(config)
    assert a.words == b.words and np.array_equal(a.words_in, b.words_in) and np.array_equal(a.secrets_in, b.secrets_in)
    assert np.array_equal(a.words_in, canary_inclusion(40, 0)) and 5 < a.words_in.sum() < 35
    other = audit_llm.canary_texts(dataclasses.replace(config, seed=1))
    assert not np.array_equal(other.words_in, a.words_in) and other.words != a.words
    training = a.training_texts()
    assert len(training) == len(a.base) + a.words_in.sum() + a.secrets_in.sum()
    assert {t for t, keep in zip(a.words, a.words_in) if not keep}.isdisjoint(training)
    assert all(row[0] == s and len(row) == 8 for row, s in zip(a.candidates, a.secrets))


# --------------------------------------------------------------------------- models


def test_opacus_per_sample_gradients_of_lora_adapters_equal_one_text_backward(tiny_llama):
    model, tokenizer = load_pretrained(tiny_llama)
    lora = prepare_for_training(model, FinetuneConfig(method="lora", lora_r=2, lora_alpha=4))
    error = audit_llm.adapter_gradient_check(lora, tokenizer, TEXTS[:4], max_tokens=32, seed=0)
    assert error < 1e-4
    assert any(p.requires_grad for p in lora.parameters()) and all(
        p.grad is None and getattr(p, "grad_sample", None) is None for p in lora.parameters())


def test_a_dp_finetune_reaches_its_target_epsilon_and_every_canary_gets_every_score(tiny_llama, tmp_path):
    store = Store(tmp_path)
    params = tiny_params(tiny_llama)
    dp = audit_llm.finetune_audit(audit_llm.finetune_config(params, 4.0), store)
    assert dp.words.metrics["dp_epsilon"] == pytest.approx(4.0, rel=0.05)
    assert dp.words.metrics["noise_multiplier"] > 0.3
    assert list(dp.words.scores) == ["loss", "reference (base)", "zlib", "min-k (20%)", "min-k++ (20%)"]
    assert all(s.shape == (8,) and np.isfinite(s).all() for s in dp.words.scores.values())
    assert ((0 <= dp.exposure) & (dp.exposure <= max_exposure(7))).all() and dp.exposure.shape == (4,)
    nodp = audit_llm.finetune_audit(audit_llm.finetune_config(params, 0.0), store)
    assert np.isinf(nodp.words.metrics["dp_epsilon"]) and nodp.words.metrics["trainable_parameters"] > 0
    assert np.array_equal(nodp.exposure_before, dp.exposure_before)  # one pretrained model, one canary set
    assert np.array_equal(nodp.secrets_in, dp.secrets_in)
    stored = store.load("audit_ft_scores", audit_llm.finetune_config(params, 4.0))  # the coins, stored with the run
    assert np.array_equal(stored["words_included"], dp.words.included)
    assert np.array_equal(stored["secrets_included"], dp.secrets_in)
    frame = audit_llm.eps_frame({0.0: nodp, 4.0: dp}, params)
    assert set(frame.epsilon) == {"no DP", "4"} and (frame.eps_lb >= 0).all()
    with pytest.raises(ValueError, match="must be 'lora'"):
        audit_llm.FinetuneAuditConfig(train=FinetuneConfig(method="full"))


def test_the_plan_lists_the_base_statistics_then_one_run_per_epsilon(tiny_llama):
    from leakage.experiments.plan import Plan

    tasks = audit_llm.plan_tasks(tiny_params(tiny_llama, epsilons=[1.0, 8.0]))
    base, *runs = tasks
    assert base.name.startswith("auditfinetunebase-") and base.needs == ()
    assert [t.job.audit.epsilon for t in runs] == [0.0, 1.0, 8.0] and all(t.needs == (base.name,) for t in runs)
    assert [t.name for t in tasks] == [t.name for t in audit_llm.plan_tasks(tiny_params(tiny_llama, epsilons=[1.0, 8.0]))]
    Plan(tasks)  # a DAG with known prerequisites


# --------------------------------------------------------------------------- claims


def exposure_rows(no_dp: list[float], dp: list[float], included: list[bool]) -> pd.DataFrame:
    n = len(included)
    return pd.DataFrame({"target_epsilon": [np.inf] * n + [1.0] * n, "secret": list(range(n)) * 2,
                         "included": included * 2, "exposure": no_dp + dp})


def test_the_exposure_claim_reads_a_paired_difference_of_the_included_secrets():
    included = [True] * 10 + [False] * 4
    high = exposure_rows([4.5, 5.0, 4.0, 5.0, 4.8, 3.9, 5.0, 4.4, 4.9, 4.7] + [0.0] * 4, [1.0] * 14, included)
    assert exposure_falls(high).verdict == "reproduced"
    flat = exposure_rows([1.0, 2.0, 0.5, 1.5, 1.0, 2.0, 0.5, 1.5, 1.2, 0.8] + [5.0] * 4,
                         [1.5, 1.5, 1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0] + [0.0] * 4, included)
    assert exposure_falls(flat).verdict == "inconclusive"  # excluded secrets do not count
    assert exposure_falls(high[high.target_epsilon > 1]).verdict == "not comparable"
    with pytest.raises(ValueError, match="lacks the columns"):
        exposure_falls(high.drop(columns="included"))
