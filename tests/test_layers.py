"""The package's layers: every import between its units goes down the declared order, and none forms a cycle.

A *unit* is a top-level module or folder of ``src/leakage`` (``book``, ``experiments``, ``lm``, ...). The order
is DESIGN.md's: the runner on top, the experiments (the chapters' plans, jobs and frames) below it, then the API,
the attacks and their kin, their building blocks, and the small helpers everything uses. A unit may import a
unit of its own layer or a lower one (late imports inside functions included), never a higher one, and the
import graph between units has no cycle. A new module must be given a layer here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "leakage"

#: Top to bottom; units of one layer may import each other (the graph must stay acyclic).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("book", "sphinx_csv_links"),
    ("grid",),
    ("experiments",),
    ("api",),
    ("attacks", "defenses", "lm", "vp", "claims", "audit", "certify", "figures"),
    ("data", "models", "train", "membership", "publish", "analysis"),
    ("store", "metrics", "results", "inputs"),
    ("chapters", "parameters", "profiles", "registry", "permissions", "progress", "caller_state"),
    ("seed", "config", "checks", "paths", "device"),
)
RANK = {unit: rank for rank, layer in enumerate(LAYERS) for unit in layer}


def unit_of(module: str) -> str:
    """``leakage.lm.attacks.loss`` -> ``lm``; ``leakage`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def import_arrows(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> the imports that draw the arrow (``module -> module``), between
    distinct units of ``package``, from every ``import``/``from ... import`` statement anywhere in a file."""
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in package.rglob("*.py"):
        relative = path.relative_to(package.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        source = unit_of(module) if len(relative.parts) > 2 or relative.name != "__init__" else "__init__"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = ([f"leakage.{a.name}" for a in node.names] if node.module == "leakage" else [node.module])
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "leakage" and unit_of(name) not in (source, "__init__"):
                    arrows[source, unit_of(name)].append(f"{module} -> {name}")
    return dict(arrows)


def cycles(arrows) -> list[list[str]]:
    """The strongly connected components of more than one unit (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in arrows:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(graph) | {b for _, b in arrows}):
        if v not in index:
            visit(v)
    return found


def test_every_unit_of_the_package_has_a_layer():
    units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert not sorted(units - set(RANK)), "give these units a layer in LAYERS"
    assert not sorted(set(RANK) - units), "these layered units no longer exist"


def test_no_import_goes_up_a_layer():
    upward = {f"{a} -> {b}": where for (a, b), where in import_arrows().items()
              if a != "__init__" and RANK[a] > RANK[b]}
    assert not upward, f"imports that go up a layer: {upward}"


def test_the_units_import_each_other_without_a_cycle():
    arrows = import_arrows()
    found = cycles(arrows)
    detail = {" / ".join(c): [w for (a, b), ws in arrows.items() if a in c and b in c for w in ws] for c in found}
    assert not found, f"import cycles: {detail}"


@pytest.mark.parametrize(("arrows", "expected"), [
    ({("a", "b"): [], ("b", "a"): []}, [["a", "b"]]),
    ({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}, [["a", "b", "c"]]),
    ({("a", "b"): [], ("b", "c"): []}, []),
])
def test_the_cycle_finder_finds_cycles(arrows, expected):
    assert cycles(arrows) == expected


def test_the_arrow_finder_sees_late_imports(tmp_path):
    package = tmp_path / "leakage"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "helper.py").write_text("def f():\n    from leakage.high import g\n    return g\n")
    (package / "high.py").write_text("from leakage.low.helper import f\nimport leakage.low\n")
    assert set(import_arrows(package)) == {("low", "high"), ("high", "low")}
    assert cycles(import_arrows(package)) == [["high", "low"]]


def module_arrows(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """(importing module, imported module) between the modules of ``package`` (an import of a name from a package
    counts as an import of that name's module when one exists), from every import statement, typing-only ones
    included."""
    root = package.parent
    modules = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for p in package.rglob("*.py")}
    arrows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in package.rglob("*.py"):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                         for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name in modules]
            else:
                continue
            for name in names:
                if name != module:
                    arrows[module, name].append(f"line {node.lineno}")
    return dict(arrows)


def test_no_two_modules_import_each_other():
    found = cycles(module_arrows())
    assert not found, f"module import cycles: {found}"


def test_the_module_walker_sees_typing_only_imports(tmp_path):
    package = tmp_path / "leakage"
    (package / "part").mkdir(parents=True)
    for init in (package / "__init__.py", package / "part" / "__init__.py"):
        init.write_text("")
    (package / "part" / "configs.py").write_text("from leakage.part.data import digest\n")
    (package / "part" / "data.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from leakage.part.configs import Config\n")
    assert cycles(module_arrows(package)) == [["leakage.part.configs", "leakage.part.data"]]
