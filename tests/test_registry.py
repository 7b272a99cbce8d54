"""The one registry of every attack (leakage.registry): each attack once, unique names and aliases (a collision
refused), lookups for every modality, unknown names listing the known ones, one config shape, and the one score
convention (higher = member) through the registry for one attack per modality on cheap toys."""

import dataclasses

import numpy as np
import pytest
import torch
from conftest import Brightness, brightness_images

import leakage.attacks as vision
import leakage.lm.attacks as lm
from leakage import registry
from leakage.attacks import AttackContext, LabelOnlyOracle
from leakage.lm.scoring import Scorer
from leakage.lm.toys import TABLE, Bigram, CharTokenizer, hand_loss
from leakage.registry import MODALITIES, Registry, attack_names, get_attack, make_attack
from leakage.store import Store
from leakage.vp.features import RawOutputs
from leakage.vp.nmid import NMIDConfig

pytestmark = pytest.mark.usefixtures("one_thread")

EXPECTED = {
    "vision": {"augmentation", "baseline", "boundary", "lira", "noise", "rmia", "score_based", "transfer"},
    "text": {"loss", "reference", "zlib", "neighbourhood", "min-k", "min-k++"},
    "code": {"shadow"},
}


def test_every_attack_is_registered_once_under_unique_names():
    specs = registry.REGISTRY.specs()
    assert {m: {s.name for s in specs if s.modality == m} for m in MODALITIES} == EXPECTED
    assert len({s.cls for s in specs}) == len(specs)  # no class registered twice
    names = attack_names(aliases=True)
    assert len(names) == len(set(names)) == len(specs) + sum(len(s.aliases) for s in specs)
    assert {a for s in specs for a in s.aliases} == {"hopskipjump", "hsj", "qeba", "shadow-mlp", "shadow-gbdt"}
    for spec in specs:
        assert spec.cls.name == spec.name and spec.config is spec.cls.Config
        assert dataclasses.is_dataclass(spec.config) and spec.config.__dataclass_params__.frozen, spec.name
    # the modalities' own entry points are views of the one registry
    assert dict(vision.ATTACKS) == {n: get_attack(n).cls for n in EXPECTED["vision"]}
    assert dict(lm.ATTACKS) == {n: get_attack(n).cls for n in EXPECTED["text"]}


def test_a_name_or_alias_taken_anywhere_is_refused_and_nothing_is_registered():
    before = attack_names(aliases=True)

    def toy(config=dataclasses.dataclass(frozen=True)(type("Config", (), {}))):
        return type("Toy", (), {"Config": config})

    for name, modality, aliases in [("toy", "text", ["hsj"]),  # an alias of a vision attack (aliases checked)
                                    ("toy", "code", {"loss": {}}),  # the name of a text attack
                                    ("loss", "vision", ()),  # a name taken in another modality
                                    ("toy", "text", ["toy"])]:  # its own name as an alias
        with pytest.raises(ValueError, match="registered twice|its own name"):
            registry.register(name, modality=modality, aliases=aliases)(toy())
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        registry.register("toy", modality="audio")
    with pytest.raises(ValueError, match="must be a frozen dataclass"):
        registry.register("toy", modality="text")(toy(dataclasses.dataclass(type("Config", (), {}))))
    with pytest.raises(ValueError, match="fixes \\['k'\\]"):
        registry.register("toy", modality="text", aliases={"toy-k": {"k": 1}})(toy())
    assert attack_names(aliases=True) == before

    own = Registry()  # a registry of its own: the success path, then the collision of its aliases
    own.register("a", modality="text", aliases={"b": {}})(toy())
    assert own.attack_names("text", aliases=True) == ("a", "b") and own.get_attack("b").name == "a"
    with pytest.raises(ValueError, match="attack 'b' registered twice: it is already a name of the text attack 'a'"):
        own.register("c", modality="vision", aliases=["b"])(toy())


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_name_and_alias_resolves_in_its_modality_and_builds_with_its_config(modality):
    assert set(attack_names(modality)) == EXPECTED[modality]
    for name in attack_names(modality, aliases=True):
        spec = get_attack(name, modality)
        assert spec is get_attack(name) and spec.modality == modality
        attack = make_attack(name, modality=modality)
        assert isinstance(attack, spec.cls) and isinstance(attack.config, spec.config)
        assert all(getattr(attack.config, k) == v for k, v in spec.settings(name).items())
        with pytest.raises(ValueError, match="takes a"):
            make_attack(name, object(), modality)
    assert make_attack("qeba").config.method == "qeba" and make_attack("shadow-gbdt").config.classifier == "gbdt"
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        attack_names("audio")


@pytest.mark.parametrize("modality", MODALITIES)
def test_an_unknown_name_lists_the_known_ones(modality):
    with pytest.raises(ValueError, match=f"unknown attack 'nope'; known: .*\\({modality} attacks\\)") as err:
        get_attack("nope", modality)
    assert all(name in str(err.value) for name in attack_names(modality, aliases=True))
    other = next(n for n in attack_names() if get_attack(n).modality != modality)
    with pytest.raises(ValueError, match=f"'{other}' is a {get_attack(other).modality} attack"):
        get_attack(other, modality)
    with pytest.raises(ValueError, match="known: vision: .*; text: .*; code: shadow"):
        get_attack("nope")


def test_lm_attacks_keep_their_parameters_through_their_config():
    assert lm.make_attack("min-k", k=0.5).config == lm.MinKAttack.Config(k=0.5)
    assert [lm.make_attack(n, **p).label for n, p in lm.standard_specs(["base"], True, 0.2)] == [
        "loss", "reference (base)", "zlib", "neighbourhood", "min-k (20%)", "min-k++ (20%)"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lm.make_attack("reference").config.reference = "other"


def test_one_attack_per_modality_scores_members_higher_through_the_registry():
    # vision: the baseline attack on the Brightness toy; members are the candidates it labels right
    x = brightness_images(torch.tensor([0.2, 0.5, 0.8] * 2), seed=0)
    member = np.r_[np.ones(3, bool), np.zeros(3, bool)]
    y = torch.tensor([0, 1, 2, 1, 2, 0])
    context = AttackContext(oracle=LabelOnlyOracle(Brightness(), num_owners=6), candidates=x, candidate_labels=y,
                            shadow_x=x[:0], shadow_y=y[:0], num_classes=3, seed=0,
                            store=Store("/nonexistent-never-written"), target_key="brightness", data_key="none")
    scores = make_attack("baseline", modality="vision").run(context).scores
    assert scores[member].min() > scores[~member].max()

    # text: LOSS on the bigram toy; the text following its likeliest transitions stands in for a member
    likely, unlikely = "acda", "dadb"
    assert hand_loss(TABLE, likely) < hand_loss(TABLE, unlikely)
    stats = Scorer(Bigram(TABLE), CharTokenizer(), name="t", max_tokens=12).stats([likely, unlikely])
    scores = make_attack("loss", modality="text")(lm.AttackInputs(stats))
    assert scores[0] > scores[1]

    # code: the shadow attack on outputs where members are the confident ones
    rng = np.random.default_rng(0)

    def outputs(name: str) -> RawOutputs:
        labels = rng.integers(0, 2, 60)
        logits = rng.normal(size=(60, 2)) + 3.0 * member.repeat(10)[:, None] * np.eye(2)[labels]
        return RawOutputs(None, logits, labels, member.repeat(10), name=name)

    attack = make_attack("shadow-gbdt", registry.get_attack("shadow").config(classifier="gbdt", max_iter=20))
    scores = attack(outputs("target"), outputs("shadow"), NMIDConfig(), ("loss",)).scores["loss"]
    assert scores[member.repeat(10)].mean() > scores[~member.repeat(10)].mean() + 0.3
