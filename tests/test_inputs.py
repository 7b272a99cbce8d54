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
