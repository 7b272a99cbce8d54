"""Content digests of external inputs, and their place in every artefact key."""

import dataclasses
import json
import os

import pytest

from leakage import inputs
from leakage.config import config_hash, doc_field, input_digests
from leakage.store import Store


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    inputs._MEMO.clear()


def rewrite(path, text):
    """Rewrite ``path`` in place, with a newer modification time (as any real rewrite has)."""
    stat = path.stat() if path.exists() else None
    path.write_text(text)
    if stat is not None:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_file_digest_follows_its_content_and_is_cached_on_disk(tmp_path):
    data = tmp_path / "function.json"
    rewrite(data, "alpha")
    first = inputs.file_digest(data)
    assert first == inputs.file_digest(data) and len(first) == 16
    assert list((tmp_path / "results" / "store" / ".digests").iterdir())  # later processes reuse it
    rewrite(data, "omega")  # same size, same path
    assert inputs.file_digest(data) != first
    other = tmp_path / "copy.json"
    rewrite(other, "alpha")
    assert inputs.file_digest(other) == first  # content, not path
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inputs.file_digest(tmp_path / "missing.json")


def test_a_folder_digest_covers_every_file_and_its_name(tmp_path):
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    rewrite(folder / "config.json", "{}")
    rewrite(folder / "model.safetensors", "weights")
    first = inputs.path_digest(folder)
    rewrite(folder / "model.safetensors", "weightz")
    second = inputs.path_digest(folder)
    assert second != first
    (folder / "model.safetensors").rename(folder / "other.safetensors")
    assert inputs.path_digest(folder) != second
    assert inputs.path_digest(folder / "config.json") == inputs.file_digest(folder / "config.json")


@dataclasses.dataclass(frozen=True)
class Reads:
    path: str = doc_field("", "a data file")

    def input_digests(self) -> dict[str, str]:
        return {"data": inputs.file_digest(self.path)}


@dataclasses.dataclass(frozen=True)
class Outer:
    data: Reads = doc_field(Reads(), "nested input")
    epochs: int = doc_field(1, "epochs")


@dataclasses.dataclass(frozen=True)
class Pure:
    epochs: int = doc_field(1, "epochs")


def test_every_artefact_key_covers_the_content_of_nested_inputs(tmp_path):
    data = tmp_path / "data.txt"
    rewrite(data, "alpha")
    config = Outer(Reads(str(data)))
    assert input_digests(config) == {"data.data": inputs.file_digest(data)}
    store = Store(tmp_path / "store")
    first = store.cached("toy", config, lambda: {"read": data.read_text()}, seed=0)
    assert first["read"] == "alpha"
    record = json.loads((store.folder("toy", config) / "record.json").read_text())
    assert record["inputs"] == {"data.data": inputs.file_digest(data)}
    rewrite(data, "omega")
    assert store.cached("toy", config, lambda: {"read": data.read_text()}, seed=0)["read"] == "omega"
    assert input_digests(Pure()) == {}  # a config that reads nothing keeps its key
    assert config_hash("toy", Pure()) == config_hash("toy", Pure())


def test_a_rewrite_that_keeps_size_and_mtime_is_still_seen(tmp_path):
    data = tmp_path / "function.json"
    data.write_text("alpha")
    first = inputs.file_digest(data)
    stat = data.stat()
    data.write_text("omega")
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the old mtime put back
    assert inputs.file_digest(data) != first


# --------------------------------------------------------------------------- keys of models handed in


def two_layer(activation):
    """Flatten -> Linear(2, 2) -> activation -> Linear(2, 2), with fixed weights: with ReLU every input is class 0;
    with Tanh an input is class 1 exactly when x0 > x1 (logit 0 = act(x1 - x0), logit 1 = -0.001)."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2), activation, nn.Linear(2, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
        model[1].bias.zero_()
        model[3].weight.copy_(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
        model[3].bias.copy_(torch.tensor([0.0, -0.001]))
    return model


class Scaled:
    """Not a module: an object the digest cannot describe."""

    def __init__(self, factor):
        self.factor = factor


def scaled_model(temperature, helper=None):
    import torch
    from torch import nn

    class Tempered(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)
            self.temperature = temperature
            self.helper = helper

        def forward(self, x):
            return self.linear(x.flatten(1)) / self.temperature

    torch.manual_seed(0)
    return Tempered()


def test_the_module_digest_sees_the_architecture_not_only_the_weights():
    from torch import nn

    relu, tanh = two_layer(nn.ReLU()), two_layer(nn.Tanh())
    assert relu.state_dict().keys() == tanh.state_dict().keys()
    assert inputs.module_digest(relu) != inputs.module_digest(tanh)
    assert inputs.module_digest(relu) == inputs.module_digest(two_layer(nn.ReLU()))
    assert inputs.module_digest(relu) == inputs.module_digest(relu.train())  # the mode is not the model
    assert inputs.module_digest(two_layer(nn.LeakyReLU(0.1))) != inputs.module_digest(two_layer(nn.LeakyReLU(0.2)))
    assert inputs.module_digest(scaled_model(1.0)) != inputs.module_digest(scaled_model(2.0))  # a plain attribute


def test_the_behaviour_digest_is_stable_and_leaves_the_model_and_rngs_as_found():
    import numpy as np
    import torch
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    model[3].eval()
    probe = inputs.probe_batch((1, 2, 2))
    assert probe.shape == (4, 1, 2, 2) and torch.equal(probe, inputs.probe_batch((1, 2, 2)))
    torch.manual_seed(123)
    np.random.seed(5)
    before = torch.get_rng_state(), np.random.get_state()[1].copy()
    first = inputs.model_behaviour_digest(model, probe)
    assert torch.equal(torch.get_rng_state(), before[0]) and np.array_equal(np.random.get_state()[1], before[1])
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert first == inputs.model_behaviour_digest(model, probe) == inputs.model_behaviour_digest(model.eval(), probe)
    other = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    assert inputs.model_behaviour_digest(other, probe) != first


def test_a_model_drawing_from_its_own_generator_keeps_its_key_and_its_generator_state():
    import torch
    from torch import nn

    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)
            self.generator = torch.Generator().manual_seed(7)

        def forward(self, x):
            return self.linear(x.flatten(1)) + torch.rand(len(x), 2, generator=self.generator)

    torch.manual_seed(0)
    model, probe = Noisy(), inputs.probe_batch((2,))
    first = inputs.model_behaviour_digest(model, probe)
    state = model.generator.get_state()
    model(probe)  # queried in between: its generator has moved on
    moved = model.generator.get_state()
    assert inputs.model_behaviour_digest(model, probe) == first
    assert torch.equal(model.generator.get_state(), moved) and not torch.equal(moved, state)


def test_an_attribute_the_key_cannot_see_is_named_in_a_warning():
    import warnings

    probe = inputs.probe_batch((2,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inputs.model_behaviour_digest(scaled_model(2.0), probe)  # numbers, functions, configs: seen, no warning
        inputs.model_behaviour_digest(scaled_model(2.0, helper=len), probe)
    with pytest.warns(inputs.UncertainKeyWarning, match=r"helper \(Scaled\).*store=None"):
        inputs.model_behaviour_digest(scaled_model(2.0, helper=Scaled(3)), probe)


def test_a_model_that_rejects_the_probe_is_a_clear_error():
    from torch import nn

    with pytest.raises(ValueError, match=r"rejected a probe batch of shape \(4, 3\)"):
        inputs.model_behaviour_digest(nn.Linear(2, 2), inputs.probe_batch((3,)))


def test_tanh_and_relu_with_the_same_weights_get_their_own_scores_from_a_store(tmp_path):
    import numpy as np
    import torch
    from torch import nn

    from leakage.api import attack_classifier

    # members: x0 > x1 (Tanh gets them wrong); non-members: x1 > x0; every label 0
    low, high = torch.linspace(0.05, 0.3, 6), torch.linspace(0.6, 0.95, 6)
    members = torch.stack([high, low], 1).reshape(6, 1, 1, 2), torch.zeros(6, dtype=torch.long)
    non_members = torch.stack([low, high], 1).reshape(6, 1, 1, 2), torch.zeros(6, dtype=torch.long)
    relu, tanh = two_layer(nn.ReLU()), two_layer(nn.Tanh())
    store = Store(tmp_path / "store")
    expected = {"relu": np.ones(12), "tanh": np.repeat([0.0, 1.0], 6)}  # baseline: 1 = classified correctly
    for name, model in (("relu", relu), ("tanh", tanh)):
        fresh = attack_classifier(model, members, non_members, "baseline", n_boot=10)
        np.testing.assert_array_equal(fresh.scores, expected[name])
        cached = attack_classifier(model, members, non_members, "baseline", store=store, n_boot=10)
        np.testing.assert_array_equal(cached.scores, expected[name])
    assert len(store.computed()) == 2  # one artefact per model
    again = attack_classifier(two_layer(nn.Tanh()), members, non_members, "baseline", store=store, n_boot=10)
    np.testing.assert_array_equal(again.scores, expected["tanh"])
    assert len(store.computed()) == 2  # the same model (rebuilt) hits the cache


def test_a_damaged_digest_cache_entry_is_recomputed_not_trusted(tmp_path):
    data = tmp_path / "data.txt"
    rewrite(data, "alpha")
    digest = inputs.file_digest(data)
    (entry,) = (tmp_path / "results" / "store" / ".digests").iterdir()
    entry.write_text("not-a-hex-digest")  # 16 characters, but not a digest
    inputs._MEMO.clear()
    assert inputs.file_digest(data) == digest
