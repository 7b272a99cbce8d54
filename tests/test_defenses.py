"""Each defence really changes training or outputs; attacks run unchanged against defended targets."""

import dataclasses

import numpy as np
import pytest
import torch

from conftest import TOY_ARCH, toy_data
from leakage.data import vision as vision_data
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
    original = vision_data.cached_data
    vision_data.cached_data = lambda name: data
    try:
        config = targets.TargetConfig(split=targets.SplitConfig("digits", 0.1, 0), model_index=4, arch=TOY_ARCH,
                                      train=TrainConfig(epochs=30, min_steps=100),
                                      defence=DefenceConfig(dp_noise=1.1))
        yield targets.train_target(config, toy_store)
    finally:
        vision_data.cached_data = original


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


# ------------------------------------------------------------------ option combinations: work, or a clear error

from leakage.defenses.penalties import WeightPenalty  # noqa: E402
from leakage.models.cnn import CNNConfig  # noqa: E402
from leakage.train import TrainHook  # noqa: E402


def fit_hooks(hooks, *, dropout=0.0, epochs=2):
    """Weights after a short fit of the toy CNN (same init and batches for every hook list)."""
    torch.manual_seed(0)
    model = TargetCNN((1, 8, 8), 10, dataclasses.replace(TOY_ARCH, dropout=dropout))
    fit(model, X, Y, TrainConfig(epochs=epochs, batch_size=32), seed=0, hooks=hooks)
    return model


def dp(**kwargs):
    return DPSGD(**{"noise": 0.5, "target_epsilon": 0.0, "clip": 1.0, "epochs": 2, "seed": 0, **kwargs})


def test_dp_adds_the_penalty_gradient_after_clipping_and_noise():
    """One SGD step (lr 1) under DP-SGD without noise and with no clipping in effect: the update is exactly
    minus (mean cross-entropy gradient + the penalty's gradient); before the fix the penalty was dropped."""
    torch.manual_seed(0)
    model = TargetCNN((1, 8, 8), 10, TOY_ARCH)
    penalty = WeightPenalty(l1=0.01, l2=0.3)
    expected_grads = torch.autograd.grad(torch.nn.functional.cross_entropy(model(X[:32]), Y[:32])
                                         + penalty.weight_loss(model), list(model.parameters()))
    start = [p.detach().clone() for p in model.parameters()]
    hook = DPSGD(noise=0.0, target_epsilon=0.0, clip=1e6, epochs=1, seed=0)
    wrapped, optimizer = hook.prepare(model, torch.optim.SGD(model.parameters(), lr=1.0), 32, 32)
    hook.add_public_loss(lambda: penalty.weight_loss(model))
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(wrapped(X[:32]), Y[:32]).backward()
    optimizer.step()
    hook.finish(model)
    for p, s, g in zip(model.parameters(), start, expected_grads):
        torch.testing.assert_close(p.detach() - s, -g, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_dp_per_sample_gradients_are_each_samples_own_gradient_in_the_channels_last_layout(shape):
    """What DP-SGD clips: opacus' per-sample gradients of the channels-last CNN, every parameter, against one
    backward pass per sample (on 8x8 inputs the last conv sees a 1x1 map, where opacus' own sampler erred)."""
    torch.manual_seed(0)
    model = TargetCNN(shape, 10, TOY_ARCH)
    assert model.memory_format() == torch.channels_last
    x, y = torch.rand(6, *shape), torch.randint(0, 10, (6,))
    expected = [torch.autograd.grad(torch.nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]),
                                    list(model.parameters())) for i in range(len(x))]
    hook = DPSGD(noise=0.0, target_epsilon=0.0, clip=1e6, epochs=1, seed=0)
    wrapped, _ = hook.prepare(model, torch.optim.SGD(model.parameters(), lr=1.0), len(x), len(x))
    torch.nn.functional.cross_entropy(wrapped(x), y).backward()  # opacus' default: a mean over the batch
    for j, (name, p) in enumerate(model.named_parameters()):
        torch.testing.assert_close(p.grad_sample, torch.stack([g[j] for g in expected]), atol=1e-6, rtol=1e-4,
                                   msg=lambda m, name=name: f"{name}: {m}")
    hook.finish(model)


def test_dp_with_a_penalty_shrinks_the_weights_compared_with_dp_alone():
    alone = weight_norms(fit_hooks([dp()]))
    with_l2 = weight_norms(fit_hooks([dp(), WeightPenalty(l2=1.0)]))
    with_l1 = weight_norms(fit_hooks([dp(), WeightPenalty(l1=0.05)]))
    assert with_l2[1] < 0.95 * alone[1] and with_l1[0] < 0.95 * alone[0]
    # and through the config, the one path the experiments take
    plain, penalised = trained(DefenceConfig(dp_noise=0.5), epochs=2)[0], trained(DefenceConfig(dp_noise=0.5, l2=1.0),
                                                                                  epochs=2)[0]
    assert weight_norms(penalised)[1] < 0.95 * weight_norms(plain)[1]


def test_dp_with_augmentation_or_dropout_trains_and_each_changes_the_weights():
    alone = fit_hooks([dp()])
    augmented = fit_hooks([Augmentation("flip_crop"), dp()])
    dropped = fit_hooks([dp()], dropout=0.5)
    for model in (augmented, dropped):
        assert all(torch.isfinite(p).all() for p in model.parameters())
        assert not torch.equal(model.head.weight, alone.head.weight)


def test_two_penalties_add_up_to_one_with_both_weights():
    both = fit_hooks([WeightPenalty(l1=1e-3, l2=0.05)])
    two = fit_hooks([WeightPenalty(l2=0.05), WeightPenalty(l1=1e-3)])
    for a, b in zip(both.parameters(), two.parameters()):
        torch.testing.assert_close(a, b)
    assert not torch.equal(both.head.weight, fit_hooks([WeightPenalty(l2=0.05)]).head.weight)


def test_adversarial_regularisation_composes_with_penalties_and_augmentation():
    model, hooks = trained(DefenceConfig(adv_reg=3.0, l2=0.05, augment="flip_crop"), epochs=2)
    assert {type(h).__name__ for h in hooks} == {"AdversarialRegularisation", "WeightPenalty", "Augmentation"}
    assert not torch.equal(model.head.weight, trained(DefenceConfig(adv_reg=3.0), epochs=2)[0].head.weight)


def test_combinations_that_cannot_work_are_clear_errors():
    with pytest.raises(ValueError, match=r"DP-SGD \(dp_noise / dp_epsilon\) cannot be combined with .*adv_reg"):
        DefenceConfig(dp_noise=1.0, adv_reg=1.0)
    with pytest.raises(ValueError, match="dp_noise .* and dp_epsilon .* cannot both be set"):
        DefenceConfig(dp_noise=1.0, dp_epsilon=2.0)
    with pytest.raises(ValueError, match="dp_clip .* only configures DP-SGD"):
        DefenceConfig(dp_clip=0.5)
    with pytest.raises(ValueError, match="adv_steps .* only configures adversarial regularisation"):
        DefenceConfig(adv_steps=3)
    adversarial = AdversarialRegularisation(1.0, (X[:32], Y[:32]), 10, 1, 0)
    with pytest.raises(ValueError, match="DPSGD .* cannot be combined with AdversarialRegularisation"):
        fit_hooks([dp(), adversarial])
    with pytest.raises(ValueError, match="DPSGD and DPSGD both privatise"):
        fit_hooks([dp(), dp(seed=1)])
    with pytest.raises(ValueError, match="noise .* or target_epsilon .* not both"):
        DPSGD(noise=1.0, target_epsilon=2.0, clip=1.0, epochs=1, seed=0)

    class Batches(TrainHook):
        def batches(self, num_samples, batch_size, generator):
            return [torch.arange(num_samples)]

    with pytest.raises(ValueError, match="Batches and DPSGD both choose the training batches"):
        fit_hooks([Batches(), dp()])

    class BatchTerm(TrainHook):
        def extra_loss(self, model, logits, y):
            return logits.std(0).sum()  # mixes the batch's samples: per-sample clipping cannot cover it

    with pytest.raises(ValueError, match="DPSGD .* cannot be combined with BatchTerm.*per_sample_extra_loss"):
        fit_hooks([dp(), BatchTerm()])

    class PerSample(TrainHook):
        per_sample_extra_loss = True

        def extra_loss(self, model, logits, y):
            return 0.1 * logits.pow(2).mean()

    assert not torch.equal(fit_hooks([dp(), PerSample()]).head.weight, fit_hooks([dp()]).head.weight)


def test_memguard_cannot_wrap_a_target_twice_and_wraps_a_dp_target(dp_target):
    guarded = targets.behind_memguard(dp_target, MemGuardConfig(steps=20))
    x = dp_target.data.images(dp_target.members[:16])
    with torch.no_grad():
        assert torch.equal(guarded.model(x).argmax(1), dp_target.model(x).argmax(1))
    with pytest.raises(ValueError, match="already behind an inference-time defence"):
        targets.behind_memguard(guarded, MemGuardConfig(steps=20))


def test_non_finite_inputs_to_defences_are_clear_errors():
    nan = float("nan")
    for bad in (dict(l2=nan), dict(l1=-1.0), dict(dp_noise=nan), dict(dp_epsilon=float("inf")), dict(adv_reg=nan)):
        with pytest.raises(ValueError, match="finite and >= 0"):
            DefenceConfig(**bad)
    with pytest.raises(ValueError, match="penalty l1 must be finite"):
        WeightPenalty(l1=nan)
    with pytest.raises(ValueError, match="clip must be finite"):
        DPSGD(noise=1.0, target_epsilon=0.0, clip=nan, epochs=1, seed=0)
    with pytest.raises(ValueError, match="MemGuard lr"):
        MemGuardConfig(lr=nan)
    with pytest.raises(ValueError, match="MemGuard budget"):
        MemGuardConfig(budget=nan)
    classifier = train_defence_classifier(torch.rand(8, 10).softmax(1), torch.rand(8, 10).softmax(1),
                                          MemGuardConfig(), epochs=2)
    logits = torch.randn(4, 10)
    logits[1, 3] = nan
    with pytest.raises(ValueError, match="logits: 1 value"):
        memguard_logits(logits, classifier, MemGuardConfig(steps=2))
    logits[1, 3] = float("-inf")
    with pytest.raises(ValueError, match="logits: 1 value"):
        memguard_logits(logits, classifier, MemGuardConfig(steps=2))
    probs = torch.rand(8, 10).softmax(1)
    probs[0, 0] = nan
    with pytest.raises(ValueError, match="member_probs: 1 value"):
        train_defence_classifier(probs, torch.rand(8, 10).softmax(1), MemGuardConfig(), epochs=2)
    with pytest.raises(ValueError, match="probabilities in"):
        train_defence_classifier(torch.randn(8, 10), torch.rand(8, 10).softmax(1), MemGuardConfig(), epochs=2)
    reference = X[:8].clone()
    reference[0, 0, 0, 0] = nan
    with pytest.raises(ValueError, match="reference inputs: 1 value"):
        AdversarialRegularisation(1.0, (reference, Y[:8]), 10, 1, 0)
    x = X.clone()
    x[5, 0, 2, 2] = float("inf")
    with pytest.raises(ValueError, match="x: 1 value"):
        fit(TargetCNN((1, 8, 8), 10, TOY_ARCH), x, Y, TrainConfig(epochs=1), seed=0)
