"""The target CNN's shapes, the training loop, and determinism of a whole target run."""

import pytest
import torch

from leakage.data.splits import SplitConfig
from leakage.experiments.targets import TargetConfig, train_target
from leakage.models import CNNConfig, TargetCNN, count_parameters
from leakage.store import Store
from leakage.train import TrainConfig, TrainHook, accuracy, epochs_for, fit, predict_logits


@pytest.mark.parametrize("shape,classes", [((1, 8, 8), 10), ((1, 28, 28), 10), ((3, 32, 32), 100),
                                           ((3, 64, 64), 43), ((3, 25, 25), 19)])
def test_cnn_sizes_itself_from_the_input(shape, classes):
    model = TargetCNN(shape, classes, CNNConfig(width=4, hidden=16))
    x = torch.rand(5, *shape)
    assert model(x).shape == (5, classes) and model.embed(x).shape == (5, 16)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 4 and len(linears) == 3


def test_width_controls_the_parameter_count():
    small = count_parameters(TargetCNN((3, 32, 32), 10, CNNConfig(width=8)))
    large = count_parameters(TargetCNN((3, 32, 32), 10, CNNConfig(width=32)))
    assert large > 4 * small


def test_fit_memorises_a_small_training_set_and_calls_hooks():
    torch.manual_seed(0)
    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 4, (32,))
    model = TargetCNN((1, 8, 8), 4, CNNConfig(width=8, hidden=32))

    class Counter(TrainHook):
        epochs, n_batches = 0, 0

        def transform(self, xb, yb, generator):
            Counter.n_batches += 1
            return xb, yb

        def after_epoch(self, epoch, model):
            Counter.epochs += 1

    log = fit(model, x, y, TrainConfig(epochs=150, lr=3e-3, batch_size=8), seed=0, hooks=[Counter()])
    assert Counter.epochs == 150 and Counter.n_batches == 150 * 4
    assert log.loss[-1] < log.loss[0] and accuracy(model, x, y) == 1.0
    assert predict_logits(model, x, batch_size=5).shape == (32, 4)


def test_min_steps_adds_epochs_on_small_sets_only():
    config = TrainConfig(epochs=10, batch_size=100, min_steps=200)
    assert epochs_for(config, 100) == 200 and epochs_for(config, 1000) == 20 and epochs_for(config, 50_000) == 10


def test_fit_rejects_mismatched_inputs():
    model = TargetCNN((1, 8, 8), 4, CNNConfig(width=4, hidden=8))
    with pytest.raises(ValueError, match="as many labels"):
        fit(model, torch.rand(3, 1, 8, 8), torch.zeros(2, dtype=torch.long), TrainConfig(epochs=1), seed=0)


def tiny_target(seed=0) -> TargetConfig:
    return TargetConfig(split=SplitConfig("digits", 0.1, seed), model_index=3, arch=CNNConfig(width=8, hidden=32),
                        train=TrainConfig(epochs=3), seed=seed)


def test_same_config_gives_the_same_numbers(tmp_path):
    a = train_target(tiny_target(), Store(tmp_path / "a"))
    b = train_target(tiny_target(), Store(tmp_path / "b"))
    for name, tensor in a.model.state_dict().items():
        assert torch.equal(tensor, b.model.state_dict()[name]), name
    assert a.metrics == pytest.approx(b.metrics)
    c = train_target(tiny_target(seed=1), Store(tmp_path / "c"))
    assert not torch.equal(a.model.head.weight, c.model.head.weight)


def test_target_is_cached_and_records_its_split(tmp_path):
    store = Store(tmp_path)
    first = train_target(tiny_target(), store)
    payload = store.load("target", tiny_target())
    assert (payload["split_train_3"] == first.members).all()
    second = train_target(tiny_target(), store)
    assert torch.equal(first.model.head.weight, second.model.head.weight)
    with pytest.raises(ValueError, match="model_index"):
        train_target(TargetConfig(model_index=6), store)


def test_a_weight_loss_counts_like_the_same_term_as_an_extra_loss_and_hooks_are_checked():
    from leakage.train import check_hooks

    x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 4, (32,))

    class AsExtra(TrainHook):
        def extra_loss(self, model, logits, y):
            return 0.1 * sum(p.pow(2).sum() for p in model.parameters())

    class AsWeight(TrainHook):
        def weight_loss(self, model):
            return 0.1 * sum(p.pow(2).sum() for p in model.parameters())

    models = []
    for hook in (AsExtra(), AsWeight(), TrainHook()):
        torch.manual_seed(0)
        model = TargetCNN((1, 8, 8), 4, CNNConfig(width=4, hidden=8))
        log = fit(model, x, y, TrainConfig(epochs=3, batch_size=8), seed=0, hooks=[hook])
        models.append((model, log))
    (extra, log_extra), (weight, log_weight), (plain, _) = models
    for a, b in zip(extra.parameters(), weight.parameters()):
        torch.testing.assert_close(a, b)
    assert log_extra.loss == pytest.approx(log_weight.loss)
    assert not torch.equal(extra.head.weight, plain.head.weight)
    check_hooks([AsExtra(), AsWeight(), TrainHook()])  # without a privatising hook, anything composes
    bad = torch.rand(4, 1, 8, 8)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x: 1 value"):
        fit(extra, bad, y[:4], TrainConfig(epochs=1), seed=0)
