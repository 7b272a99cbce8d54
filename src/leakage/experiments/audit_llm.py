"""Stage: audit a pretrained LM fine-tuned with differential privacy (the ``audit_llm`` chapter).

SmolLM2-135M (offline, :func:`leakage.lm.models.load_pretrained`) gets LoRA adapters trained on Brown
passages plus canaries, with DP-SGD through opacus (per-sample clipping and noise on the adapter
parameters only, Poisson sampling, the RDP accountant's epsilon at ``delta``) or without DP; the training
loop is the LM chapter's (:func:`leakage.lm.models.train_lm`). Two kinds of canaries, each put in the
fine-tuning set with probability 1/2 (:mod:`leakage.audit.canaries`):

- random-word canaries, scored by the LM attacks (LOSS, zlib, Min-k%, Min-k%++ and the reference attack
  with the pretrained model before fine-tuning as the reference); their scores give eps_LB with both
  audits of :mod:`leakage.audit.bounds` (:func:`leakage.experiments.audit.audit_rows`);
- "secret" canaries (a template with a random digit fill; Carlini et al., USENIX Security 2019), whose
  exposure ranks the true fill among ``alternatives`` other fills (:mod:`leakage.audit.exposure`).

Artefacts: ``audit_ft_base`` (the pretrained model's statistics of every canary and candidate fill, and the
check of opacus' per-sample adapter gradients against one-text backward passes on this model) once per
canary set; ``audit_ft_scores`` (fine-tune, then score) per epsilon. :func:`plan_tasks` lists them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from leakage.audit.canaries import canary_inclusion, random_word_texts, secret_alternatives, secret_canaries
from leakage.audit.exposure import exposure, max_exposure
from leakage.config import doc_field
from leakage.device import describe_device, get_device
from leakage.experiments import llm
from leakage.experiments.audit import AuditScores, audit_rows, dp_hooks, dp_record, epsilon_label
from leakage.experiments.jobs import Task, stage, task
from leakage.experiments.parameters import AuditLLMParameters
from leakage.lm.attacks import AttackInputs, run_attacks
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import (SMOLLM2, FinetuneConfig, load_pretrained, pad_batch, per_text_loss,
                               prepare_for_training, pretrained_digest, train_lm)
from leakage.lm.scoring import Scorer, StatsBatch, context_token_id, encode_texts, normalise_texts
from leakage.metrics import roc_auc
from leakage.models import count_parameters
from leakage.seed import derive_seed, seed_everything, torch_generator
from leakage.store import Store

#: The LM attacks scored on the random-word canaries, in table order; "reference" uses the pretrained model.
ATTACK_SPECS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("loss", {}), ("reference", {"reference": "base"}), ("zlib", {}), ("min-k", {}), ("min-k++", {}))
MODEL_NAME = "SmolLM2-135M (LoRA)"


@dataclass(frozen=True)
class CanarySetConfig:
    """The pretrained model, the base fine-tuning passages and the canaries: what does not depend on training."""

    model: str = doc_field(SMOLLM2, "the pretrained LM: 'smollm2-135m' (offline), a local folder or a Hugging Face id")
    pools: PoolConfig = doc_field(PoolConfig(passage_words=32, docs_per_pool=20, passages_per_doc=3),
                                  "Brown pools: the member pool is the base fine-tuning set, the reference pool "
                                  "gives the canary words")
    corpus_digest: str = doc_field("", "content digest of the Brown corpus read")
    canaries: int = doc_field(100, "m: random-word canaries, each fine-tuned on with probability 1/2")
    canary_words: int = doc_field(12, "words per random-word canary, uniform over the reference pool's vocabulary")
    secrets: int = doc_field(32, "secret canaries (template + random digits), each fine-tuned on w.p. 1/2")
    secret_digits: int = doc_field(6, "digits of a secret's fill (fill space: 10**digits)")
    alternatives: int = doc_field(31, "other fills ranked against each true fill (max exposure log2(alternatives+1))")
    max_tokens: int = doc_field(64, "tokens of a text trained on and scored")
    batch_size: int = doc_field(32, "texts per scoring forward pass")
    seed: int = doc_field(0, "seed of the canaries, their inclusion and the alternatives")

    def input_digests(self) -> dict[str, str]:
        """The pretrained model's weight and tokenizer files (:func:`leakage.lm.models.pretrained_digest`)."""
        return {"pretrained_weights": pretrained_digest(self.model)}


@dataclass(frozen=True)
class FinetuneAuditConfig:
    """One fine-tuning run of the pretrained model with its canaries, at one epsilon (0: no DP)."""

    canary_set: CanarySetConfig = doc_field(CanarySetConfig(), "model, base passages and canaries")
    train: FinetuneConfig = doc_field(FinetuneConfig(method="lora", epochs=3, lr=2e-3, batch_size=8, lora_r=8,
                                                     lora_alpha=16), "optimisation (AdamW; LoRA adapters only)")
    epsilon: float = doc_field(0.0, "DP-SGD target epsilon at `delta` (0: no DP)")
    delta: float = doc_field(1e-5, "delta of the DP guarantee, also used by the audit")
    clip: float = doc_field(1.0, "DP-SGD per-sample gradient clipping norm")
    min_k: float = doc_field(0.2, "k of Min-k% and Min-k%++")

    def __post_init__(self) -> None:
        if self.train.method != "lora":
            raise ValueError(f"the audited fine-tuning trains LoRA adapters: train.method must be 'lora', "
                             f"got {self.train.method!r}")
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0 (0: no DP), got {self.epsilon}")


@dataclass(frozen=True, eq=False)
class CanaryTexts:
    """The texts of a canary set: ``base`` passages; ``words`` (m,) random-word canaries and ``words_in`` (m,);
    ``secrets`` (s,) filled templates and ``secrets_in`` (s,); ``candidates`` (s, r + 1) each secret's true
    text first, then its r alternatives."""

    base: list[str]
    words: list[str]
    words_in: np.ndarray
    secrets: list[str]
    secrets_in: np.ndarray
    candidates: list[list[str]]

    def training_texts(self) -> list[str]:
        """The fine-tuning set: the base passages and every included canary of both kinds."""
        return [*self.base, *(t for t, keep in zip(self.words, self.words_in) if keep),
                *(t for t, keep in zip(self.secrets, self.secrets_in) if keep)]


def canary_texts(config: CanarySetConfig) -> CanaryTexts:
    """The texts of ``config`` (reads the Brown corpus; its digest must be ``config.corpus_digest``)."""
    pools = llm.pools_for(config.pools, config.corpus_digest)
    vocabulary = sorted({w.lower() for p in pools.reference for w in p.text.split() if w.isalpha()})
    words = random_word_texts(config.canaries, config.canary_words, vocabulary, config.seed)
    secrets, fills = secret_canaries(config.secrets, config.secret_digits, config.seed)
    others = secret_alternatives(fills, config.alternatives, config.secret_digits, config.seed)
    return CanaryTexts(base=[p.text for p in pools.members], words=words,
                       words_in=canary_inclusion(config.canaries, config.seed), secrets=secrets,
                       secrets_in=canary_inclusion(config.secrets, derive_seed(config.seed, "secrets")),
                       candidates=[[s, *alt] for s, alt in zip(secrets, others)])


def _log_perplexity(stats: StatsBatch) -> np.ndarray:
    """(N,) total negative log-likelihood (nats) of each scored text: the secret sharer's log-perplexity."""
    return -(stats.logprobs * stats.mask).sum(1)


def _score_texts(model, tokenizer, config: CanarySetConfig, texts: CanaryTexts, name: str) -> dict[str, Any]:
    """The random-word canaries' statistics and every secret candidate's log-perplexity (s, r + 1) under one model."""
    scorer = Scorer(model, tokenizer, name=name, max_tokens=config.max_tokens, batch_size=config.batch_size)
    flat = [t for row in texts.candidates for t in row]
    nll = _log_perplexity(scorer.stats(flat)).reshape(len(texts.candidates), -1)
    return {**scorer.stats(texts.words).to_payload("canaries", texts.words), "candidate_nll": nll}


def adapter_gradient_check(model, tokenizer, texts: list[str], max_tokens: int, seed: int) -> float:
    """Largest relative error between opacus' per-sample gradients of the LoRA adapters (one batch of the
    ``texts``, right-padded) and the gradient of each text's own backward pass, over every adapter tensor.

    ``model``: a model prepared with LoRA (:func:`leakage.lm.models.prepare_for_training`). The adapters' B
    matrices start at zero (so A's gradient would be zero and the check empty): they are set to small seeded
    values first, on this model, which is then discarded by the caller. Error: max |g_opacus - g_one| /
    max(max |g_one|, 1e-12) per tensor, then the max over tensors and texts.
    """
    from opacus import GradSampleModule

    generator = torch_generator(seed, "adapter-check")
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    with torch.no_grad():
        for name, p in trainable.items():
            if "lora_B" in name:
                p.copy_(0.02 * torch.randn(p.shape, generator=generator))
    ids, _ = encode_texts(tokenizer, normalise_texts(texts), max_tokens)
    context = context_token_id(tokenizer)
    pad = getattr(tokenizer, "pad_token_id", None)
    input_ids, mask, _ = pad_batch([[context] + x for x in ids], context if pad is None else int(pad),
                                next(model.parameters()).device)
    model.train()
    wrapped = GradSampleModule(model, loss_reduction="sum")
    with warnings.catch_warnings():  # opacus warns when the input needs no gradient, as always here
        warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
        try:
            per_text_loss(wrapped, input_ids, mask).sum().backward()
            samples = {n: p.grad_sample.detach().clone() for n, p in trainable.items()}
            worst = 0.0
            for i in range(len(texts)):
                for p in trainable.values():
                    p.grad, p.grad_sample = None, None
                width = int(mask[i].sum())
                per_text_loss(wrapped, input_ids[i:i + 1, :width], mask[i:i + 1, :width]).sum().backward()
                for name, p in trainable.items():
                    scale = max(float(p.grad.abs().max()), 1e-12)
                    worst = max(worst, float((samples[name][i] - p.grad).abs().max()) / scale)
        finally:
            wrapped._close()
            for p in trainable.values():
                p.grad, p.grad_sample = None, None
    model.eval()
    return worst


def base_payload(config: CanarySetConfig, store: Store | None = None) -> dict[str, Any]:
    """The pretrained model's statistics of the canaries and candidates (artefact ``audit_ft_base``), with
    ``adapter_check_error`` (:func:`adapter_gradient_check` on 4 canaries, on this model)."""
    store = store or Store()
    device = get_device()

    def compute() -> dict:
        seed_everything(config.seed)
        texts = canary_texts(config)
        model, tokenizer = load_pretrained(config.model, device)
        start = time.perf_counter()
        payload = _score_texts(model.eval(), tokenizer, config, texts, f"{config.model} (before fine-tuning)")
        seconds = time.perf_counter() - start
        check = adapter_gradient_check(prepare_for_training(model, FinetuneAuditConfig().train), tokenizer,
                                       texts.words[:4], config.max_tokens, config.seed)
        return {**payload, "score_seconds": seconds, "adapter_check_error": check}

    return store.cached("audit_ft_base", config, compute, seed=config.seed, device=describe_device(device))


@dataclass(frozen=True, eq=False)
class FinetuneAudit:
    """One fine-tuning run's audit: ``words`` (the random-word canaries' attack scores, their inclusion and the
    run's metrics, as the audit chapter's :class:`~leakage.experiments.audit.AuditScores`), ``secrets_in`` (s,),
    ``exposure`` (s,) bits after fine-tuning, ``exposure_before`` (s,) bits under the pretrained model."""

    words: AuditScores
    secrets_in: np.ndarray
    exposure: np.ndarray
    exposure_before: np.ndarray


def finetune_audit(config: FinetuneAuditConfig, store: Store | None = None) -> FinetuneAudit:
    """Fine-tune ``config``'s model with its canaries (DP-SGD when ``epsilon`` > 0), score every canary and
    candidate, cached (artefact ``audit_ft_scores``; needs ``audit_ft_base`` of its canary set, computed if
    missing). Raises ``ValueError`` for a bad config (see :class:`FinetuneAuditConfig`)."""
    store = store or Store()
    canary_set = config.canary_set
    texts = canary_texts(canary_set)
    base = base_payload(canary_set, store)
    device = get_device()

    def compute() -> dict:
        seed_everything(canary_set.seed)
        model, tokenizer = load_pretrained(canary_set.model, device)
        model = prepare_for_training(model, config.train)
        training = texts.training_texts()
        hooks = dp_hooks(config.epsilon, config.delta, config.clip, config.train.epochs, canary_set.seed)
        start = time.perf_counter()
        _, losses = train_lm(model, tokenizer, training, config.train, max_tokens=canary_set.max_tokens,
                             seed=canary_set.seed, desc=f"fine-tune eps={config.epsilon:g}",
                             dp=hooks[0] if hooks else None)
        seconds = time.perf_counter() - start
        payload = _score_texts(model.eval(), tokenizer, canary_set, texts, f"{canary_set.model} eps={config.epsilon:g}")
        target = StatsBatch.from_payload(payload, "canaries", texts.words)
        reference = StatsBatch.from_payload(base, "canaries", texts.words)
        specs = [(n, {**p, "k": config.min_k} if n.startswith("min-k") else p) for n, p in ATTACK_SPECS]
        scores = run_attacks(AttackInputs(target, {"base": reference}), specs)
        return {"labels": list(scores), **{f"score_{i}": s for i, s in enumerate(scores.values())},
                "candidate_nll": payload["candidate_nll"], "words_included": texts.words_in,
                "secrets_included": texts.secrets_in, "train_size": len(training), "train_seconds": seconds,
                "final_train_loss": losses[-1], "trainable_parameters": count_parameters(model, True),
                **dp_record(hooks)}

    payload = store.cached("audit_ft_scores", config, compute, seed=canary_set.seed, device=describe_device(device))
    for name, drawn in (("words_included", texts.words_in), ("secrets_included", texts.secrets_in)):
        if not np.array_equal(np.asarray(payload[name], dtype=bool), drawn):
            raise ValueError(f"the stored run's canary inclusion ({name}) differs from the one the seed draws now: "
                             "the canary code changed since it was computed; recompute it (--force)")
    scores = {label: np.asarray(payload[f"score_{i}"], dtype=np.float64) for i, label in enumerate(payload["labels"])}
    metrics = {k: float(payload[k]) for k in ("dp_epsilon", "noise_multiplier", "train_size", "train_seconds",
                                              "final_train_loss", "trainable_parameters")}
    after, before = np.asarray(payload["candidate_nll"]), np.asarray(base["candidate_nll"])
    return FinetuneAudit(AuditScores(scores, texts.words_in.copy(), metrics), texts.secrets_in.copy(),
                         exposure(after[:, 0], after[:, 1:]), exposure(before[:, 0], before[:, 1:]))


# --------------------------------------------------------------------------- the chapter: configs, plan, frames


def levels(params: AuditLLMParameters) -> list[float]:
    """The chapter's epsilons: 0 (no DP) first, then the chapter's ``epsilons``."""
    return [0.0, *params.epsilons]


def canary_set_config(params: AuditLLMParameters) -> CanarySetConfig:
    """The canary set of the ``audit_llm`` chapter's parameters, on the Brown corpus this machine reads."""
    return CanarySetConfig(
        model=params.model, corpus_digest=llm.corpus().digest(),
        pools=PoolConfig(passage_words=params.passage_words, docs_per_pool=params.docs_per_pool,
                         passages_per_doc=params.passages_per_doc, seed=params.seed),
        canaries=params.canaries, canary_words=params.canary_words, secrets=params.secrets,
        secret_digits=params.secret_digits, alternatives=params.alternatives, max_tokens=params.max_tokens,
        batch_size=params.score_batch_size, seed=params.seed)


def finetune_config(params: AuditLLMParameters, epsilon: float) -> FinetuneAuditConfig:
    """The fine-tuning run at ``epsilon`` (0: no DP) of the ``audit_llm`` chapter's parameters."""
    train = FinetuneConfig(method="lora", epochs=params.epochs, lr=params.lr, batch_size=params.batch_size,
                           lora_r=params.lora_r, lora_alpha=2 * params.lora_r)
    return FinetuneAuditConfig(canary_set=canary_set_config(params), train=train, epsilon=epsilon,
                               delta=params.delta, clip=params.clip, min_k=params.min_k)


@dataclass(frozen=True)
class AuditFinetuneBaseJob:
    """The pretrained model's canary statistics and the adapter-gradient check (artefact ``audit_ft_base``)."""

    canary_set: CanarySetConfig = doc_field(CanarySetConfig(), "model, base passages and canaries")


@dataclass(frozen=True)
class AuditFinetuneJob:
    """One fine-tuning run and its canary scores (artefact ``audit_ft_scores``)."""

    audit: FinetuneAuditConfig = doc_field(FinetuneAuditConfig(), "the run, its canaries and its epsilon")


@stage(AuditFinetuneBaseJob)
def run_base_job(job: AuditFinetuneBaseJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AuditFinetuneBaseJob`: the adapter-gradient check's error."""
    return {"adapter_check_error": float(base_payload(job.canary_set, store)["adapter_check_error"])}


@stage(AuditFinetuneJob)
def run_finetune_job(job: AuditFinetuneJob, store: Store) -> dict[str, Any]:
    """Stage of :class:`AuditFinetuneJob`: the attacks' AUCs on the canaries (the scores stay in the store)."""
    result = finetune_audit(job.audit, store)
    return {attack: roc_auc(s, result.words.included) for attack, s in result.words.scores.items()}


def plan_tasks(params: AuditLLMParameters) -> list[Task]:
    """The ``audit_llm`` chapter's tasks: the pretrained model's statistics once, then one fine-tuning run per
    epsilon of :func:`levels` after it. Lists tasks only (reads the corpus's and the weights' digests)."""
    base = task(AuditFinetuneBaseJob(canary_set_config(params)))
    return [base, *(task(AuditFinetuneJob(finetune_config(params, eps)), (base,)) for eps in levels(params))]


def audit_results(params: AuditLLMParameters, store: Store | None = None) -> dict[float, FinetuneAudit]:
    """epsilon (0: no DP) -> its run's audit, loaded from ``store`` (computed when :func:`plan_tasks`' tasks
    did not run)."""
    store = store or Store()
    return {eps: finetune_audit(finetune_config(params, eps), store) for eps in levels(params)}


def adapter_check_error(params: AuditLLMParameters, store: Store | None = None) -> float:
    """The adapter-gradient check's largest relative error (:func:`adapter_gradient_check`) on this build's model."""
    return float(base_payload(canary_set_config(params), store)["adapter_check_error"])


def _words(results: Mapping[float, FinetuneAudit]) -> dict[tuple[str, float], AuditScores]:
    return {(MODEL_NAME, eps): r.words for eps, r in results.items()}


def models_frame(results: Mapping[float, FinetuneAudit]) -> pd.DataFrame:
    """One row per run: ``target_epsilon`` (inf: no DP), the accountant's ``dp_epsilon``, ``noise_multiplier``,
    fine-tuning set size, seconds, final loss and trainable (adapter) parameters."""
    return pd.DataFrame([{"model": MODEL_NAME, "target_epsilon": eps if eps else np.inf, **r.words.metrics}
                         for eps, r in results.items()])


def eps_frame(results: Mapping[float, FinetuneAudit], params: AuditLLMParameters) -> pd.DataFrame:
    """Every run x attack's bounds (:func:`leakage.experiments.audit.audit_rows` at the parameters' ``delta``
    and ``confidence``; threshold splits from ``seed``), with an ``epsilon`` label: the ``audit-llm`` table."""
    frame = pd.DataFrame([row for (name, eps), scores in _words(results).items()
                          for row in audit_rows(name, eps, scores, params.delta, params.confidence,
                                                seed=params.seed)])
    frame["epsilon"] = frame.target_epsilon.map(epsilon_label)
    return frame


def canary_frame(results: Mapping[float, FinetuneAudit]) -> pd.DataFrame:
    """Every random-word canary's inclusion and score per run and attack (the audit chapter's canary frame:
    ``model``, ``target_epsilon``, ``canary``, ``included``, ``attack``, ``score``): the claims' input."""
    from leakage.experiments.audit import canary_frame as audit_canary_frame

    return audit_canary_frame(_words(results))


def exposure_frame(results: Mapping[float, FinetuneAudit]) -> pd.DataFrame:
    """One row per run and secret canary: ``target_epsilon`` (inf: no DP), ``epsilon`` label, ``secret``
    (index), ``included``, ``exposure`` and ``exposure_before`` (bits, under the pretrained model): the
    ``audit-exposure`` table."""
    return pd.concat([pd.DataFrame({"target_epsilon": eps if eps else np.inf, "epsilon": epsilon_label(eps),
                                    "secret": np.arange(len(r.exposure)), "included": r.secrets_in,
                                    "exposure": r.exposure, "exposure_before": r.exposure_before})
                      for eps, r in results.items()], ignore_index=True)


def exposure_ceiling(params: AuditLLMParameters) -> float:
    """The largest exposure this build can measure: log2(alternatives + 1) bits."""
    return max_exposure(params.alternatives)


def uses(params: AuditLLMParameters) -> dict[str, Any]:
    """What the page states about this build's sizes: base passages, canaries, secrets, candidates per secret."""
    cs = canary_set_config(params)
    texts = canary_texts(cs)
    return {"base_passages": len(texts.base), "canaries": cs.canaries, "canaries_in": int(texts.words_in.sum()),
            "secrets": cs.secrets, "secrets_in": int(texts.secrets_in.sum()), "candidates": cs.alternatives + 1,
            "epochs": params.epochs, "max_exposure": exposure_ceiling(params)}

