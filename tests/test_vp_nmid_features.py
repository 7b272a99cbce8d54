"""Released features and NMID: feature sets, label keeping where the rule says so, masking, determinism."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from leakage.vp.features import FEATURE_SETS, feature_matrix, from_logits
from leakage.vp.nmid import KEEPS_LABEL, MASK_LEVELS, NMIDConfig, apply_nmid, implied_loss, keep_label


def raw(n: int = 200, d: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(scale=3, size=(n, 2)), rng.integers(0, 2, n)


def test_undefended_release_and_the_eight_feature_sets():
    embedding, logits, labels = raw()
    released = from_logits(embedding, logits, labels)
    z = torch.tensor(logits)
    assert np.allclose(released.loss, F.cross_entropy(z, torch.tensor(labels), reduction="none").numpy())
    assert np.allclose(released.confidence, torch.softmax(z, 1).max(1).values.numpy())
    widths = {name: feature_matrix(released, name).shape for name in FEATURE_SETS}
    assert len(FEATURE_SETS) == 8
    assert widths == {"embedding": (200, 12), "logits": (200, 2), "loss": (200, 1), "confidence": (200, 1),
                      "logits+loss": (200, 3), "loss+confidence": (200, 2), "logits+loss+confidence": (200, 4),
                      "all": (200, 16)}
    with pytest.raises(ValueError, match="unknown feature set"):
        feature_matrix(released, "gradients")


def test_sigma_zero_level_none_is_the_undefended_release():
    embedding, logits, labels = raw()
    defended = apply_nmid(embedding, logits, labels, NMIDConfig(), "target")
    plain = from_logits(embedding, logits, labels)
    for part in ("embedding", "logits", "confidence", "loss", "prediction"):
        assert np.allclose(getattr(defended, part), getattr(plain, part))


@pytest.mark.parametrize("level", MASK_LEVELS)
@pytest.mark.parametrize("sigma", [0.0, 1.0, 10.0])
def test_the_predicted_label_is_kept_where_the_rule_says_so(level, sigma):
    embedding, logits, labels = raw(n=500)
    logits[:50] = logits[:50] * 0.01  # near-ties: rounding and noise would flip them
    released = apply_nmid(embedding, logits, labels, NMIDConfig(level=level, sigma=sigma), "target")
    kept = released.prediction == logits.argmax(1)
    if KEEPS_LABEL[level]:
        assert kept.all()
        assert np.array_equal(released.logits.argmax(1), logits.argmax(1))  # the released logits agree
    elif sigma >= 1:
        assert not kept.all()  # plain noise flips some labels
    assert np.isfinite(released.loss).all() and np.isfinite(released.confidence).all()


def test_masking_levels_release_less_and_less():
    embedding, logits, labels = raw()
    coarse = apply_nmid(embedding, logits, labels, NMIDConfig(level="coarse", sigma=0.0, emb_keep=0.25), "t")
    assert (np.abs(coarse.embedding).sum(0) > 0).sum() == 3  # 25% of 12 dims released
    assert np.allclose(coarse.confidence, np.round(coarse.confidence, 1))
    top1 = apply_nmid(embedding, logits, labels, NMIDConfig(level="top1", sigma=0.0), "t")
    assert not top1.embedding.any() and set(np.unique(top1.logits)) == {0.0, 1.0}
    assert np.allclose(top1.loss, implied_loss(top1.prediction, top1.confidence, labels, 2))
    label_only = [apply_nmid(embedding, logits, labels, NMIDConfig(level="label", sigma=s), "t") for s in (0, 10)]
    assert all(np.array_equal(getattr(label_only[0], p), getattr(label_only[1], p))
               for p in ("embedding", "logits", "confidence", "loss", "prediction"))  # sigma has no effect


def test_noise_is_seeded_per_deployment():
    embedding, logits, labels = raw()
    config = NMIDConfig(level="none", sigma=1.0, seed=4)
    a, b = (apply_nmid(embedding, logits, labels, config, "target") for _ in range(2))
    c = apply_nmid(embedding, logits, labels, config, "shadow")
    assert np.array_equal(a.logits, b.logits) and not np.array_equal(a.logits, c.logits)


def test_keep_label_raises_only_where_needed():
    z = np.array([[1.0, 1.0], [0.0, 2.0], [3.0, 1.0]])
    out = keep_label(z, np.array([0, 0, 0]), 0.1)
    assert out.tolist() == [[1.1, 1.0], [2.1, 2.0], [3.0, 1.0]]


def test_bad_nmid_configs_are_clear_errors():
    with pytest.raises(ValueError, match="unknown NMID level"):
        NMIDConfig(level="All")
    with pytest.raises(ValueError, match="sigma >= 0"):
        NMIDConfig(sigma=-1)
    assert NMIDConfig(level="top1", sigma=10).name == "top1-10"


def test_nmid_and_the_release_reject_nan_and_infinite_outputs():
    embedding, logits, labels = raw(20)
    for name, bad in (("logits", logits.copy()), ("embedding", embedding.copy())):
        bad[3, 1] = np.nan
        args = (bad, logits, labels) if name == "embedding" else (embedding, bad, labels)
        with pytest.raises(ValueError, match=f"NMID {name}: 1 value"):
            apply_nmid(*args, NMIDConfig(level="top1", sigma=1.0), "target")
        with pytest.raises(ValueError, match=f"{name}: 1 value"):
            from_logits(*args)
    infinite = logits.copy()
    infinite[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        apply_nmid(embedding, infinite, labels, NMIDConfig(), "target")
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 2\)"):
        apply_nmid(embedding, logits, labels + 2, NMIDConfig(), "target")
