"""Every config dataclass documents every field; configs hash and describe themselves."""

import dataclasses

import pytest

from leakage.config import config_dict, describe, doc_field, field_docs
from leakage.data.splits import SplitConfig
from leakage.experiments.targets import TargetConfig
from leakage.models.cnn import CNNConfig
from leakage.train import TrainConfig

CONFIGS = [SplitConfig, CNNConfig, TrainConfig, TargetConfig]


@pytest.mark.parametrize("config_type", CONFIGS, ids=lambda t: t.__name__)
def test_every_field_has_a_one_line_doc(config_type):
    docs = field_docs(config_type)
    assert set(docs) == {f.name for f in dataclasses.fields(config_type)}
    assert all("\n" not in doc for doc in docs.values())


def test_a_field_without_doc_is_reported():
    @dataclasses.dataclass(frozen=True)
    class Undocumented:
        a: int = 1

    with pytest.raises(ValueError, match="Undocumented.a has no doc"):
        field_docs(Undocumented)


def test_describe_flattens_nested_configs():
    rows = describe(TargetConfig())
    assert {"split.dataset", "arch.width", "train.epochs", "seed"} <= {r["field"] for r in rows}


def test_config_dict_rejects_non_configs():
    with pytest.raises(TypeError):
        config_dict({"a": 1})
    assert config_dict(SplitConfig())["dataset"] == "digits"


def test_doc_field_keeps_the_default():
    @dataclasses.dataclass(frozen=True)
    class C:
        x: int = doc_field(3, "x")

    assert C().x == 3
