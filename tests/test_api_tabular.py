"""leakage.api.attack_classifier on inputs that are not images (issue #27, item 14): a tabular model on feature
vectors (n, F), shadow models from a factory, image-only attacks refused, box attacks through input_range."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from torch import nn

from leakage.api import attack_classifier
from leakage.attacks import AttackContext, LabelOnlyOracle, image_only, make_attack, searches_unit_box
from leakage.attacks.boundary import BoundaryAttack
from leakage.attacks.lira import LiraAttack
from leakage.attacks.noise import NoiseAttack
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig, default_shadow_model
from leakage.attacks.transfer import TransferAttack
from leakage.models.cnn import CNNConfig, TargetCNN
from leakage.models.mlp import MLP, MLPConfig
from leakage.store import Store
from leakage.train import TrainConfig, fit

pytestmark = pytest.mark.usefixtures("one_thread")

FEATURES, CLASSES = 10, 3
SHADOW = ShadowConfig(arch=CNNConfig(hidden=64), train=TrainConfig(epochs=60, batch_size=32))
HSJ = BoundaryAttack.Config(budget=300, init_size=20, checkpoints=(0, 300))


def user_model() -> nn.Module:
    """A tabular classifier as a user would write it (not one of the package's models)."""
    return nn.Sequential(nn.Linear(FEATURES, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, CLASSES))


@pytest.fixture(scope="module")
def tabular():
    """(model, members, non_members, attacker_data): an MLP that memorised 60 standardised feature vectors (10 % of
    their labels flipped), 60 unseen ones, and 400 more from the same distribution for the attacker."""
    x, y = make_classification(n_samples=520, n_features=FEATURES, n_informative=6, n_redundant=0, n_classes=CLASSES,
                               flip_y=0.1, class_sep=0.8, random_state=0)
    x = torch.from_numpy(StandardScaler().fit_transform(x).astype(np.float32))
    y = torch.from_numpy(y).long()
    torch.manual_seed(0)
    model = user_model()
    fit(model, x[:60], y[:60], TrainConfig(epochs=400, batch_size=30), seed=0)
    model.eval()
    assert (model(x[:60]).argmax(1) == y[:60]).float().mean() == 1.0  # memorised
    return model, (x[:60], y[:60]), (x[60:120], y[60:120]), (x[120:], y[120:])


# ------------------------------------------------------------------ every attack that applies to vectors


@pytest.mark.parametrize("name,config", [
    ("baseline", None),
    ("transfer", TransferAttack.Config(shadow=SHADOW)),
    ("score_based", ScoreBasedAttack.Config(shadow=SHADOW)),
    ("hopskipjump", HSJ),
    ("lira", LiraAttack.Config(n_models=4, shadow=ShadowConfig(arch=CNNConfig(hidden=128), size=60,
                                                              train=TrainConfig(epochs=100, batch_size=60)))),
])
def test_attacks_on_an_overfit_tabular_model_find_its_members(tabular, name, config):
    model, members, non_members, attacker = tabular
    result = attack_classifier(model, members, non_members, name, config, attacker_data=attacker, n_boot=10)
    assert result.scores.shape == (120,) and np.isfinite(result.scores).all()
    assert result.metrics["auc"] > 0.6, f"{name}: AUC {result.metrics['auc']:.3f} on a model that memorised"
    if name == "baseline":  # every member right; the non-members the model gets wrong score 0
        wrong = (model(non_members[0]).argmax(1) != non_members[1]).float().mean().item()
        assert result.metrics["auc"] == pytest.approx(0.5 + wrong / 2)


def test_the_noise_attack_runs_on_vectors_in_the_unit_box(tabular):
    model, members, non_members, _ = tabular
    result = attack_classifier(model, members, non_members, "noise", NoiseAttack.Config(n_queries=20, sigma=0.05),
                               n_boot=10)
    assert ((result.scores >= 0) & (result.scores <= 1)).all() and result.metrics["auc"] > 0.5


def test_hopskipjump_on_vectors_measures_distances_in_units_of_the_input_range():
    """A linear two-class model: the distance of x to its boundary is |w.x + b| / |w|; HopSkipJump through the
    input_range map finds it, divided by (high - low)."""
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, -2.0]]))
        model.bias.zero_()
    x = torch.rand(12, 2) * 4 - 2
    y = model(x).argmax(1)  # every candidate correctly labelled
    margin = (x @ torch.tensor([1.0, 2.0])).abs() / 5 ** 0.5  # distance to the line x1 + 2 x2 = 0
    config = BoundaryAttack.Config(budget=2000, checkpoints=(0, 2000))
    result = attack_classifier(model, (x[:6], y[:6]), (x[6:], y[6:]), "hopskipjump", config, input_range=(-4, 4),
                               n_boot=10)
    np.testing.assert_allclose(result.scores * 8, margin.numpy(), rtol=0.05)
    assert result.config.input_range == (-4.0, 4.0)
    default = attack_classifier(model, (x[:6], y[:6]), (x[6:], y[6:]), "hopskipjump", config, n_boot=10)
    low, high = float(x.min()), float(x.max())
    assert default.config.input_range == (low, high)
    assert default.extras["flipped"].all()


# ------------------------------------------------------------------ image-only attacks say so


@pytest.mark.parametrize("name,config,match", [
    ("augmentation", None, "it queries flips and pixel translations"),
    ("qeba", None, "QEBA draws its probe directions from a low-frequency subspace of the image plane"),
    ("lira", LiraAttack.Config(n_models=3, augment=True), "augment=True also queries each candidate's horizontal flip"),
])
def test_image_only_attacks_refuse_vectors_clearly(tabular, name, config, match):
    model, members, non_members, attacker = tabular
    with pytest.raises(ValueError, match=rf"attack '{name}' only scores images \(n, C, H, W\) in \[0, 1\], but "
                                         rf"members inputs have shape \(60, 10\): {match}"):
        attack_classifier(model, members, non_members, name, config, attacker_data=attacker, n_boot=10)


def test_the_registry_says_which_attacks_need_images_or_the_unit_box():
    assert image_only(make_attack("augmentation")) and image_only(make_attack("qeba"))
    assert image_only(make_attack("lira", LiraAttack.Config(augment=True)))
    for name in ("baseline", "transfer", "score_based", "hopskipjump", "noise", "lira", "rmia"):
        assert image_only(make_attack(name)) is None, name
    assert {n for n in ("baseline", "boundary", "hopskipjump", "noise", "transfer", "augmentation")
            if searches_unit_box(make_attack(n))} == {"boundary", "hopskipjump", "noise"}


def test_an_attack_core_refuses_an_image_only_attack_on_a_context_of_vectors(tabular, tmp_path):
    from leakage.api.vision import AttackerView, attack_candidates

    model, (x, y), _, _ = tabular
    view = AttackerView(candidates=x, candidate_labels=y, shadow_x=x[:0], shadow_y=y[:0], num_classes=CLASSES,
                        target_key="t", data_key="d", label_key="t", images=False)
    for name in ("augmentation", "hopskipjump"):
        with pytest.raises(ValueError, match=f"attack '{name.replace('hopskipjump', 'boundary')}' needs images"):
            attack_candidates(make_attack(name), model, lambda: view, is_member=np.ones(len(x), bool), indices=None,
                              seed=0, store=None, key=None, kind="k", label=name)


# ------------------------------------------------------------------ shadow models from a factory


def test_a_custom_shadow_factory_builds_every_shadow_and_keys_the_cache(tabular, tmp_path):
    model, members, non_members, attacker = tabular
    calls = []

    def factory(input_shape, num_classes):
        calls.append((input_shape, num_classes))
        return nn.Sequential(nn.Linear(input_shape[0], 32), nn.Tanh(), nn.Linear(32, num_classes))

    store = Store(tmp_path)
    config = TransferAttack.Config(shadow=SHADOW)
    default = attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker, store=store,
                                n_boot=10)
    custom = attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker, store=store,
                               shadow_model=factory, n_boot=10)
    # once to check and key it, then the shadow trained (and loaded) from it: not the default's cached shadow
    assert len(calls) >= 3 and set(calls) == {((FEATURES,), CLASSES)}
    assert custom.config.shadow_model and not default.config.shadow_model
    assert not np.array_equal(custom.extras["shadow_loss"], default.extras["shadow_loss"])
    # a factory is keyed by what it builds: another activation is another shadow
    again = attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker, store=store,
                              shadow_model=lambda s, k: nn.Sequential(nn.Linear(s[0], 32), nn.ReLU(),
                                                                     nn.Linear(32, k)), n_boot=10)
    assert again.config.shadow_model != custom.config.shadow_model
    # and the same factory again is a cache hit
    before = len(calls)
    attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker, store=store,
                      shadow_model=factory, n_boot=10)
    assert len(calls) == before + 1  # the up-front check only


def test_the_default_shadow_is_a_cnn_for_images_and_an_mlp_for_vectors():
    assert isinstance(default_shadow_model((1, 8, 8), 10), TargetCNN)
    mlp = default_shadow_model((7,), 4, CNNConfig(hidden=16))
    assert isinstance(mlp, MLP) and mlp(torch.zeros(2, 7)).shape == (2, 4)
    assert [m.out_features for m in mlp.modules() if isinstance(m, nn.Linear)] == [16, 16, 4]
    with pytest.raises(ValueError, match=r"no default shadow model for inputs of shape \(2, 5\).*shadow_model="):
        default_shadow_model((2, 5), 3)
    with pytest.raises(ValueError, match="hidden >= 1"):
        MLPConfig(hidden=0)


def test_other_input_shapes_need_a_shadow_factory_and_work_with_one():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 3))
    x, y = torch.randn(40, 2, 5), torch.randint(0, 3, (40,))
    members, non_members, attacker = (x[:10], y[:10]), (x[10:20], y[10:20]), (x[20:], y[20:])
    config = TransferAttack.Config(shadow=dataclasses.replace(SHADOW, train=TrainConfig(epochs=2)))
    with pytest.raises(ValueError, match=r"attack 'transfer' trains shadow models, and inputs of shape \(10, 2, 5\) "
                                         r"have no default.*pass shadow_model=factory"):
        attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker)
    result = attack_classifier(model, members, non_members, "transfer", config, attacker_data=attacker, n_boot=10,
                               shadow_model=lambda shape, k: nn.Sequential(nn.Flatten(), nn.Linear(10, k)))
    assert result.scores.shape == (20,)
    assert attack_classifier(model, members, non_members, n_boot=10).scores.shape == (20,)  # baseline: no shadow


def test_a_bad_shadow_factory_is_a_clear_error(tabular):
    model, members, non_members, attacker = tabular

    def attack(factory):
        return attack_classifier(model, members, non_members, "score_based", ScoreBasedAttack.Config(shadow=SHADOW),
                                 attacker_data=attacker, shadow_model=factory, n_boot=10)

    with pytest.raises(ValueError, match="shadow_model must be a callable factory"):
        attack("mlp")
    with pytest.raises(ValueError, match=r"shadow_model\(\(10,\), 3\) must return an untrained torch.nn.Module.*"
                                         r"got str"):
        attack(lambda shape, k: "mlp")
    with pytest.raises(ValueError, match=r"shadow_model\(\(10,\), 3\) built a module that returns \(4, 2\)"):
        attack(lambda shape, k: nn.Linear(shape[0], 2))
    with pytest.raises(ValueError, match=r"shadow_model\(\(10,\), 3\) built a Linear that rejects 4 inputs"):
        attack(lambda shape, k: nn.Linear(5, k))


# ------------------------------------------------------------------ inputs of any range, checked


def test_vectors_take_any_finite_range_and_are_checked(tabular):
    model, (x, y), (u, v), attacker = tabular
    big = attack_classifier(model, (x * 100, y), (u * 100, v), n_boot=10)  # far outside [0, 1]: fine
    assert big.scores.shape == (120,)
    bad = x.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match=r"members inputs: 1 value\(s\) are NaN or infinite"):
        attack_classifier(model, (bad, y), (u, v))
    with pytest.raises(ValueError, match=r"members inputs must be a float tensor or array.*int64.*\.float\(\)"):
        attack_classifier(model, (x.long(), y), (u, v))
    with pytest.raises(ValueError, match=r"non_members inputs must have one row per example.*x\[:, None\]"):
        attack_classifier(model, (x, y), (u[:, 0], v))
    with pytest.raises(ValueError, match=r"non_members inputs are \(9,\) but members inputs are \(10,\)"):
        attack_classifier(model, (x, y), (u[:, :9], v))
    with pytest.raises(ValueError, match=r"members inputs must be a float tensor or array.*list"):
        attack_classifier(model, (x.tolist(), y), (u, v))
    with pytest.raises(ValueError, match=r"members inputs must be a float tensor or array.*<U"):
        attack_classifier(model, (np.array([["a"] * 10] * 60), y), (u, v))
    with pytest.raises(ValueError, match=r"the model rejected one members input of shape \(1, 10\) "
                                         r"\(torch.float64\).*Expected: inputs"):
        attack_classifier(model, (x.double(), y), (u.double(), v))


def test_input_range_is_checked(tabular):
    model, members, non_members, _ = tabular
    low, high = float(members[0].min()), float(members[0].max())

    def attack(input_range):
        return attack_classifier(model, members, non_members, "hopskipjump", HSJ, input_range=input_range)

    with pytest.raises(ValueError, match=r"input_range=\(0, 1\) must contain every input, but the inputs lie in"):
        attack((0, 1))
    with pytest.raises(ValueError, match="input_range must be \\(low, high\\) finite with low < high"):
        attack((high + 5, low - 5))
    with pytest.raises(ValueError, match="input_range must be a pair"):
        attack(3.0)
    with pytest.raises(ValueError, match="every input value is 0: a box around the inputs needs input_range"), \
            pytest.warns(UserWarning, match="also occur in"):
        attack_classifier(model, (members[0] * 0, members[1]), (non_members[0] * 0, non_members[1]), "noise",
                          allow_overlap=True)


def test_input_range_is_refused_for_images(overfit_target):
    x, y = overfit_target.data.images(torch.arange(8)), overfit_target.data.y[:8]
    with pytest.raises(ValueError, match=r"input_range=\(-1, 1\), but images \(n, C, H, W\) lie in \[0, 1\]"):
        attack_classifier(overfit_target.model, (x[:4], y[:4]), (x[4:], y[4:]), "hopskipjump", HSJ,
                          input_range=(-1, 1))


def test_a_context_of_vectors_is_checked_like_one_of_images(tabular, tmp_path):
    model, (x, y), _, (s, t) = tabular
    fields = dict(oracle=LabelOnlyOracle(model), candidates=x * 50, candidate_labels=y, shadow_x=s, shadow_y=t,
                  num_classes=CLASSES, seed=0, store=Store(tmp_path), target_key="t", data_key="d", images=False)
    AttackContext(**fields)  # any finite range
    with pytest.raises(ValueError, match=r"candidates must have 4 dimensions"):
        AttackContext(**{**fields, "images": True})
    with pytest.raises(ValueError, match="shadow_x must have the candidates' input shape"):
        AttackContext(**{**fields, "shadow_x": s[:, :5]})
    with pytest.raises(ValueError, match=r"candidate_labels must have shape \(60,\)"):
        AttackContext(**{**fields, "candidate_labels": y[:, None]})
    with pytest.raises(ValueError, match=r"shadow_y must lie in \[0, 3\)"):
        AttackContext(**{**fields, "shadow_y": t + 3})
    bad = s.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="shadow_x: 1 value"):
        AttackContext(**{**fields, "shadow_x": bad})
