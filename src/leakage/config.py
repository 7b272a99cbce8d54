"""Typed experiment configs: frozen dataclasses whose every field carries a one-line doc.

A config is the *full* description of one computation; its hash (``config_hash``) keys the
artefact it produces in the store, so two configs that differ in any field never share a file.
A config that reads something from outside (a data file, a corpus, pretrained weights, a path chosen
by an environment variable) defines ``input_digests() -> dict[str, str]``, the content digests of
those inputs (:mod:`leakage.inputs`); ``config_hash`` folds in the digests of the config and of every
nested config, so a rewritten input never returns a stale artefact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def doc_field(default: Any, doc: str) -> Any:
    """A dataclass field with a default and a one-line description (kept in the field's metadata)."""
    return dataclasses.field(default=default, metadata={"doc": doc})


def config_dict(config: Any) -> dict[str, Any]:
    """The config as plain JSON-able data (nested configs become nested dicts, tuples become lists)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a config dataclass instance, got {type(config).__name__}")
    return json.loads(json.dumps(dataclasses.asdict(config)))


def input_digests(config: Any, prefix: str = "") -> dict[str, str]:
    """Content digests of every external input the config (or a nested config) reads, by dotted field path.

    A config declares its inputs with an ``input_digests()`` method; configs without one read nothing
    from outside. Empty when nothing is read.
    """
    found: dict[str, str] = {}
    own = getattr(config, "input_digests", None)
    if callable(own):
        found.update({f"{prefix}{name}": digest for name, digest in own().items()})
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.update(input_digests(value, f"{prefix}{f.name}."))
    return found


def config_hash(kind: str, config: Any) -> str:
    """A 16-hex-digit key for (kind, full resolved config, content of its external inputs), stable across
    runs and machines."""
    key: dict[str, Any] = {"kind": kind, "config": config_dict(config)}
    inputs = input_digests(config)
    if inputs:  # configs that read nothing from outside keep the keys they always had
        key["inputs"] = inputs
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def field_docs(config_type: type) -> dict[str, str]:
    """Field name -> its one-line doc, for a config dataclass type (missing docs are an error)."""
    docs = {}
    for f in dataclasses.fields(config_type):
        doc = f.metadata.get("doc")
        if not doc:
            raise ValueError(f"{config_type.__name__}.{f.name} has no doc; declare it with doc_field()")
        docs[f.name] = doc
    return docs


def describe(config: Any) -> list[dict[str, Any]]:
    """Rows of (field, value, doc) for showing a config in the book; nested configs are flattened with dots."""
    rows: list[dict[str, Any]] = []
    docs = field_docs(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            rows += [{**row, "field": f"{f.name}.{row['field']}"} for row in describe(value)]
        else:
            rows.append({"field": f.name, "value": value, "doc": docs[f.name]})
    return rows
