"""The audited targets (the ``audit`` chapter's stages): train a model with canaries under DP-SGD (or none) and
score every canary with the book's attacks (cached in the store).

Vision: the Li & Zhang CNN on ``base_size`` real images plus the included canaries; attacks LOSS
(confidence vectors), baseline and HopSkipJump boundary (labels only, through the oracle).
Text: the from-scratch GPT-2 of the LLM chapter on the member pool's passages plus the included
canaries (random-word texts); attacks LOSS, zlib, Min-k% and Min-k%++ from ``leakage.lm.attacks``.
Every canary gets a score from every attack; none is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from leakage.data import vision
from leakage.attacks import AttackContext, PosteriorOracle, get_attack
from leakage.attacks.boundary import BoundaryAttack
from leakage.attacks.oracle import LabelOnlyOracle
from leakage.audit.canaries import VISION_KINDS, canary_inclusion, noise_images, random_word_texts, wrong_labels
from leakage.config import doc_field
from leakage.defenses.dp import DPSGD
from leakage.device import describe_device, get_device
from leakage.experiments import llm
from leakage.experiments.targets import build_model
from leakage.lm.attacks import AttackInputs, run_attacks
from leakage.lm.corpus import PoolConfig
from leakage.lm.models import FinetuneConfig, ScratchConfig, build_scratch, train_lm
from leakage.lm.scoring import Scorer
from leakage.models.cnn import CNNConfig
from leakage.seed import numpy_rng, seed_everything
from leakage.store import Store
from leakage.train import TrainConfig, accuracy, epochs_for, fit, predict_logits


def dp_hooks(epsilon: float, delta: float, clip: float, epochs: int, seed: int) -> list[DPSGD]:
    """[DP-SGD at target ``epsilon`` for ``epochs`` epochs at ``delta``] (the noise from the accountant), or []
    for ``epsilon`` 0 (no DP). Raises ``ValueError`` for a negative epsilon."""
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0 (0: no DP), got {epsilon}")
    if not epsilon:
        return []
    return [DPSGD(noise=0.0, target_epsilon=epsilon, clip=clip, epochs=epochs, seed=seed, delta=delta)]


def dp_record(hooks: list[DPSGD]) -> dict[str, float]:
    """The accountant's ``dp_epsilon`` after training (inf without DP) and the ``noise_multiplier`` used."""
    if not hooks:
        return {"dp_epsilon": float("inf"), "noise_multiplier": 0.0}
    return {"dp_epsilon": float(hooks[0].epsilon), "noise_multiplier": float(hooks[0].noise)}


# --------------------------------------------------------------------------- vision


@dataclass(frozen=True)
class VisionAuditConfig:
    """A CNN trained with m canaries, each included with probability 1/2, under DP-SGD at ``epsilon`` (0: no DP)."""

    dataset: str = doc_field("digits", "vision data set (see leakage.data.vision)")
    base_size: int = doc_field(500, "real training images, always in the training set")
    test_size: int = doc_field(500, "held-out images for the test accuracy")
    canaries: int = doc_field(200, "m: canaries, each in the training set with probability 1/2")
    canary_kind: str = doc_field("mislabelled", "'mislabelled' (real images, wrong labels) or 'noise' (uniform images)")
    epsilon: float = doc_field(0.0, "DP-SGD target epsilon at `delta`; the noise is chosen to reach it (0: no DP)")
    delta: float = doc_field(1e-5, "delta of the DP guarantee, also used by the audit")
    clip: float = doc_field(1.0, "DP-SGD per-sample gradient clipping norm")
    arch: CNNConfig = doc_field(CNNConfig(), "CNN size")
    train: TrainConfig = doc_field(TrainConfig(epochs=30), "optimisation (Adam; DP-Adam under DP-SGD)")
    boundary_budget: int = doc_field(300, "label queries per canary of the boundary attack (0: skip it)")
    seed: int = doc_field(0, "seed of the data draw, canaries, inclusion, weights and batches")

    def __post_init__(self) -> None:
        if self.canary_kind not in VISION_KINDS:
            raise ValueError(f"canary_kind must be one of {VISION_KINDS}, got {self.canary_kind!r}")

    def input_digests(self) -> dict[str, str]:
        """The content digest of the data set read (so rewritten data files never reuse a stale model)."""
        return {"dataset": vision.cached_data(self.dataset).digest}


@dataclass
class AuditScores:
    """Every attack's canary scores (m,) (higher = member), the inclusion (m,) and the target's numbers."""

    scores: dict[str, np.ndarray]
    included: np.ndarray
    metrics: dict[str, float]


def vision_canaries(config: VisionAuditConfig) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray, np.ndarray]:
    """(canary images (m, C, H, W), canary labels (m,), base indices, test indices, inclusion (m,))."""
    data = vision.cached_data(config.dataset)
    need = config.base_size + config.test_size + (config.canaries if config.canary_kind == "mislabelled" else 0)
    if need > len(data):
        raise ValueError(f"{config.dataset} has {len(data)} images; base_size + test_size (+ canaries when "
                         f"mislabelled) = {need}")
    order = numpy_rng(config.seed, "audit-split").permutation(len(data))
    base, test = order[:config.base_size], order[config.base_size:config.base_size + config.test_size]
    if config.canary_kind == "mislabelled":
        index = order[config.base_size + config.test_size:need]
        images = data.images(torch.as_tensor(index))
        labels = torch.as_tensor(wrong_labels(data.y[index].numpy(), data.num_classes, config.seed))
    else:
        images, labels = noise_images(config.canaries, data.input_shape, data.num_classes, config.seed)
    return images, labels, base, test, canary_inclusion(config.canaries, config.seed)


def train_vision_target(config: VisionAuditConfig, store: Store | None = None
                        ) -> tuple[torch.nn.Module, dict, tuple[torch.Tensor, torch.Tensor]]:
    """(trained CNN in eval mode, payload with inclusion, DP epsilon and accuracies, (canary images, labels))."""
    store = store or Store()
    data = vision.cached_data(config.dataset)
    canary_x, canary_y, base, test, included = vision_canaries(config)
    device = get_device()

    def compute() -> dict:
        seed_everything(config.seed)
        model = build_model(data, config.arch, config.seed).to(device)
        x = torch.cat([data.images(torch.as_tensor(base)), canary_x[torch.as_tensor(included)]]).to(device)
        y = torch.cat([data.y[base], canary_y[torch.as_tensor(included)]]).to(device)
        hooks = dp_hooks(config.epsilon, config.delta, config.clip, epochs_for(config.train, len(x)), config.seed)
        start = time.perf_counter()
        fit(model, x, y, config.train, seed=config.seed, hooks=hooks,
            desc=f"audit target eps={config.epsilon:g} ({config.dataset})")
        return {"model": model.state_dict(), "included": included, "train_size": len(x),
                "train_seconds": time.perf_counter() - start,
                "test_accuracy": accuracy(model, data.images(torch.as_tensor(test)), data.y[test]),
                "base_accuracy": accuracy(model, data.images(torch.as_tensor(base)), data.y[base]),
                **dp_record(hooks)}

    payload = store.cached("audit_vision_target", config, compute, seed=config.seed, device=describe_device(device))
    if not np.array_equal(payload["included"], included):
        raise RuntimeError("the stored canary inclusion differs from the one the seed gives; rerun with --force")
    model = build_model(data, config.arch, config.seed)
    model.load_state_dict(payload["model"])
    return model.to(device).eval(), payload, (canary_x, canary_y)


@dataclass(frozen=True)
class VisionScoresKey:
    """What the canary scores of a vision audit depend on: the audit, and every setting of the boundary attack
    (so a new attack setting never reuses old scores)."""

    audit: VisionAuditConfig = doc_field(VisionAuditConfig(), "the audited target and its canaries")
    boundary: BoundaryAttack.Config = doc_field(BoundaryAttack.Config(), "the boundary attack (unused when the "
                                                                         "audit's boundary_budget is 0)")


def vision_scores(config: VisionAuditConfig, store: Store | None = None) -> AuditScores:
    """LOSS, baseline and boundary scores of every canary against the target of ``config``; cached."""
    store = store or Store()
    model, target, (canary_x, canary_y) = train_vision_target(config, store)
    included = np.asarray(target["included"], dtype=bool)
    device = next(model.parameters()).device
    key = VisionScoresKey(config, BoundaryAttack.Config(budget=max(config.boundary_budget, 1), seed=config.seed))

    def compute() -> dict:
        x, y = canary_x.to(device), canary_y.to(device)
        posteriors = PosteriorOracle(model).posteriors(x).double()
        scores = {"loss": torch.log(posteriors[torch.arange(len(y)), y].clamp_min(1e-300)).cpu().numpy()}
        context = AttackContext(oracle=LabelOnlyOracle(model, num_owners=len(x), budget=config.boundary_budget or None),
                                candidates=x, candidate_labels=y, shadow_x=x[:0], shadow_y=y[:0],
                                num_classes=int(posteriors.shape[1]), seed=config.seed, store=store,
                                target_key=config, data_key=config)
        scores["baseline"] = get_attack("baseline")().run(context).scores
        if config.boundary_budget:
            context.oracle = LabelOnlyOracle(model, num_owners=len(x), budget=config.boundary_budget)
            scores["boundary"] = BoundaryAttack(key.boundary).run(context).scores
        canary_accuracy = (predict_logits(model, x).argmax(1) == y).cpu().numpy()
        return {"labels": list(scores), **{f"score_{i}": s for i, s in enumerate(scores.values())},
                "canary_accuracy_in": float(canary_accuracy[included].mean()),
                "canary_accuracy_out": float(canary_accuracy[~included].mean())}

    payload = store.cached("audit_vision_scores", key, compute, seed=config.seed)
    scores = {label: np.asarray(payload[f"score_{i}"], dtype=np.float64) for i, label in enumerate(payload["labels"])}
    metrics = {k: float(target[k]) for k in ("dp_epsilon", "noise_multiplier", "test_accuracy", "base_accuracy",
                                             "train_size", "train_seconds")}
    metrics.update(canary_accuracy_in=payload["canary_accuracy_in"], canary_accuracy_out=payload["canary_accuracy_out"])
    return AuditScores(scores, included, metrics)


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class LMAuditConfig:
    """A from-scratch GPT-2 trained on Brown passages plus m random-word canaries (each included w.p. 1/2)."""

    pools: PoolConfig = doc_field(PoolConfig(), "Brown pools: the member pool is the base training set, the "
                                                "reference pool trains the tokenizer and gives the canary words")
    corpus_digest: str = doc_field("", "content digest of the Brown corpus read")
    scratch: ScratchConfig = doc_field(ScratchConfig(), "GPT-2 size")
    train: FinetuneConfig = doc_field(FinetuneConfig(epochs=20, batch_size=16), "optimisation (AdamW; full)")
    canaries: int = doc_field(100, "m: canary texts, each in the training set with probability 1/2")
    canary_words: int = doc_field(12, "words per canary, drawn uniformly from the reference pool's vocabulary")
    epsilon: float = doc_field(0.0, "DP-SGD target epsilon at `delta` (0: no DP)")
    delta: float = doc_field(1e-5, "delta of the DP guarantee, also used by the audit")
    clip: float = doc_field(1.0, "DP-SGD per-sample gradient clipping norm")
    max_tokens: int = doc_field(128, "tokens of a text trained on and scored")
    min_k: float = doc_field(0.2, "k of Min-k% and Min-k%++")
    seed: int = doc_field(0, "seed of canaries, inclusion, weights and batches")


def lm_target(config: LMAuditConfig) -> llm.LMTargetConfig:
    """The LLM chapter's target config naming the pools, corpus and GPT-2 size of ``config`` (its tokenizer's key)."""
    return llm.LMTargetConfig(pools=config.pools, corpus_digest=config.corpus_digest, scratch=config.scratch)


def lm_texts(config: LMAuditConfig, store: Store | None = None) -> tuple[list[str], list[str], np.ndarray, object]:
    """(base training texts, canary texts (m), inclusion (m,), tokenizer) of ``config``; the tokenizer (the
    LLM chapter's byte-level BPE on the reference pool) comes from ``store`` (default: ``Store()``)."""
    pools = llm.pools_for(config.pools, config.corpus_digest)
    vocabulary = sorted({w.lower() for p in pools.reference for w in p.text.split() if w.isalpha()})
    canaries = random_word_texts(config.canaries, config.canary_words, vocabulary, config.seed)
    return [p.text for p in pools.members], canaries, canary_inclusion(config.canaries, config.seed), \
        llm.scratch_tokenizer(lm_target(config), store)


def lm_scores(config: LMAuditConfig, store: Store | None = None) -> AuditScores:
    """LOSS, zlib, Min-k% and Min-k%++ scores of every canary against the GPT-2 of ``config``; cached."""
    if config.train.method != "full":
        raise ValueError("the audited GPT-2 is trained from scratch: train.method must be 'full'")
    store = store or Store()
    base, canaries, included, tokenizer = lm_texts(config, store)
    device = get_device()

    def compute() -> dict:
        seed_everything(config.seed)
        model = build_scratch(config.scratch, tokenizer, config.seed).to(device)
        texts = base + [t for t, keep in zip(canaries, included) if keep]
        hooks = dp_hooks(config.epsilon, config.delta, config.clip, config.train.epochs, config.seed)
        start = time.perf_counter()
        _, losses = train_lm(model, tokenizer, texts, config.train, max_tokens=config.max_tokens, seed=config.seed,
                             desc=f"audit GPT-2 eps={config.epsilon:g}", dp=hooks[0] if hooks else None)
        seconds = time.perf_counter() - start
        stats = Scorer(model.eval(), tokenizer, name="audit", max_tokens=config.max_tokens).stats(canaries)
        specs = [("loss", {}), ("zlib", {}), ("min-k", {"k": config.min_k}), ("min-k++", {"k": config.min_k})]
        scores = run_attacks(AttackInputs(stats), specs)
        return {"labels": list(scores), **{f"score_{i}": s for i, s in enumerate(scores.values())},
                "included": included, "train_size": len(texts), "train_seconds": seconds,
                "final_train_loss": losses[-1], "embedding_rows": config.scratch.vocab_size, **dp_record(hooks)}

    payload = llm.cached_requiring(store, "audit_lm_scores", config, compute,
                                   llm.embedding_marks(lm_target(config), store), seed=config.seed,
                                   device=describe_device(device))
    scores = {label: np.asarray(payload[f"score_{i}"], dtype=np.float64) for i, label in enumerate(payload["labels"])}
    metrics = {k: float(payload[k]) for k in ("dp_epsilon", "noise_multiplier", "train_size", "train_seconds",
                                              "final_train_loss")}
    return AuditScores(scores, payload["included"].astype(bool), metrics)
