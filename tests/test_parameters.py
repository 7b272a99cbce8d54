"""The parameter layer: defaults, profile changes and --set values resolved once, with every type checked."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from typing import ClassVar

import pytest

from leakage.parameters import ChapterParameters, ParameterError, parameter_field, reused_field
from leakage.profiles import UnknownProfileError


@dataclass(frozen=True)
class Base(ChapterParameters):
    """Shared fields."""

    PROFILE_CHANGES: ClassVar = {"default": {"epochs": 50}, "paper": {"epochs": 200, "width": 64}}
    epochs: int = parameter_field(30, "training epochs")
    width: int = parameter_field(16, "channels")


@dataclass(frozen=True)
class Reused(Base):
    """A chapter whose runs another reuses."""

    CHAPTER: ClassVar[str] = "reused"
    PROFILE_CHANGES: ClassVar = {"default": {"shadow_size": 5000}}
    shadow_size: int = parameter_field(500, "D_shadow size")


@dataclass(frozen=True)
class Chapter(Base):
    """A chapter."""

    CHAPTER: ClassVar[str] = "toy"
    PROFILE_CHANGES: ClassVar = {"default": {"datasets": ["fashion-mnist"], "pairs": [["cifar10", 1]]}}
    datasets: list[str] = parameter_field(["digits"], "data sets")
    scale: float = parameter_field(0.1, "size multiplier")
    pairs: list[tuple[str, float]] = parameter_field([["digits", 0.5]], "(data set, scale) pairs")
    epochs_by: dict[str, int] = parameter_field({"lstm": 10}, "epochs per architecture")
    path: str | None = parameter_field(None, "a file")
    use_dp: bool = parameter_field(False, "train with DP-SGD")
    transfer: Reused = reused_field(Reused, "the reused chapter's parameters")


def test_defaults_are_the_smoke_profile_and_profiles_change_them_over_their_bases():
    smoke = Chapter.resolve()
    assert smoke == Chapter() and smoke.profile == "smoke" and smoke.epochs == 30
    default = Chapter.resolve("default")
    assert default.epochs == 50 and default.datasets == ["fashion-mnist"] and default.pairs == [("cifar10", 1.0)]
    assert isinstance(default.pairs[0][1], float)
    paper = Chapter.resolve("paper")
    assert (paper.epochs, paper.width, paper.datasets) == (200, 64, ["digits"])
    assert default.transfer == Reused.resolve("default") and default.transfer.shadow_size == 5000


def test_set_values_apply_to_the_chapter_and_the_chapters_it_reuses():
    params = Chapter.resolve("default", {"epochs": 3, "shadow_size": 70, "unrelated": 1})
    assert params.epochs == params.transfer.epochs == 3 and params.transfer.shadow_size == 70
    scaled = Chapter.resolve("smoke", {"scale": 1}).scale
    assert scaled == 1.0 and isinstance(scaled, float)
    assert Chapter.resolve("smoke", {"path": "/data/x.json"}).path == "/data/x.json"


@pytest.mark.parametrize("name, value, expected", [
    ("epochs", 5.0, "'epochs' of chapter toy expects int, got float 5.0"),
    ("epochs", True, "expects int, got bool True"),
    ("epochs", "5", "expects int, got str '5'"),
    ("datasets", "digits", "expects list[str], got str 'digits'"),
    ("epochs_by", {"lstm": "x"}, "expects dict[str, int]"),
    ("use_dp", 1, "expects bool, got int 1"),
    ("path", 3, "expects str | None"),
    ("pairs", [["digits"]], "expects list[tuple[str, float]]"),
    ("scale", {1, 2}, "expects float, got set"),
])
def test_a_value_of_the_wrong_type_names_the_parameter_the_type_and_an_example(name, value, expected):
    with pytest.raises(ParameterError) as err:
        Chapter.resolve("smoke", {name: value})
    assert str(err.value).startswith(f"--set {name}=") and expected in str(err.value)
    assert "for example: --set" in str(err.value)


def test_profiles_and_profile_overrides_are_checked():
    with pytest.raises(UnknownProfileError):
        Chapter.resolve("fast")
    with pytest.raises(ParameterError, match="chosen with --profile"):
        Chapter.resolve("smoke", {"profile": "paper"})

    @dataclass(frozen=True)
    class Broken(Base):
        CHAPTER: ClassVar[str] = "broken"
        PROFILE_CHANGES: ClassVar = {"default": {"nope": 1}, "paper": {"width": "wide"}}

    with pytest.raises(ParameterError, match="profile default changes nope, which chapter broken does not declare"):
        Broken.resolve("default")
    with pytest.raises(ParameterError, match="profile paper's width='wide': parameter 'width' of chapter broken"):
        Broken.resolve("paper")


def test_values_docs_and_checked_changes():
    params = Chapter.resolve()
    assert list(params.values())[:3] == ["profile", "epochs", "width"] and "transfer" not in params.values()
    assert Chapter.docs()["use_dp"] == "train with DP-SGD" and "transfer" not in Chapter.declared()
    assert params.changed(epochs=4).epochs == 4 and params.epochs == 30
    with pytest.raises(ParameterError, match="expects int"):
        params.changed(epochs="4")
    with pytest.raises(ParameterError, match="has no parameter nope"):
        params.changed(nope=1)
    with pytest.raises(FrozenInstanceError):
        params.epochs = 3  # type: ignore[misc]
    assert Chapter().datasets is not Chapter().datasets  # a list default is the instance's own


def test_a_parameter_may_not_hide_a_method():
    with pytest.raises(TypeError, match="may not be named values"):
        @dataclass(frozen=True)
        class Hiding(ChapterParameters):
            values: int = parameter_field(1, "hides ChapterParameters.values")
