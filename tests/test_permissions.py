"""Files kept after an atomic write get the modes ``open`` / ``mkdir`` would give them under the umask, not
``tempfile``'s private 0600 / 0700 (a shared store or data folder must be readable by the other accounts)."""

import ast
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import leakage
from leakage.permissions import current_umask, default_mode, honour_umask

MASKS = [0o022, 0o002, 0o077]


@pytest.fixture(params=MASKS, ids=oct)
def mask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_umask_is_read_without_changing_it(mask):
    assert current_umask() == mask
    assert current_umask() == mask
    assert default_mode(is_dir=False) == 0o666 & ~mask and default_mode(is_dir=True) == 0o777 & ~mask


def test_honour_umask_gives_tempfiles_the_mode_open_would(tmp_path, mask):
    import tempfile

    fd, file = tempfile.mkstemp(dir=tmp_path)
    os.close(fd)
    folder = tempfile.mkdtemp(dir=tmp_path)
    assert mode(Path(file)) == 0o600 and mode(Path(folder)) == 0o700  # tempfile's own modes
    honour_umask(file)
    honour_umask(folder)
    (tmp_path / "opened").write_text("")
    (tmp_path / "made").mkdir()
    assert mode(Path(file)) == mode(tmp_path / "opened") == 0o666 & ~mask
    assert mode(Path(folder)) == mode(tmp_path / "made") == 0o777 & ~mask


def test_juliets_shipped_file_is_written_with_the_umask(tmp_path, mask):
    from leakage.vp.juliet import write_records

    write_records(tmp_path / "functions.jsonl.gz", [{"code": "int f(void) { return 0; }"}], {"v": 1})
    assert mode(tmp_path / "functions.jsonl.gz") == 0o666 & ~mask


def test_vision_caches_and_downloads_are_written_with_the_umask(tmp_path, mask):
    from leakage.data import vision

    arrays = (np.zeros((2, 1, 2, 2), np.uint8), np.array([0, 1]), ("a", "b"))
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    vision._save_cache(tmp_path / "cache.npz", arrays, "test", source_dir)
    assert mode(tmp_path / "cache.npz") == 0o666 & ~mask
    (tmp_path / "remote.bin").write_bytes(b"data")
    vision._download((tmp_path / "remote.bin").as_uri(), tmp_path / "local.bin")
    assert (tmp_path / "local.bin").read_bytes() == b"data" and mode(tmp_path / "local.bin") == 0o666 & ~mask


#: Functions whose tempfile is deleted after use (nothing made by it is kept), so its private mode does no harm.
DELETED_AFTER = {("data/vision.py", "_extract"), ("book.py", "execute_notebook"), ("api/vision.py", "attack_candidates")}


def test_every_kept_tempfile_in_the_package_honours_the_umask():
    package = Path(leakage.__file__).parent
    found = set()
    for file in package.rglob("*.py"):
        tree = ast.parse(file.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            calls = {node.func.attr for node in ast.walk(function)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
            names = {node.func.id for node in ast.walk(function)
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
            if calls & {"mkstemp", "mkdtemp", "TemporaryDirectory", "NamedTemporaryFile"}:
                where = (file.relative_to(package).as_posix(), function.name)
                found.add(where)
                assert "honour_umask" in names or where in DELETED_AFTER, f"{where}: tempfile kept private"
    assert DELETED_AFTER <= found, f"stale entries: {DELETED_AFTER - found}"
