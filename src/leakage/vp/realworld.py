"""Real-world VP data sets from a user's file: Devign (JSON / JSON lines) and BigVul (CSV).

Not available offline; for online users who downloaded one of them:

- Devign (Zhou et al. 2019): ``function.json``, a JSON list of ``{"project", "commit_id", "target", "func"}``,
  or CodeXGLUE's ``train.jsonl`` etc. (one such object per line).
- BigVul (Fan et al. 2020): ``MSR_data_cleaned.csv`` (columns ``func_before``, ``vul``, ``commit_id``, ...)
  or LineVul's CSVs (``processed_func``, ``target``).

Functions get their comments removed (tree-sitter's C++ grammar, as the sets mix C and C++) and
blank lines dropped; exact duplicates (first kept) and code seen under both labels are dropped, as
for Juliet. The grouping unit is the commit (all functions of one commit stay in one split), else
the row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from leakage.data.vision import DataUnavailableError
from leakage.vp.clex import CORPUS_LANGUAGE, strip_comments
from leakage.vp.juliet import VPCorpus, dedupe

REALWORLD_DATASETS: tuple[str, ...] = ("devign", "bigvul")
_CODE_COLUMNS = ("func", "func_before", "processed_func", "code")
_LABEL_COLUMNS = ("target", "vul", "label")
_GROUP_COLUMNS = ("commit_id", "commit")


def _first(columns, wanted: tuple[str, ...], what: str, path: Path) -> str | None:
    found = next((c for c in wanted if c in columns), None)
    if found is None and what != "group":
        raise DataUnavailableError(f"{path} has no {what} column (looked for {', '.join(wanted)}; found "
                                   f"{', '.join(map(str, columns))}); is it a Devign or BigVul file?")
    return found


def _tidy(code: str) -> str:
    lines = [line.rstrip().replace("\t", "    ") for line in strip_comments(code, CORPUS_LANGUAGE).splitlines()]
    return "\n".join(line for line in lines if line.strip())


def _read_table(path: Path):
    import pandas as pd

    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix == ".jsonl":
            return pd.read_json(path, lines=True)
        if path.suffix == ".json":
            with open(path) as handle:
                return pd.DataFrame(json.load(handle))
    except (OSError, ValueError) as err:
        raise DataUnavailableError(f"cannot read {path} ({err}); expected Devign JSON / JSON lines or "
                                   f"BigVul CSV") from err
    raise DataUnavailableError(f"{path}: unsupported file type {path.suffix!r}; give a .json, .jsonl or .csv file")


def source_path(name: str, path: str | os.PathLike) -> Path:
    """The file :func:`load_realworld` reads for data set ``name``; raises ``DataUnavailableError`` if it is
    missing (its content digest belongs in every key of an artefact computed from it)."""
    if name not in REALWORLD_DATASETS:
        raise ValueError(f"unknown real-world VP data set {name!r}; choose one of {', '.join(REALWORLD_DATASETS)}")
    found = Path(path).expanduser()
    if not found.is_file():
        raise DataUnavailableError(f"no {name} file at {found}; download it (Devign: function.json from the "
                                   f"Devign/CodeXGLUE release; BigVul: MSR_data_cleaned.csv) and pass its path")
    return found


def load_realworld(name: str, path: str | os.PathLike, *, max_chars: int = 0) -> tuple[VPCorpus, dict[str, int]]:
    """Devign or BigVul from ``path`` as a corpus (group = commit), and its cleaning statistics.

    ``max_chars`` > 0 leaves out functions longer than that (after cleaning).
    """
    path = source_path(name, path)
    table = _read_table(path)
    code_col = _first(table.columns, _CODE_COLUMNS, "code", path)
    label_col = _first(table.columns, _LABEL_COLUMNS, "label", path)
    group_col = _first(table.columns, _GROUP_COLUMNS, "group", path)
    table = table.dropna(subset=[code_col, label_col])
    labels = table[label_col].astype(int).to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise DataUnavailableError(f"{path}: column {label_col} must hold 0/1 labels")
    groups = (table[group_col].astype(str).to_numpy() if group_col
              else np.array([f"row{i}" for i in range(len(table))], dtype=object))
    records = [{"code": _tidy(str(code)), "label": int(label), "group": str(group), "cwe": ""}
               for code, label, group in zip(table[code_col], labels, groups)]
    records = [r for r in records if r["code"] and (max_chars <= 0 or len(r["code"]) <= max_chars)]
    kept, stats = dedupe(records)
    if not kept:
        raise DataUnavailableError(f"{path} holds no usable functions")
    corpus = VPCorpus(code=tuple(r["code"] for r in kept), label=np.array([r["label"] for r in kept], np.int64),
                      group=np.array([r["group"] for r in kept], dtype=object),
                      cwe=np.array([r["cwe"] for r in kept], dtype=object),
                      source=f"{name} from {path}", name=name)
    return corpus, stats
