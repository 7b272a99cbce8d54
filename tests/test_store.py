"""The experiment store: hashing, atomic writes, resume after a kill, corruption, --force."""

import json
import os
import time
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch

from leakage.config import config_hash, doc_field
from leakage.store import CorruptArtifactWarning, Store, atomic_path


@dataclass(frozen=True)
class Inner:
    """A nested config."""

    depth: int = doc_field(2, "how deep")


@dataclass(frozen=True)
class Toy:
    """A config for the tests."""

    name: str = doc_field("toy", "a name")
    rate: float = doc_field(0.5, "a rate")
    inner: Inner = doc_field(Inner(), "a nested config")


def payload():
    return {"scores": np.arange(5, dtype=np.float32), "model": {"w": torch.ones(2, 3)}, "auc": 0.75,
            "table": {"a": [1, 2]}}


def test_hash_is_stable_and_sensitive_to_every_field():
    base = config_hash("toy", Toy())
    assert base == config_hash("toy", Toy()) and len(base) == 16
    assert base != config_hash("other", Toy())
    assert base != config_hash("toy", replace(Toy(), rate=0.25))
    assert base != config_hash("toy", replace(Toy(), inner=Inner(depth=3)))


def test_round_trip_keeps_types_and_records_the_run(tmp_path):
    store = Store(tmp_path)
    store.save("toy", Toy(), payload(), seed=7, device="cpu (2 threads)", wall_time_s=1.5)
    loaded = store.load("toy", Toy())
    np.testing.assert_array_equal(loaded["scores"], np.arange(5, dtype=np.float32))
    assert torch.equal(loaded["model"]["w"], torch.ones(2, 3))
    assert loaded["auc"] == 0.75 and loaded["table"] == {"a": [1, 2]}
    record = store.record("toy", Toy())
    assert record["seed"] == 7 and record["device"] == "cpu (2 threads)" and record["wall_time_s"] == 1.5
    assert record["config"] == {"name": "toy", "rate": 0.5, "inner": {"depth": 2}}
    assert {"torch", "numpy", "python", "leakage"} <= set(record["versions"])


def test_cached_computes_once_then_reuses(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return payload()

    first = Store(tmp_path).cached("toy", Toy(), compute, seed=0)
    second = Store(tmp_path).cached("toy", Toy(), compute, seed=0)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["scores"], second["scores"])


def _slow_cached(root: str, log: str) -> float:
    """Run in another process: ask for Toy() while the other process may be computing it."""
    def compute():
        with open(log, "a") as handle:
            handle.write("computed\n")
        time.sleep(1.0)
        return {"value": np.array([os.getpid()])}

    return float(Store(root).cached("toy", Toy(), compute, seed=0)["value"][0])


def test_processes_that_need_the_same_artefact_compute_it_once(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    log = tmp_path / "log.txt"
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(_slow_cached, [str(tmp_path / "store")] * 2, [str(log)] * 2))
    assert log.read_text().count("computed") == 1 and results[0] == results[1]


def test_a_killed_run_leaves_nothing_trusted_and_the_next_run_recomputes(tmp_path):
    store = Store(tmp_path)

    def dies():
        raise KeyboardInterrupt  # killed half-way

    with pytest.raises(KeyboardInterrupt):
        store.cached("toy", Toy(), dies, seed=0)
    assert store.load("toy", Toy()) is None
    # a half-written folder from a run killed during the write is never trusted either
    folder = store.folder("toy", Toy())
    partial = folder.with_name(f".{folder.name}.abc.partial")
    partial.mkdir(parents=True)
    (partial / "values.json").write_text("{")
    assert store.load("toy", Toy()) is None
    assert store.cached("toy", Toy(), payload, seed=0)["auc"] == 0.75


def test_save_failure_keeps_the_old_artefact_and_leaves_no_partial_folder(tmp_path):
    store = Store(tmp_path)
    store.save("toy", Toy(), payload(), seed=0)
    with pytest.raises(TypeError, match="JSON-able"):
        store.save("toy", Toy(), {"bad": object()}, seed=0)
    assert store.load("toy", Toy())["auc"] == 0.75
    assert [p.name for p in (tmp_path / "toy").iterdir()] == [store.folder("toy", Toy()).name]


@pytest.mark.parametrize("damage", ["truncate_npz", "edit_values", "delete_record", "garble_record"])
def test_a_corrupt_artefact_is_set_aside_with_a_warning_and_recomputed(tmp_path, damage):
    store = Store(tmp_path)
    folder = store.save("toy", Toy(), payload(), seed=0)
    if damage == "truncate_npz":
        data = (folder / "arrays.npz").read_bytes()
        (folder / "arrays.npz").write_bytes(data[: len(data) // 2])
    elif damage == "edit_values":
        (folder / "values.json").write_text(json.dumps({"auc": 0.99}))
    elif damage == "delete_record":
        (folder / "record.json").unlink()
    else:
        (folder / "record.json").write_text("{not json")
    with pytest.warns(CorruptArtifactWarning, match="corrupt"):
        assert store.load("toy", Toy()) is None
    aside = [p for p in (tmp_path / "toy").iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and any(aside[0].iterdir())  # kept for inspection, nothing lost
    assert store.cached("toy", Toy(), payload, seed=0)["auc"] == 0.75


def test_force_recomputes_artefacts_finished_before_the_forced_run(tmp_path, monkeypatch):
    Store(tmp_path).save("toy", Toy(), payload(), seed=0)
    forced = Store(tmp_path, force_before=time.time() + 1)
    assert forced.load("toy", Toy()) is None
    monkeypatch.setenv("LEAKAGE_FORCE_BEFORE", str(time.time() - 3600))
    assert Store(tmp_path).load("toy", Toy()) is not None  # finished after the cut-off: reused


def test_atomic_path_never_leaves_a_half_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.csv"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_bad_kind_and_bad_entry_names_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="identifier"):
        Store(tmp_path).folder("no such/kind", Toy())
    with pytest.raises(ValueError, match="identifiers"):
        Store(tmp_path).save("toy", Toy(), {"not a name": 1}, seed=0)
