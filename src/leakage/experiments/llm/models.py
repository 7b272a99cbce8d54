"""The LLM chapter's models: the scratch tokenizer, training a target (or reference) and loading it.

Artefacts (``Store().cached``, keyed by the full config):

- ``lm_tokenizer``  the byte-level BPE of a scratch model, trained on the reference pool;
- ``lm_target``     the trainable weights at each checkpoint epoch and the training losses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch

from leakage.device import describe_device, get_device
from leakage.experiments.llm.configs import LMTargetConfig, base_config, pools_for, training_texts
from leakage.lm.models import (SCRATCH, ScratchConfig, build_scratch, load_pretrained, load_trainable_state,
                               prepare_for_training, tokenizer_from_json, train_lm, train_tokenizer)
from leakage.models import count_parameters
from leakage.seed import seed_everything
from leakage.store import Store


def cached_requiring(store: Store, kind: str, config: Any, compute: Callable[[], dict], required: Sequence[str],
            **record) -> dict:
    """``store.cached(...)``, recomputed when the artefact lacks an entry in ``required`` (it was written by
    an older version of this module that did not store it, and may hold numbers this version corrects)."""
    payload = store.cached(kind, config, compute, **record)
    if all(name in payload for name in required):
        return payload
    return Store(store.root, force_before=time.time()).cached(kind, config, compute, **record)


def tokenizer_key(config: LMTargetConfig) -> LMTargetConfig:
    """The key of the ``lm_tokenizer`` artefact of ``config``: only what the BPE depends on (pools, corpus,
    vocabulary size), so a target, its disjoint reference and every other model on the same pools share one
    tokenizer. Idempotent: the key of a key is itself."""
    return replace(base_config(config), model=SCRATCH, scratch=ScratchConfig(vocab_size=config.scratch.vocab_size),
                   seed=0, max_tokens=0)


def scratch_tokenizer(config: LMTargetConfig, store: Store | None = None):
    """The byte-level BPE of a scratch model, trained on the reference pool (never on members)."""
    store = store or Store()
    key = tokenizer_key(config)
    pools = pools_for(config.pools, config.corpus_digest)
    payload = store.cached("lm_tokenizer", key, lambda: {
        "tokenizer_json": train_tokenizer([p.text for p in pools.reference],
                                          config.scratch.vocab_size).backend_tokenizer.to_str()},
        seed=None)
    return tokenizer_from_json(payload["tokenizer_json"])


def embedding_marks(config: LMTargetConfig, store: Store | None = None) -> tuple[str, ...]:
    """Entries an artefact made from the model of ``config`` must hold to be trusted: ``("embedding_rows",)``
    for a scratch model whose tokenizer learnt fewer tokens than ``scratch.vocab_size`` (older versions
    sized its embedding by the tokenizer, so their artefacts hold another model's numbers), else none."""
    if not config.is_scratch or len(scratch_tokenizer(config, store)) >= config.scratch.vocab_size:
        return ()
    return ("embedding_rows",)


def fresh_model(config: LMTargetConfig, device: torch.device, store: Store | None = None):
    """(model, tokenizer) before training: a pretrained model as loaded, or a scratch GPT-2 at its init."""
    if config.is_scratch:
        tokenizer = scratch_tokenizer(config, store)
        return build_scratch(config.scratch, tokenizer, config.seed).to(device), tokenizer
    return load_pretrained(config.model, device)


def train_lm_target(config: LMTargetConfig, store: Store | None = None) -> dict:
    """Train (or load) the model of ``config``; payload: ``ckpt_<epoch>`` weights, ``losses``, sizes."""
    if config.train_on == "none":
        raise ValueError("train_on='none' is the untrained base model; there is nothing to train")
    if config.is_scratch and config.train.method != "full":
        raise ValueError("a from-scratch model trains every weight: use train.method='full'")
    store = store or Store()
    device = get_device()

    def compute() -> dict:
        seed_everything(config.seed)
        model, tokenizer = fresh_model(config, device, store)
        model = prepare_for_training(model, config.train)
        texts = training_texts(config)
        start = time.perf_counter()
        states, losses = train_lm(model, tokenizer, texts, config.train, max_tokens=config.max_tokens,
                                  seed=config.seed, checkpoints=config.checkpoints,
                                  desc=f"train {config.model} on {config.train_on}")
        return {**{f"ckpt_{epoch}": state for epoch, state in states.items()}, "losses": losses,
                "train_seconds": time.perf_counter() - start, "n_train_texts": len(texts),
                "parameters": count_parameters(model), "trainable_parameters": count_parameters(model, True),
                "embedding_rows": config.scratch.vocab_size if config.is_scratch else 0}

    return cached_requiring(store, "lm_target", config, compute, embedding_marks(config, store), seed=config.seed,
                   device=describe_device(device))


def load_model(config: LMTargetConfig, epoch: int, store: Store | None = None):
    """(model, tokenizer) of ``config`` after ``epoch`` epochs (0: before training), in eval mode."""
    device = get_device()
    model, tokenizer = fresh_model(config, device, store)
    if epoch == 0:
        return model.eval(), tokenizer
    payload = train_lm_target(config, store)
    if f"ckpt_{epoch}" not in payload:
        kept = sorted(int(k[5:]) for k in payload if k.startswith("ckpt_"))
        raise ValueError(f"epoch {epoch} was not kept; checkpoints of this model: {kept}")
    model = prepare_for_training(model, config.train)
    load_trainable_state(model, payload[f"ckpt_{epoch}"], config.train)
    return model.to(device).eval(), tokenizer
