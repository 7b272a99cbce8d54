"""The parameter layer: every chapter's parameters, resolved once and type-checked.

A chapter's notebook declares its parameters in a cell tagged ``parameters``, whose values are the smoke
profile's; :data:`leakage.profiles.NOTEBOOK_PARAMETERS` holds what the other profiles change; the book's
``--set NAME=VALUE`` values come last. :func:`resolve_parameters` applies the three in that order and checks
every value's type against the declared default and the profiles' values; the runner (:mod:`leakage.book`),
the plan (:mod:`leakage.experiments.plan`) and a chapter that reuses another's runs
(:func:`other_chapter_parameters`) all resolve through it, so they name the same artefacts.

This module sits below the experiments (it imports only :mod:`leakage.profiles` and :mod:`leakage.paths`):
errors are :class:`ParameterError`, which the runner reports as its own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leakage.chapters import ALL_NOTEBOOKS
from leakage.paths import project_root
from leakage.profiles import NOTEBOOK_PARAMETERS, check_profile


class ParameterError(ValueError):
    """A parameter that is not declared, has the wrong type, or a notebook without a parameters cell."""


def notebook_source(name: str) -> Path:
    """``notebooks/<name>.py``."""
    return project_root() / "notebooks" / f"{name}.py"



def tagged_cells(notebook, tag: str) -> list:
    """The notebook's cells tagged ``tag``."""
    return [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]


def assigned_values(source: str, where: str) -> dict[str, Any]:
    """Names and values a parameters cell's ``source`` assigns (``where`` names the cell in errors)."""
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{where}>", "exec"), {}, namespace)  # noqa: S102 (our own notebooks, papermill's cell)
    return namespace


def declared_parameters(notebook) -> dict[str, Any]:
    """Names and default values assigned in the notebook's ``parameters`` cell."""
    cells = tagged_cells(notebook, "parameters")
    if len(cells) != 1:
        raise ParameterError(f"a notebook needs exactly one cell tagged 'parameters', found {len(cells)}")
    return assigned_values(cells[0].source, "parameters")



def _conforms(value: Any, example: Any) -> bool:
    """Whether ``value`` has the shape of ``example`` (a declared default or a profile's value).

    bool, int and str must match exactly (an int is not a bool, 5.0 is not an int); a float accepts an
    int; None (an optional path or name) accepts None or a str; a list or tuple accepts a list or tuple
    whose every element conforms to some element of the example (any element, if the example is empty);
    a dict likewise for its keys and its values.
    """
    if isinstance(example, bool):
        return isinstance(value, bool)
    if isinstance(example, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(example, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(example, str):
        return isinstance(value, str)
    if example is None:
        return value is None or isinstance(value, str)
    if isinstance(example, (list, tuple)):
        return isinstance(value, (list, tuple)) and (
            not example or all(any(_conforms(v, e) for e in example) for v in value))
    if isinstance(example, dict):
        return isinstance(value, dict) and (not example or all(
            any(_conforms(k, e) for e in example) and any(_conforms(v, e) for e in example.values())
            for k, v in value.items()))
    return isinstance(value, type(example))


def _type_name(example: Any) -> str:
    """What ``_conforms`` expects, in words: 'an int', 'a list of str', 'a dict of str to int', ..."""
    def of(values) -> str:
        names = sorted({_type_name(v).split(" ", 1)[1] for v in values})
        return " or ".join(names) if names else "anything"

    if isinstance(example, bool):
        return "a bool"
    if isinstance(example, int):
        return "an int"
    if isinstance(example, float):
        return "a number"
    if isinstance(example, str):
        return "a str"
    if example is None:
        return "a str or None"
    if isinstance(example, (list, tuple)):
        return f"a list of {of(example)}"
    if isinstance(example, dict):
        return f"a dict of {of(example)} to {of(example.values())}"
    return f"a {type(example).__name__}"


def parameter_examples(name: str, declared: dict[str, Any]) -> dict[str, list[Any]]:
    """Parameter -> its declared default and its values in every profile (what an override's type is checked
    against)."""
    examples = {key: [value] for key, value in declared.items()}
    for profile_values in NOTEBOOK_PARAMETERS.get(name, {}).values():
        for key, value in profile_values.items():
            examples.setdefault(key, []).append(value)
    return examples


def check_parameter(notebook: str, name: str, value: Any, examples: list[Any]) -> Any:
    """``value`` if it conforms to one of ``examples`` (the parameter's declared default and its value in
    every profile), as a float for a float parameter given an int and as a list for a tuple; else a
    ``ParameterError`` that names the parameter, the expected type and an example."""
    if not any(_conforms(value, e) for e in examples):
        example = next((e for e in examples[1:] if e not in (None, [], {})), examples[0])
        wanted = " or ".join(dict.fromkeys(_type_name(e) for e in examples))
        raise ParameterError(f"--set {name}={value!r}: parameter {name!r} of notebook {notebook} expects {wanted}, "
                        f"got {type(value).__name__} {value!r}; for example: --set \"{name}={example!r}\"")
    if isinstance(value, int) and not isinstance(value, bool) and all(isinstance(e, float) for e in examples):
        return float(value)
    return list(value) if isinstance(value, tuple) else value


#: The parameter through which the runner hands a chapter this build's ``--set`` values, when the chapter declares it:
#: a chapter that reuses another's artefacts (lz_boundary and lz_ladder reuse lz_transfer's and lz_boundary's runs)
#: resolves that chapter's parameters with them (:func:`other_chapter_parameters`), so both name the same runs.
OVERRIDES = "overrides"


def resolve_parameters(name: str, profile: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's parameters for notebook ``name`` with ``overrides`` applied to those it declares (checked
    against the declared default's type); a notebook that declares :data:`OVERRIDES` also gets all of them.
    Raises ``ParameterError`` for a notebook without a source, an override of the wrong type, a profile value the
    notebook does not declare, or an attempt to ``--set`` :data:`OVERRIDES` itself."""
    path = notebook_source(name)
    if not path.exists():
        raise ParameterError(f"notebook {name!r} has no source file {path}")
    if OVERRIDES in overrides:
        raise ParameterError(f"{OVERRIDES!r} is filled by the runner with the --set values; it cannot be set itself")
    declared = declared_defaults(name)
    examples = parameter_examples(name, declared)
    given = {k: check_parameter(name, k, v, examples[k]) for k, v in overrides.items() if k in declared}
    if OVERRIDES in declared:
        given[OVERRIDES] = dict(overrides)
    parameters = {**notebook_parameters(name, profile), **given}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParameterError(f"notebook {name} has no parameter {', '.join(unknown)}; "
                        f"its parameters are: {', '.join(sorted(declared))}")
    return parameters


def other_chapter_parameters(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Chapter ``name``'s parameters as this build resolves them, for the chapter whose parameters are ``params``
    and which reuses ``name``'s artefacts: ``params["profile"]`` with the build's ``--set`` values
    (``params["overrides"]``, filled by the runner; none when absent). Raises ``ParameterError`` as
    :func:`resolve_parameters`."""
    return resolve_parameters(name, params["profile"], params.get(OVERRIDES, {}))


def notebook_parameters(notebook: str, profile: str) -> dict[str, Any]:
    """Every parameter ``notebook`` gets under ``profile``: its ``parameters`` cell's values with the profile's
    changes, ``profile`` itself included (a new dict each call). Raises ``ValueError`` for an unknown notebook
    or profile. A chapter that reuses another's runs reads that chapter's parameters with the build's ``--set``
    values through :func:`other_chapter_parameters` instead (e.g. ``lz_boundary`` those of
    ``lz_transfer``, whose shadow models it reuses)."""
    check_profile(profile)
    if notebook not in ALL_NOTEBOOKS:
        raise ValueError(f"unknown notebook {notebook!r}; known: {', '.join(ALL_NOTEBOOKS)}")
    return {**_cell_values(notebook), "profile": profile, **NOTEBOOK_PARAMETERS.get(notebook, {}).get(profile, {})}


def declared_defaults(notebook: str) -> dict[str, Any]:
    """The values of ``notebook``'s ``parameters`` cell, i.e. the parameters it declares (a new dict each call).
    Raises ``FileNotFoundError`` when the notebook has no source."""
    return dict(_cell_values(notebook))


@functools.lru_cache(maxsize=32)
def _cell_values(notebook: str) -> dict[str, Any]:
    """The values of ``notebook``'s ``parameters`` cell (read once per process; callers copy)."""
    import jupytext

    return declared_parameters(jupytext.read(notebook_source(notebook)))
