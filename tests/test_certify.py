"""Certified radius by randomized smoothing: Theorem 1 with a Clopper-Pearson bound."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import beta, norm

from leakage.certify import (CertifyConfig, CertifyRun, certified_radii, certify, lower_confidence_bound,
                             outcomes_by_class, radius_from_counts)
from leakage.config import field_docs


class HalfSpace(torch.nn.Module):
    """Class 1 where w.x + b > 0 (|w| = 1), else 0: P(M(x + e) = 1) = Phi((w.x + b) / sigma) exactly."""

    def __init__(self, w: torch.Tensor, b: float):
        super().__init__()
        self.w = torch.nn.Parameter(w / w.norm(), requires_grad=False)
        self.b = b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1) @ self.w + self.b
        return torch.stack([-z, z], 1)


class Constant(torch.nn.Module):
    """Class 2 of 3 for every input: P(M(x + e) = 2) = 1."""

    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.tensor([0.0, 0.0, 1.0]), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), 3)


def test_configs_document_every_field_and_reject_bad_values():
    assert field_docs(CertifyConfig) and field_docs(CertifyRun)
    for bad in ({"sigma": 0}, {"alpha": 1.5}, {"n": 0}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            CertifyConfig(**bad)


def test_radius_is_theorem_1_with_a_clopper_pearson_bound():
    counts, n, sigma, alpha = np.array([1000, 990, 700, 500, 0]), 1000, 0.5, 0.001
    radius, p_lower = radius_from_counts(counts, n, sigma, alpha)
    expected_p = [alpha ** (1 / n), beta.ppf(alpha, 990, 11), beta.ppf(alpha, 700, 301), beta.ppf(alpha, 500, 501), 0]
    np.testing.assert_allclose(p_lower, expected_p, rtol=1e-10)
    # Theorem 1: sigma/2 (Phi^-1(p_A) - Phi^-1(p_B)) with p_B = 1 - p_A  ==  sigma Phi^-1(p_A)
    two_sided = sigma / 2 * (norm.ppf(p_lower[:3]) - norm.ppf(1 - p_lower[:3]))
    np.testing.assert_allclose(radius[:3], two_sided, rtol=1e-10)
    assert radius[3] == 0 and radius[4] == 0  # abstain: the bound does not exceed 1/2


def test_certify_matches_known_smoothed_probabilities():
    config = CertifyConfig(sigma=0.25, n0=50, n=4000, alpha=0.001, batch_size=3000, seed=1)
    # constant model: p_A = 1 exactly, so the count is N and the radius sigma Phi^-1(alpha^(1/N)) exactly
    x = torch.rand(5, 1, 4, 4)
    out = certify(Constant(), x, torch.tensor([2, 2, 2, 0, 1]), config)
    exact = config.sigma * norm.ppf(config.alpha ** (1 / config.n))
    np.testing.assert_allclose(out["radius"][:3], exact, rtol=1e-9)
    assert (out["radius"][3:] == 0).all() and out["correct"].tolist() == [True] * 3 + [False] * 2
    # half-space: p_A = Phi(margin / sigma), so the radius is close to (and, w.h.p., below) the margin itself
    w = torch.randn(16, generator=torch.Generator().manual_seed(0))
    model = HalfSpace(w, 0.0)
    margins = torch.tensor([0.05, 0.1, 0.2, 0.3, -0.2])
    base = torch.rand(5, 16, generator=torch.Generator().manual_seed(1))
    base = base - (base @ model.w)[:, None] * model.w
    x = (base + margins[:, None] * model.w).view(5, 1, 4, 4)
    y = (margins > 0).long()
    out = certify(model, x, y, config)
    p_true = norm.cdf(margins.abs().numpy() / config.sigma)
    slack = 6.5 * np.sqrt(p_true * (1 - p_true) / config.n)  # the one-sided bound (3.1 sd) + sampling (3.4 sd)
    expected_low = config.sigma * norm.ppf(np.clip(p_true - slack, 0.5, 1))
    assert (out["radius"] <= margins.abs().numpy() + 1e-3).all()
    assert (out["radius"] >= expected_low - 1e-3).all(), (out["radius"], expected_low)
    assert out["correct"].all()


def test_certify_is_deterministic_and_cached(tmp_path):
    from leakage.store import Store

    config = CertifyConfig(n0=10, n=200, batch_size=64)
    model = HalfSpace(torch.ones(16), -2.0)
    x, y = torch.rand(7, 1, 4, 4), torch.zeros(7, dtype=torch.long)
    run = CertifyRun(model="half-space", samples="seven", certify=config)
    a = certified_radii(model, x, y, run, Store(tmp_path))
    b = certify(model, x, y, config)
    np.testing.assert_array_equal(a["radius"], b["radius"])
    assert len(list(Store(tmp_path).root.glob("certify/*/record.json"))) == 1


def test_certified_radii_are_keyed_by_the_weights_and_samples_not_only_the_names(tmp_path):
    from leakage.store import Store

    config = CertifyConfig(n0=10, n=200, batch_size=64)
    x, y = torch.rand(7, 1, 4, 4), torch.zeros(7, dtype=torch.long)
    run = CertifyRun(model="half-space", samples="seven", certify=config)  # the same names for every call
    near, far = HalfSpace(torch.ones(16), -2.0), HalfSpace(torch.arange(16.0) - 4.0, -2.0)  # other weights
    first = certified_radii(near, x, y, run, Store(tmp_path))
    other_model = certified_radii(far, x, y, run, Store(tmp_path))
    np.testing.assert_array_equal(other_model["radius"], certify(far, x, y, config)["radius"])
    assert not np.array_equal(first["radius"], other_model["radius"])
    other_samples = certified_radii(near, x.flip(0), y, run, Store(tmp_path))
    np.testing.assert_array_equal(other_samples["radius"], certify(near, x.flip(0), y, config)["radius"])


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_inputs_are_refused_even_when_a_cached_radius_exists(tmp_path, value):
    from leakage.store import Store

    config = CertifyConfig(n0=10, n=100, batch_size=64)
    model = HalfSpace(torch.ones(16), -2.0)
    x, y = torch.rand(3, 1, 4, 4), torch.zeros(3, dtype=torch.long)
    run = CertifyRun(model="half-space", samples="three", certify=config)
    certified_radii(model, x, y, run, Store(tmp_path))  # the run's radii are now cached
    bad = x.clone()
    bad[0, 0, 1, 1] = value
    with pytest.raises(ValueError, match=r"x: 1 value\(s\) are NaN or infinite"):
        certify(model, bad, y, config)
    with pytest.raises(ValueError, match=r"x: 1 value\(s\) are NaN or infinite"):
        certified_radii(model, bad, y, run, Store(tmp_path))
    with pytest.raises(ValueError, match="one label per input"):
        certify(model, x, y[:2], config)
    with pytest.raises(ValueError, match="successes"):
        lower_confidence_bound(np.array([3.0, value]), 10, 0.001)
    with pytest.raises(ValueError, match="successes"):
        radius_from_counts(np.array([11.0]), 10, 0.25, 0.001)
    for bad_config in ({"sigma": value}, {"alpha": math.nan}):
        with pytest.raises(ValueError):
            CertifyConfig(**bad_config)


def test_outcomes_by_class_show_a_class_that_the_noise_gives_radius_zero():
    """Constant class 2 under any noise: class 2 certifies, classes 0 and 1 get radius 0 for their class alone."""
    config = CertifyConfig(n0=10, n=200, batch_size=64)
    y = torch.tensor([2, 2, 0, 1, 1])
    out = certify(Constant(), torch.rand(5, 1, 4, 4), y, config)
    table = outcomes_by_class(y.numpy(), out)
    assert table["class"].tolist() == [0, 1, 2] and table.samples.tolist() == [1, 2, 2]
    assert table.certified.tolist() == [0, 0, 2] and table.wrong.tolist() == [1, 2, 0]
    assert table.abstained.tolist() == [0, 0, 0] and table.zero_share.tolist() == [1.0, 1.0, 0.0]
    assert table.acr.iloc[2] == pytest.approx(out["radius"][0]) and (table.acr.iloc[:2] == 0).all()
    with pytest.raises(ValueError, match="one entry per sample"):
        outcomes_by_class(y.numpy()[:3], out)
