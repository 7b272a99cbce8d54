"""The VP chapter's data: the corpus read from its source, its four MIA sets, and the tokenizer.

The per-process caches of the corpus are keyed by the content digest of its source (:func:`source_digest`), so
a file rewritten in place is read again. The BPE tokenizer is learnt on the public pool and stored as the
artefact ``vp_tokenizer``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import torch

from leakage.experiments.vp.configs import VPDataConfig
from leakage.experiments.vp.sources import source_digest
from leakage.seed import numpy_rng
from leakage.store import Store
from leakage.vp.juliet import JulietConfig, VPCorpus, load_juliet
from leakage.vp.models import VPModelConfig
from leakage.vp.realworld import load_realworld
from leakage.vp.splits import VPSplits, make_vp_splits
from leakage.vp.tokenizer import CodeTokenizer, PretrainedTokenizer

def load_corpus(dataset: str, path: str | None, juliet: JulietConfig) -> tuple[VPCorpus, dict[str, int]]:
    """(corpus, extraction statistics) of a data config.

    Cached per process by the source's *content* digest as well as the arguments, so a file rewritten in
    place (or ``$LEAKAGE_JULIET`` pointed elsewhere) is read again, never served from the cache.
    """
    return _load_corpus(dataset, path, juliet, source_digest(dataset, path))


@functools.lru_cache(maxsize=4)
def _load_corpus(dataset: str, path: str | None, juliet: JulietConfig, digest: str
                 ) -> tuple[VPCorpus, dict[str, int]]:
    del digest  # only part of the cache key
    if dataset == "juliet":
        return load_juliet(juliet, path)
    return load_realworld(dataset, path, max_chars=juliet.max_chars)  # type: ignore[arg-type]


def prepare(data: VPDataConfig) -> tuple[VPCorpus, VPSplits]:
    """(corpus, its four sets) for ``data``; cached per process by the config and its source's content digest."""
    return _prepare(data, source_digest(data.dataset, data.path))


@functools.lru_cache(maxsize=8)
def _prepare(data: VPDataConfig, digest: str) -> tuple[VPCorpus, VPSplits]:
    corpus, _ = _load_corpus(data.dataset, data.path, data.juliet, digest)
    return corpus, make_vp_splits(corpus.label, corpus.group, data.split)


def load_tokenizer(data: VPDataConfig, model: VPModelConfig, store: Store | None = None):
    """The model's tokenizer: the checkpoint's own for a pretrained CodeBERT, else the BPE learnt on the public pool."""
    if model.codebert_path:
        return PretrainedTokenizer(model.codebert_path, data.tokenizer.max_len)
    store = store or Store()
    corpus, splits = prepare(data)

    def compute() -> dict:
        pool = splits.public
        if len(pool) == 0:
            raise ValueError("the four sets use the whole corpus, leaving no public functions to train the "
                             "tokenizer on; lower per_set")
        rng = numpy_rng(data.split.seed, "vp-tokenizer")
        chosen = np.sort(rng.choice(pool, min(len(pool), data.tokenizer.train_size), replace=False))
        tokenizer = CodeTokenizer.train([corpus.code[i] for i in chosen], data.tokenizer)
        return {"tokenizer": tokenizer.to_json(), "trained_on": chosen, "vocab_size": tokenizer.vocab_size}

    payload = store.cached("vp_tokenizer", data, compute, seed=data.split.seed)
    return CodeTokenizer.from_json(payload["tokenizer"], data.tokenizer.max_len)


def encode_set(data: VPDataConfig, model: VPModelConfig, name: str, store: Store | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(token ids (n, max_len), labels (n,)) of one of the four sets."""
    corpus, splits = prepare(data)
    index = splits[name]
    tokenizer = load_tokenizer(data, model, store)
    return tokenizer.encode([corpus.code[i] for i in index]), torch.as_tensor(corpus.label[index])


def typical_vulnerable_member(corpus: VPCorpus, splits: VPSplits, chars: int = 600, among: int = 50) -> int:
    """Index into ``corpus`` of a vulnerable function of typical length among the target's members: of the
    first ``among`` vulnerable ones of ``target_in``, the one whose length is closest to ``chars`` characters
    (the first on a tie). Raises ``ValueError`` when ``target_in`` holds no vulnerable function."""
    candidates = [i for i in splits.target_in if corpus.label[i] == 1]
    return min(candidates[:among], key=lambda i: abs(len(corpus.code[i]) - chars))


def corpus_summary(corpus: VPCorpus, extraction: Mapping[str, int], max_chars: int) -> str:
    """One Markdown sentence on a corpus (:func:`load_corpus`'s pair): its source, the extraction counts over
    the whole source (files, extracted, duplicates and label conflicts dropped, kept: those present), and what is
    kept at ``max_chars`` characters (functions, share vulnerable, test cases, CWEs)."""
    counts = ("files", "extracted", "duplicates_dropped", "label_conflicts_dropped", "kept")
    return (f"Source: {corpus.source}. Extraction over the whole suite: "
            + ", ".join(f"{k.replace('_', ' ')} {extraction[k]:,}" for k in counts if k in extraction)
            + f". Kept here (at most {max_chars} characters): {len(corpus):,} functions, "
            f"{corpus.label.mean():.0%} vulnerable, {len(set(corpus.group)):,} test cases, "
            f"{len(set(corpus.cwe))} CWEs.")
