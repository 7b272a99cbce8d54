"""leakage.api.attack_classifier: the book's vision attacks on a model handed in (issue #15), and run_attack keyed
by the model's weights."""

import dataclasses
import math
import tempfile

import numpy as np
import pytest
import torch

from conftest import TOY_ARCH
from leakage.api import EXTRAS, MembershipResult, attack_classifier
from leakage.attacks import ATTACKS, get_attack, make_attack
from leakage.attacks.augmentation import AugmentationAttack
from leakage.attacks.boundary import DEFAULT_CHECKPOINTS, BoundaryAttack
from leakage.attacks.lira import LiraAttack
from leakage.attacks.noise import NoiseAttack
from leakage.attacks.rmia import RmiaAttack
from leakage.attacks.score_based import ScoreBasedAttack
from leakage.attacks.shadow import ShadowConfig
from leakage.attacks.transfer import TransferAttack
from leakage.config import config_hash
from leakage.experiments.label_only import AttackRun, CandidateConfig, run_attack
from leakage.experiments.targets import build_model
from leakage.models.cnn import TargetCNN
from leakage.store import Store
from leakage.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")

SHADOW = ShadowConfig(arch=TOY_ARCH, train=TrainConfig(epochs=5), size=200)
BOUNDARY = BoundaryAttack.Config(budget=200, init_size=20, checkpoints=(0, 1, 50, 200))
#: a small config of every registered attack (and alias): a new attack must be added here to be tested
SMALL = {"baseline": None, "transfer": TransferAttack.Config(shadow=SHADOW),
         "score_based": ScoreBasedAttack.Config(shadow=SHADOW), "boundary": BOUNDARY,
         "hopskipjump": BOUNDARY, "qeba": dataclasses.replace(BOUNDARY, method="qeba", subspace_ratio=2),
         "augmentation": AugmentationAttack.Config(), "noise": NoiseAttack.Config(n_queries=20, sigma=0.1),
         "lira": LiraAttack.Config(n_models=3, shadow=SHADOW),
         "rmia": RmiaAttack.Config(n_models=2, n_population=50, shadow=dataclasses.replace(SHADOW, size=100))}


def handed_in(target, per_side: int = 0):
    """(members, non_members, attacker_data) of the book's target, as a user would hand them in."""
    from leakage.experiments.label_only import candidates_of

    indices, member = candidates_of(target, CandidateConfig(max_per_side=per_side))
    x, y = target.data.images(torch.as_tensor(indices)), target.data.y[torch.as_tensor(indices)]
    member = torch.as_tensor(member)
    shadow = torch.as_tensor(target.splits.shadow)
    return (x[member], y[member]), (x[~member], y[~member]), (target.data.images(shadow), target.data.y[shadow])


def untrained(target) -> TargetCNN:
    return build_model(target.data, TOY_ARCH, seed=123).eval()


# ------------------------------------------------------------------ one code path: the book's scores


@pytest.mark.parametrize("name,config,per_side", [
    ("baseline", None, 0),
    ("transfer", TransferAttack.Config(shadow=SHADOW), 0),
    ("boundary", BOUNDARY, 10),
])
def test_same_scores_as_the_books_pipeline(overfit_target, toy_store, name, config, per_side):
    book = run_attack(overfit_target, name, config, CandidateConfig(max_per_side=per_side), toy_store, n_boot=10)
    members, non_members, shadow = handed_in(overfit_target, per_side)
    api = attack_classifier(overfit_target.model, members, non_members, name, config, attacker_data=shadow,
                            seed=overfit_target.config.seed, n_boot=10)
    assert isinstance(book, MembershipResult) and isinstance(api, MembershipResult)
    np.testing.assert_array_equal(api.scores, book.scores)
    np.testing.assert_array_equal(api.is_member, book.is_member)
    assert api.indices.tolist() == list(range(len(book.scores)))  # positions, the book's are data-set indices
    assert sorted(api.extras) == sorted(book.extras)
    for key in api.extras:
        np.testing.assert_array_equal(api.extras[key], book.extras[key])
    assert api.cost["queries_per_candidate"] == book.cost["queries_per_candidate"]
    assert book.run is book.config and isinstance(book.run, AttackRun) and book.seed == overfit_target.config.seed


# ------------------------------------------------------------------ every attack, every extra documented


def test_every_registered_attack_and_alias_is_tested():
    get_attack("baseline")  # loads the registry
    assert set(ATTACKS) <= set(SMALL) and {"hopskipjump", "qeba"} <= set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_attack_runs_on_a_model_handed_in_and_documents_its_extras(overfit_target, name):
    members, non_members, shadow = handed_in(overfit_target, 8)
    result = attack_classifier(overfit_target.model, members, non_members, name, SMALL[name],
                               attacker_data=(shadow[0][:200], shadow[1][:200]), n_boot=10)
    assert result.attack == name and result.scores.shape == (16,) and np.isfinite(result.scores).all()
    assert result.is_member.tolist() == [True] * 8 + [False] * 8
    undocumented = set(result.extras) - set(EXTRAS)
    assert not undocumented, f"{name} emits extras missing from leakage.api.EXTRAS: {undocumented}"
    for key, value in result.extras.items():
        assert len(value) == (len(result.extras["checkpoints"]) if key == "checkpoints" else 16), key
    assert 0 <= result.metrics["auc"] <= 1 and result.cost["max_queries_per_candidate"] >= 1
    if name in ("boundary", "hopskipjump", "qeba"):
        assert result.config.config.method == ("qeba" if name == "qeba" else "hopskipjump")
        assert result.cost["max_queries_per_candidate"] <= BOUNDARY.budget
        assert result.extras["checkpoints"].max() <= BOUNDARY.budget
    if name == "baseline":  # the overfit target labels its members right
        assert result.scores[:8].mean() > result.scores[8:].mean()


def test_the_boundary_attack_runs_without_attacker_data(overfit_target):
    members, non_members, _ = handed_in(overfit_target, 4)
    result = attack_classifier(overfit_target.model, members, non_members, "hopskipjump", BOUNDARY, n_boot=10)
    assert result.scores.shape == (8,) and result.extras["flipped"].dtype == bool


# ------------------------------------------------------------------ keyed by weights and content, never by name


def test_two_models_with_one_config_and_store_get_their_own_scores(overfit_target, tmp_path):
    store = Store(tmp_path)
    members, non_members, shadow = handed_in(overfit_target)
    other = untrained(overfit_target)
    for name, config in (("baseline", None), ("transfer", TransferAttack.Config(shadow=SHADOW))):
        trained = attack_classifier(overfit_target.model, members, non_members, name, config, attacker_data=shadow,
                                    store=store, n_boot=10)
        fresh = attack_classifier(other, members, non_members, name, config, attacker_data=shadow, store=store,
                                  n_boot=10)
        assert trained.config.model != fresh.config.model
        assert not np.array_equal(trained.scores, fresh.scores), name
    x = torch.cat([members[0], non_members[0]])
    y = torch.cat([members[1], non_members[1]])
    with torch.no_grad():
        expected = (other(x).argmax(1) == y).double().numpy()
    again = attack_classifier(other, members, non_members, "baseline", store=store, n_boot=10)
    np.testing.assert_array_equal(again.scores, expected)
    assert len(list((tmp_path / "shadow").iterdir())) == 2  # one relabelled shadow per labelling model


def test_data_handed_in_is_keyed_by_content(overfit_target, tmp_path):
    store = Store(tmp_path)
    members, non_members, _ = handed_in(overfit_target, 5)
    first = attack_classifier(overfit_target.model, members, non_members, store=store, n_boot=10)
    relabelled = (members[0], (members[1] + 1) % 10)  # every member now carries a wrong label
    second = attack_classifier(overfit_target.model, relabelled, non_members, store=store, n_boot=10)
    assert first.scores[:5].sum() > second.scores[:5].sum()
    np.testing.assert_array_equal(first.scores[5:], second.scores[5:])


def test_a_stored_result_is_loaded_not_recomputed(overfit_target, tmp_path):
    calls = []  # outside the model: a counter attribute would be part of its key (leakage.inputs.module_digest)

    class Counting(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            calls.append(len(x))
            return self.inner(x)

    model = Counting(overfit_target.model)
    members, non_members, _ = handed_in(overfit_target, 5)
    first = attack_classifier(model, members, non_members, store=Store(tmp_path), n_boot=10)
    before = len(calls)
    second = attack_classifier(model, members, non_members, store=Store(tmp_path), n_boot=10)
    assert calls[before:] == [1, 4]  # the input probe and the key's probe batch only
    np.testing.assert_array_equal(first.scores, second.scores)


def test_run_attack_on_a_replaced_model_gives_that_models_scores(overfit_target, toy_store):
    other = dataclasses.replace(overfit_target, model=untrained(overfit_target))
    original = run_attack(overfit_target, "baseline", None, CandidateConfig(), toy_store, n_boot=10)
    replaced = run_attack(other, "baseline", None, CandidateConfig(), toy_store, n_boot=10)
    index = torch.as_tensor(replaced.indices)
    with torch.no_grad():
        expected = (other.model(other.data.images(index)).argmax(1) == other.data.y[index]).double().numpy()
    np.testing.assert_array_equal(replaced.scores, expected)
    assert not np.array_equal(original.scores, replaced.scores)
    assert original.run.model != replaced.run.model and original.run.target == replaced.run.target
    # the transfer shadow is relabelled by the model that answers: the replaced model gets its own
    config = TransferAttack.Config(shadow=SHADOW)
    a = run_attack(overfit_target, "transfer", config, CandidateConfig(max_per_side=10), toy_store, n_boot=10)
    b = run_attack(other, "transfer", config, CandidateConfig(max_per_side=10), toy_store, n_boot=10)
    assert not np.array_equal(a.extras["shadow_loss"], b.extras["shadow_loss"])


def test_the_random_reference_is_keyed_by_the_models_weights(overfit_target, tmp_path):
    from leakage.attacks.boundary import RandomReferenceRun, random_reference

    run = RandomReferenceRun(target=overfit_target.config, attack=BoundaryAttack.Config(budget=30, checkpoints=()),
                       num_samples=4)
    shape = overfit_target.data.input_shape
    trained = random_reference(overfit_target.model, shape, run, Store(tmp_path))
    other = random_reference(untrained(overfit_target), shape, run, Store(tmp_path))
    assert not np.array_equal(trained["l2"], other["l2"])
    assert len(list((tmp_path / "boundary_reference").iterdir())) == 2


def test_a_memguard_target_shares_the_relabelled_shadow_of_its_undefended_model(overfit_target, tmp_path):
    from leakage.defenses.memguard import MemGuardConfig
    from leakage.experiments.targets import behind_memguard

    guarded = behind_memguard(overfit_target, MemGuardConfig(steps=20))
    store, config, candidates = Store(tmp_path), TransferAttack.Config(shadow=SHADOW), CandidateConfig(max_per_side=5)
    plain = run_attack(overfit_target, "transfer", config, candidates, store, n_boot=10)
    behind = run_attack(guarded, "transfer", config, candidates, store, n_boot=10)
    assert plain.run.model != behind.run.model and plain.run.target != behind.run.target  # two attack artefacts
    assert len(list((tmp_path / "attack").iterdir())) == 2
    assert len(list((tmp_path / "shadow").iterdir())) == 1  # MemGuard keeps every label: one relabelled shadow
    np.testing.assert_array_equal(plain.scores, behind.scores)


# ------------------------------------------------------------------ names and configs


def test_aliases_resolve_and_unknown_names_list_them(overfit_target, toy_store):
    assert get_attack("hopskipjump") is get_attack("hsj") is get_attack("boundary") is BoundaryAttack
    assert make_attack("qeba").config.method == "qeba" and make_attack("hopskipjump").config.method == "hopskipjump"
    with pytest.raises(ValueError, match=r"'qeba' is the 'boundary' attack with method='qeba'.*make_attack"):
        get_attack("qeba")
    with pytest.raises(ValueError, match=r"unknown attack 'qeb'; known: .*boundary \(aliases: hopskipjump, hsj, "
                                         r"qeba\)"):
        get_attack("qeb")
    with pytest.raises(ValueError, match="'hsj' means"):
        make_attack("hsj", BoundaryAttack.Config(method="qeba"))
    with pytest.raises(ValueError, match="takes a BoundaryAttack.Config"):
        make_attack("boundary", TransferAttack.Config())
    # an alias is its attack: one artefact, whichever name was used
    candidates = CandidateConfig(max_per_side=3)
    by_alias = run_attack(overfit_target, "hopskipjump", BOUNDARY, candidates, toy_store, n_boot=10)
    by_name = run_attack(overfit_target, "boundary", BOUNDARY, candidates, toy_store, n_boot=10)
    assert by_alias.run == by_name.run and by_alias.run.attack == "boundary" and by_alias.attack == "hopskipjump"
    np.testing.assert_array_equal(by_alias.scores, by_name.scores)


def test_checkpoints_beyond_the_budget_are_dropped():
    config = BoundaryAttack.Config(budget=1000)
    assert config.checkpoints == (0, 1, 10, 50, 131, 250, 500, 1000)
    assert config_hash("x", config) == config_hash("x", BoundaryAttack.Config(budget=1000,
                                                                               checkpoints=config.checkpoints))
    assert BoundaryAttack.Config(budget=200, checkpoints=(0, 100, 5000)).checkpoints == (0, 100, 200)
    assert BoundaryAttack.Config(budget=300, checkpoints=(0, 1, 50, 300)).checkpoints == (0, 1, 50, 300)
    assert BoundaryAttack.Config(budget=300, checkpoints=(0, 1, 50)).checkpoints == (0, 1, 50)  # none dropped
    assert BoundaryAttack.Config().checkpoints == DEFAULT_CHECKPOINTS


# ------------------------------------------------------------------ clear errors for what cannot be attacked


def test_bad_inputs_are_clear_errors_not_tracebacks_from_the_model(overfit_target):
    model = overfit_target.model
    (x, y), (u, v), shadow = handed_in(overfit_target, 4)

    def attack(members=(x, y), non_members=(u, v), **kwargs):
        return attack_classifier(model, members, non_members, n_boot=10, **kwargs)

    with pytest.raises(ValueError, match=r"non_members inputs are \(1, 8, 8\) but members inputs are \(8, 8\).*"
                                         r"unsqueeze\(1\)"):
        attack((x[:, 0], y))
    with pytest.raises(ValueError, match=r"the model rejected one members input of shape \(1, 8, 8\).*unsqueeze\(1\)"):
        attack((x[:, 0], y), (u[:, 0], v))
    with pytest.raises(ValueError, match=r"the model rejected one members image of shape \(1, 3, 8, 8\).*"
                                         r"RuntimeError.*Expected: images"):
        attack((x.repeat(1, 3, 1, 1), y), (u.repeat(1, 3, 1, 1), v))
    with pytest.raises(ValueError, match=r"non_members images are \(1, 4, 4\) \(C, H, W\) but members images "
                                         r"are \(1, 8, 8\)"):
        attack(non_members=(u[:, :, :4, :4], v))
    bad = x.clone()
    bad[1, 0, 2, 2] = math.nan
    with pytest.raises(ValueError, match=r"members images: 1 value\(s\) are NaN or infinite"):
        attack((bad, y))
    with pytest.raises(ValueError, match=r"non_members images must lie in \[0, 1\], got values in \[0, 255\]"):
        attack(non_members=(u * 255, v))
    with pytest.raises(ValueError, match=r"members images must be a float tensor.*uint8.*divide"):
        attack(((x * 255).to(torch.uint8), y))
    with pytest.raises(ValueError, match=r"members labels must lie in \[0, 10\) \(class indices of 10 classes\), "
                                         r"got values in \[\d+, 12\]"):
        attack((x, torch.cat([y[:-1], torch.tensor([12])])))
    with pytest.raises(ValueError, match="members labels must be integer class indices.*float32 tensor"):
        attack((x, y.float()))
    with pytest.raises(ValueError, match=r"non_members labels must have shape \(4,\)"):
        attack(non_members=(u, v[:3]))
    with pytest.raises(ValueError, match="non_members is empty"):
        attack(non_members=(u[:0], v[:0]))
    with pytest.raises(ValueError, match="num_classes=5, but the model outputs 10 logits"):
        attack(num_classes=5)
    with pytest.raises(ValueError, match="attack 'transfer' trains a shadow model.*attacker_data="):
        attack(attack="transfer")
    with pytest.raises(ValueError, match="attack 'score_based' trains a shadow model"):
        attack(attack="score_based")
    with pytest.raises(ValueError, match="attack 'lira' trains a shadow model"):
        attack(attack="lira")
    with pytest.raises(ValueError, match="unknown attack 'carlini_wagner'"):
        attack(attack="carlini_wagner")
    with pytest.raises(ValueError, match=r"attacker_data labels must lie in \[0, 10\)"):
        attack(attack="transfer", attacker_data=(shadow[0], shadow[1] + 10))
    with pytest.raises(ValueError, match=r"logits \(n, K\).*returned shape \(10,\)"):
        attack_classifier(torch.nn.Sequential(model, torch.nn.Flatten(0)), (x, y), (u, v))
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        attack_classifier(lambda images: images, (x, y), (u, v))
    with pytest.raises(ValueError, match="has no parameters"):
        attack_classifier(torch.nn.Flatten(), (x, y), (u, v))


def test_without_a_store_nothing_is_left_on_disk(overfit_target, tmp_path, monkeypatch):
    results, scratch = tmp_path / "results", tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("LEAKAGE_RESULTS", str(results))  # where the default store would be
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the shadows' temporary store goes
    members, non_members, shadow = handed_in(overfit_target, 5)
    result = attack_classifier(overfit_target.model, members, non_members, "transfer",
                               TransferAttack.Config(shadow=SHADOW), attacker_data=shadow, n_boot=10)
    assert result.cost["shadow_epochs"] > 0  # a shadow was trained (in the temporary store)
    assert not results.exists() and list(scratch.iterdir()) == []


def test_to_frame_never_takes_a_per_run_extra_for_a_column():
    from leakage.membership import MembershipResult

    result = MembershipResult("boundary", np.array([0.1, 0.2, 0.3]), np.array([True, False, True]),
                              extras={"checkpoints": np.array([0, 1, 10]), "queries": np.array([5, 6, 7])})
    frame = result.to_frame()
    assert "checkpoints" not in frame and frame["queries"].tolist() == [5, 6, 7]


# ------------------------------------------------------------------ labels of another type (issue #27, item 9)


def test_labels_of_another_type_are_clear_errors_naming_the_argument(overfit_target):
    """Every label input of attack_classifier goes through leakage.checks.check_labels before any forward pass."""
    model = overfit_target.model
    (x, y), (u, v), (s, t) = handed_in(overfit_target, 4)
    names = np.array([str(i) for i in range(10)])

    def attack(members=(x, y), non_members=(u, v), **kwargs):
        return attack_classifier(model, members, non_members, n_boot=10, **kwargs)

    cases = [
        (dict(members=(x, names[y.numpy()])), r"members labels must be integer class indices \(n,\), got strings "
                                              r"\(map class names to indices"),
        (dict(non_members=(u, v.numpy().astype(object))), "non_members labels must be integer class indices.*"
                                                          "Python objects"),
        (dict(members=(x, y.numpy().astype(np.float64))), "members labels must be integer class indices.*got floats"),
        (dict(members=(x, y[:, None])), r"members labels must have shape \(4,\), one per example, got shape \(4, 1\)"),
        (dict(non_members=(u, v.tolist()[:3])), r"non_members labels must have shape \(4,\)"),
        (dict(non_members=(u, v.numpy() + 10)), r"non_members labels must lie in \[0, 10\).*got values in"),
        (dict(members=(x, -y - 1)), r"members labels must be class indices >= 0"),
        (dict(members=(x, "3")), r"members labels must be integer class indices \(n,\), got a single str"),
        (dict(attack="transfer", attacker_data=(s, np.array(["a"] * len(t)))), "attacker_data labels must be integer "
                                                                                "class indices.*strings"),
        (dict(attack="transfer", attacker_data=(s, t.double())), "attacker_data labels must be integer class "
                                                                 "indices.*float64 tensor"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            attack(**kwargs)


def test_labels_as_lists_arrays_or_tensors_on_the_models_device_give_the_same_scores(overfit_target):
    model = overfit_target.model
    device = next(model.parameters()).device
    (x, y), (u, v), _ = handed_in(overfit_target, 6)
    reference = attack_classifier(model, (x, y), (u, v), n_boot=10).scores
    for members_labels, non_members_labels in ((y.tolist(), v.tolist()), (y.numpy().astype(np.int32), v.numpy()),
                                               (y.to(device), v.to(device)), (y.to(torch.uint8), v.to(torch.int16))):
        scores = attack_classifier(model, (x.to(device), members_labels), (u.numpy(), non_members_labels),
                                   n_boot=10).scores
        np.testing.assert_array_equal(scores, reference)


def test_inputs_that_are_not_arrays_are_clear_errors(overfit_target):
    model = overfit_target.model
    (x, y), (u, v), _ = handed_in(overfit_target, 4)
    with pytest.raises(ValueError, match=r"members inputs must be a float tensor or array \(n, \.\.\.\).*got list"):
        attack_classifier(model, (x.tolist(), y), (u, v))
    with pytest.raises(ValueError, match=r"non_members inputs must be a float tensor or array.*NumPy array of <U1"):
        attack_classifier(model, (x, y), (np.full(tuple(u.shape), "a"), v))
    with pytest.raises(ValueError, match="members must be a pair"):
        attack_classifier(model, x, (u, v))
