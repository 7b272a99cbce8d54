"""The experiment store: hashing, atomic writes, resume after a kill, corruption, --force."""

import contextlib
import json
import os
import stat
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from conftest import as_user
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


# --------------------------------------------------------------------------- malformed artefacts of every shape


def _rewrite_record(folder, change):
    record = json.loads((folder / "record.json").read_text())
    change(record)
    (folder / "record.json").write_text(json.dumps(record))


def _values_a_list_with_its_checksum(folder):
    import hashlib

    (folder / "values.json").write_text("[1, 2]")
    digest = hashlib.sha256(b"[1, 2]").hexdigest()
    _rewrite_record(folder, lambda r: r["files"].update({"values.json": digest}))


def _replace_folder_by_a_file(folder):
    import shutil

    shutil.rmtree(folder)
    folder.write_text("not a folder")


MALFORMED = {
    "record_not_json": lambda f: (f / "record.json").write_text("{not json"),
    "record_not_utf8": lambda f: (f / "record.json").write_bytes(b"\xff\xfe{}"),
    "record_a_list": lambda f: (f / "record.json").write_text("[]"),
    "record_a_number": lambda f: (f / "record.json").write_text("3"),
    "record_a_folder": lambda f: ((f / "record.json").unlink(), (f / "record.json").mkdir()),
    "files_a_list": lambda f: _rewrite_record(f, lambda r: r.update(files=sorted(r["files"]))),
    "files_missing": lambda f: _rewrite_record(f, lambda r: r.pop("files")),
    "files_empty": lambda f: _rewrite_record(f, lambda r: r.update(files={})),
    "digest_a_number": lambda f: _rewrite_record(f, lambda r: r["files"].update({"values.json": 5})),
    "file_name_escapes": lambda f: _rewrite_record(f, lambda r: r["files"].update({"../x": "0" * 64})),
    "no_finished_at": lambda f: _rewrite_record(f, lambda r: r.pop("finished_at")),
    "finished_at_a_string": lambda f: _rewrite_record(f, lambda r: r.update(finished_at="yesterday")),
    "finished_at_a_bool": lambda f: _rewrite_record(f, lambda r: r.update(finished_at=True)),
    "seed_a_string": lambda f: _rewrite_record(f, lambda r: r.update(seed="0")),
    "config_a_list": lambda f: _rewrite_record(f, lambda r: r.update(config=[])),
    "record_of_another_artefact": lambda f: _rewrite_record(f, lambda r: r.update(config_hash="0" * 16)),
    "payload_file_missing": lambda f: (f / "arrays.npz").unlink(),
    "payload_file_not_listed": lambda f: torch.save({"w": torch.zeros(1)}, f / "intruder.pt"),
    "digest_mismatch": lambda f: (f / "values.json").write_text(json.dumps({"auc": 0.99})),
    "values_a_list_with_its_checksum": _values_a_list_with_its_checksum,
    "folder_a_file": _replace_folder_by_a_file,
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_a_malformed_artefact_of_any_shape_is_set_aside_and_recomputed(tmp_path, shape):
    store = Store(tmp_path, force_before=0.0)  # the --force check reads finished_at too
    folder = store.save("toy", Toy(), payload(), seed=0)
    MALFORMED[shape](folder)
    with pytest.warns(CorruptArtifactWarning, match="corrupt"):
        assert store.load("toy", Toy()) is None
    assert [p for p in (tmp_path / "toy").iterdir() if ".corrupt-" in p.name]  # kept for inspection
    calls = []
    again = store.cached("toy", Toy(), lambda: calls.append(1) or payload(), seed=0)
    assert calls == [1] and again["auc"] == 0.75 and torch.equal(again["model"]["w"], torch.ones(2, 3))
    np.testing.assert_array_equal(again["scores"], np.arange(5, dtype=np.float32))
    assert store.load("toy", Toy())["auc"] == 0.75  # the recomputed artefact is intact


def test_hidden_files_beside_an_artefact_do_not_make_it_corrupt(tmp_path):
    store = Store(tmp_path)
    folder = store.save("toy", Toy(), payload(), seed=0)
    (folder / ".DS_Store").write_bytes(b"\0")
    assert store.load("toy", Toy())["auc"] == 0.75


def test_a_cut_or_garbled_line_of_the_computed_log_is_skipped(tmp_path):
    store = Store(tmp_path)
    store.cached("toy", Toy(), payload, seed=0)
    with open(tmp_path / ".computed.log", "a") as log:
        log.write('[1, 2]\n{"kind": "toy", "at": "noon"}\n{"kind": "toy", "config_ha')
    assert [e["kind"] for e in store.computed()] == ["toy"]


# --------------------------------------------------------------------------- modes: a store others can read


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root):
    """Every path below ``root`` (relative) -> its permission bits."""
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o027, 0o077])
def test_the_store_and_atomic_files_honour_the_umask(tmp_path, mask):
    from leakage.permissions import current_umask

    with umask(mask):
        assert current_umask() == mask
        store = Store(tmp_path / "store")
        store.cached("toy", Toy(), payload, seed=0)
        with atomic_path(tmp_path / "table.csv") as tmp:
            tmp.write_text("a,b\n")
    folder = store.folder("toy", Toy())
    modes = _modes(tmp_path)
    for name, mode in modes.items():
        is_dir = (tmp_path / name).is_dir()
        assert mode == (0o777 if is_dir else 0o666) & ~mask, (name, oct(mode))
    assert str(folder.relative_to(tmp_path)) in modes and "table.csv" in modes


def _write_as(root, mask):
    os.umask(mask)
    Store(root).save("toy", Toy(), shareable(), seed=0)
    return os.getuid()


def _read_as(root):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a set-aside would be a CorruptArtifactWarning: an error here
        loaded = Store(root).load("toy", Toy())
    return None if loaded is None else (float(loaded["auc"]), loaded["scores"].tolist())


def shareable():
    return {"scores": np.arange(5, dtype=np.float32), "auc": 0.75}


@pytest.fixture
def shared_root():
    """A folder every account may enter and write (pytest's tmp_path lies under a root-only folder)."""
    import shutil
    import tempfile

    if os.getuid() != 0:
        pytest.skip("switching user ids needs root")
    root = Path(tempfile.mkdtemp(prefix="leakage-shared-store-"))
    root.chmod(0o1777)
    Store(root / "warm").cached("toy", Toy(), payload, seed=0)  # imports everything the children need
    try:
        yield root / "store"
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_a_store_written_by_one_account_is_read_by_another(shared_root, mask):
    writer = as_user(12345, 12345, _write_as, shared_root, mask)
    assert writer == ("ok", 12345)
    folder = Store(shared_root).folder("toy", Toy())
    assert folder.stat().st_uid == 12345 and (folder / "record.json").stat().st_uid == 12345
    same_group = as_user(12346, 12345, _read_as, shared_root)
    other_group = as_user(12347, 12347, _read_as, shared_root)
    assert same_group == other_group == ("ok", (0.75, [0.0, 1.0, 2.0, 3.0, 4.0]))
    assert not [p for p in folder.parent.iterdir() if ".corrupt-" in p.name]


def test_an_artefact_another_account_may_not_read_is_a_clear_error_not_corrupt(shared_root):
    assert as_user(12345, 12345, _write_as, shared_root, 0o027) == ("ok", 12345)
    assert as_user(12346, 12345, _read_as, shared_root)[0] == "ok"  # the group may read
    kind, message = as_user(12347, 12347, _read_as, shared_root)  # the others may not
    assert kind == "error" and message.startswith("PermissionError") and "may not read it" in message
    assert "chmod" in message and str(Store(shared_root).folder("toy", Toy())) in message
    assert Store(shared_root).load("toy", Toy())["auc"] == 0.75  # still there, not set aside
