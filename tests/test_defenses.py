"""Each defence really changes training or outputs; attacks run unchanged against defended targets."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import TOY_ARCH, toy_data
from leakage.attacks import LabelOnlyOracle, PosteriorOracle
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import TransferAttack
from leakage.defenses import DefenceConfig, training_hooks
from leakage.defenses.adversarial import AdversarialRegularisation
from leakage.defenses.augment import Augmentation, random_crop
from leakage.defenses.dp import DPSGD
from leakage.defenses.memguard import MemGuardConfig, MemGuardModel, memguard_logits, train_defence_classifier
from leakage.experiments import targets
from leakage.experiments.label_only import CandidateConfig, run_attack
from leakage.models.cnn import TargetCNN
from leakage.train import TrainConfig, fit

X, Y = toy_data(n=256).images()[:128], toy_data(n=256).y[:128]


def weight_norms(model):
    return sum(p.abs().sum().item() for p in model.parameters() if p.dim() > 1), \
        sum(p.pow(2).sum().item() for p in model.parameters() if p.dim() > 1)


def trained(defence: DefenceConfig, epochs: int = 15):
    torch.manual_seed(0)
    model = TargetCNN((1, 8, 8), 10, TOY_ARCH)
    hooks = training_hooks(defence, num_classes=10, epochs=epochs, seed=0, reference=(X[:32], Y[:32]))
    fit(model, X, Y, TrainConfig(epochs=epochs, batch_size=32), seed=0, hooks=hooks)
    return model, hooks


def test_penalties_shrink_the_weights():
    plain_l1, plain_l2 = weight_norms(trained(DefenceConfig())[0])
    assert weight_norms(trained(DefenceConfig(l2=0.05))[0])[1] < 0.8 * plain_l2
    assert weight_norms(trained(DefenceConfig(l1=5e-3))[0])[0] < 0.8 * plain_l1


def test_augmentation_changes_batches_but_keeps_shape_and_range():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 32, 32)
    for policy in ("flip_crop", "strong"):
        out, _ = Augmentation(policy).transform(x, torch.zeros(16, dtype=torch.long), gen)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1 and not torch.equal(out, x)
    padded_crop = random_crop(x, 0, gen)
    assert torch.equal(padded_crop, x)
    with pytest.raises(ValueError):
        DefenceConfig(augment="mixup")


def test_dp_sgd_clips_and_noises_per_sample_gradients():
    torch.manual_seed(0)
    model = TargetCNN((1, 8, 8), 10, TOY_ARCH)
    start = [p.detach().clone() for p in model.parameters()]

    def one_step(noise, seed):
        for p, s in zip(model.parameters(), start):
            p.data.copy_(s)
        hook = DPSGD(noise=noise, target_epsilon=0, clip=0.01, epochs=1, seed=seed)
        wrapped, optimizer = hook.prepare(model, torch.optim.SGD(model.parameters(), lr=1.0), 128, 32)
        loss = torch.nn.functional.cross_entropy(wrapped(X[:32] * 100), Y[:32])  # huge gradients
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hook.finish(model)
        return torch.cat([(p.detach() - s).flatten() for p, s in zip(model.parameters(), start)])

    clipped = one_step(noise=0.0, seed=0)
    assert 0 < clipped.norm() <= 0.01 + 1e-6  # mean of per-sample gradients clipped to 0.01
    noisy_a, noisy_b = one_step(noise=1.0, seed=1), one_step(noise=1.0, seed=2)
    assert noisy_a.norm() > 10 * clipped.norm() and not torch.allclose(noisy_a, noisy_b)


def test_dp_sgd_reports_epsilon_that_falls_with_noise():
    low = [h for h in trained(DefenceConfig(dp_noise=0.5), epochs=3)[1] if isinstance(h, DPSGD)][0]
    high = [h for h in trained(DefenceConfig(dp_noise=1.1), epochs=3)[1] if isinstance(h, DPSGD)][0]
    assert np.isfinite(low.epsilon) and np.isfinite(high.epsilon) and high.epsilon < low.epsilon
    assert low.delta == pytest.approx(1 / 128)
    target = [h for h in trained(DefenceConfig(dp_epsilon=4.0), epochs=3)[1] if isinstance(h, DPSGD)][0]
    assert target.epsilon == pytest.approx(4.0, rel=0.1)


def test_adversarial_regularisation_trains_its_inference_model_and_changes_the_classifier():
    plain = trained(DefenceConfig())[0]
    model, hooks = trained(DefenceConfig(adv_reg=3.0))
    hook = [h for h in hooks if isinstance(h, AdversarialRegularisation)][0]
    assert any(p.abs().sum() > 0 for p in hook.inference.parameters())
    assert not torch.equal(plain.head.weight, model.head.weight)
    with pytest.raises(ValueError, match="reference"):
        training_hooks(DefenceConfig(adv_reg=1.0), num_classes=10, epochs=1, seed=0)


def test_memguard_keeps_every_label_and_pulls_the_defender_to_one_half():
    gen = torch.Generator().manual_seed(0)
    members = (torch.randn(200, 10, generator=gen) * 4).softmax(1)  # confident
    others = torch.randn(200, 10, generator=gen).softmax(1)  # unsure
    config = MemGuardConfig(steps=200)
    classifier = train_defence_classifier(members, others, config)
    logits = torch.cat([members.log(), others.log()])
    defended = memguard_logits(logits, classifier, config)
    assert torch.equal(defended.argmax(1), logits.argmax(1))
    before, after = classifier(logits.softmax(1)).abs(), classifier(defended.softmax(1)).abs()
    assert after.mean() < 0.5 * before.mean()
    assert torch.allclose(defended.softmax(1).sum(1), torch.ones(len(logits)))


def test_memguard_model_answers_labels_of_the_undefended_model():
    torch.manual_seed(0)
    model = TargetCNN((1, 8, 8), 10, TOY_ARCH).eval()
    classifier = train_defence_classifier(torch.rand(20, 10).softmax(1), torch.rand(20, 10).softmax(1),
                                          MemGuardConfig())
    guarded = MemGuardModel(model, classifier, MemGuardConfig(steps=50))
    x = torch.rand(64, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(guarded(x).argmax(1), model(x).argmax(1))
    assert torch.equal(LabelOnlyOracle(guarded).labels(x), LabelOnlyOracle(model).labels(x))
    assert not torch.allclose(PosteriorOracle(guarded).posteriors(x), PosteriorOracle(model).posteriors(x))


@pytest.fixture(scope="module")
def dp_target(toy_store):
    data = toy_data()
    original = targets.cached_data
    targets.cached_data = lambda name: data
    try:
        config = targets.TargetConfig(split=targets.SplitConfig("digits", 0.1, 0), model_index=4, arch=TOY_ARCH,
                                      train=TrainConfig(epochs=30, min_steps=100),
                                      defence=DefenceConfig(dp_noise=1.1))
        yield targets.train_target(config, toy_store)
    finally:
        targets.cached_data = original


def test_attacks_run_unchanged_against_defended_targets(dp_target, overfit_target, toy_store):
    assert np.isfinite(dp_target.metrics["dp_epsilon"]) and dp_target.metrics["dp_delta"] == pytest.approx(1 / 50)
    shadow = ShadowConfig(arch=TOY_ARCH, train=TrainConfig(epochs=5), size=200)
    guarded = targets.behind_memguard(overfit_target, MemGuardConfig(steps=100))
    assert guarded.key != overfit_target.key
    for target in (dp_target, guarded):
        for name, config in [("baseline", None), ("transfer", TransferAttack.Config(shadow=shadow)),
                             ("score_based", ScoreBasedAttack.Config(shadow=shadow))]:
            result = run_attack(target, name, config, CandidateConfig(), toy_store, n_boot=10)
            assert result.scores.shape == (100,) and 0 <= result.metrics["auc"] <= 1
    for name, config in [("baseline", None), ("transfer", TransferAttack.Config(shadow=shadow))]:
        plain = run_attack(overfit_target, name, config, CandidateConfig(), toy_store, n_boot=10)
        behind = run_attack(guarded, name, config, CandidateConfig(), toy_store, n_boot=10)
        np.testing.assert_array_equal(plain.scores, behind.scores)  # MemGuard leaves label-only attacks unchanged
