"""CONTRIBUTING.md's worked examples run as written, so the guide cannot rot.

Every ```python block of a numbered section starts with a comment saying where its code goes (see the guide's
first paragraph); the blocks of one section are applied to the package *in this process only*, in order:

- a new module (``# src/leakage/<path>.py``) becomes importable under its dotted name (an import hook serves the
  block's text), a new notebook (``# notebooks/<name>.py``) is written to a scratch folder the parameter layer
  reads;
- an entry (``in NAME, before "X":`` / ``at the end:``) or code above a name (``before NAME:``) is inserted into
  the module's source text, the edited source is executed as a fresh namespace, and every value it changed
  (``CHAPTERS``, the lists derived from it, ...) replaces the old one in every ``leakage`` module that holds it;
- a test file's ``test_*`` functions are called (``tmp_path`` given).

The section's new notebooks are then executed in this process with their resolved smoke parameters (the
in-process hook serves their imports; the book runner's papermill kernel could not see it). Everything is undone
afterwards (monkeypatch; the hook, the new modules and stages removed; modules first imported meanwhile
get the old values back). The "Layers" block must be
``tests/test_layers.py``'s ``LAYERS``; the "Before you push" commands must be the README's.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import inspect
import io
import re
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from leakage.registry import REGISTRY  # the package's own, as it is before any example runs

GUIDE = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"
README = Path(__file__).resolve().parents[1] / "README.md"

HEADER = re.compile(r"# (?P<path>[\w./-]+\.py)(?:, (?P<where>[^:]+))?:?")
WHERE = re.compile(r'in (?P<name>\w+), (?:before "(?P<marker>[^"]+)"|(?P<end>at the end))|before (?P<above>\w+)')


def sections() -> dict[str, str]:
    """Heading (without the ``## ``) -> the section's text, for every ``##`` section of the guide."""
    parts = re.split(r"^## (.+)$", GUIDE.read_text(), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def blocks(text: str, language: str) -> list[str]:
    """Every fenced block of ``language`` in ``text``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


WORKED = [title for title, text in sections().items() if re.match(r"\d+\. ", title) and blocks(text, "python")]


def module_name(path: str) -> str:
    """``src/leakage/attacks/x.py`` -> ``leakage.attacks.x``."""
    if not path.startswith("src/leakage/"):
        raise ValueError(f"a module of the package lives under src/leakage/, not {path}")
    return ".".join(Path(path).relative_to("src").with_suffix("").parts)


class GuideModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: dotted name -> (path, source) of the guide's new modules."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, str]] = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.sources:
            return importlib.util.spec_from_loader(fullname, self, origin=self.sources[fullname][0])
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        path, source = self.sources[module.__name__]
        module.__file__ = path
        exec(compile(source, f"CONTRIBUTING.md: {path}", "exec"), module.__dict__)  # noqa: S102 (the guide's code)


def _assignment(tree: ast.Module, name: str) -> ast.stmt:
    """The top-level statement that assigns ``name``."""
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node
    raise AssertionError(f"the guide edits {name}, which the module does not assign at its top level")


def insert(source: str, where: str, code: str) -> str:
    """``source`` with ``code`` inserted where ``where`` says (``in NAME, before "X"``, ``in NAME, at the end``,
    ``before NAME``): whole lines where the spot starts a line (an entry ``"X": ...`` or ``Chapter("X", ...``),
    else inline."""
    spot = WHERE.fullmatch(where)
    assert spot, f"unknown place {where!r} in a block header of CONTRIBUTING.md"
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    code = textwrap.dedent(code).strip("\n")

    def line_insert(index: int, indent: str) -> str:
        return "".join(lines[:index]) + textwrap.indent(code, indent) + "\n" + "".join(lines[index:])

    node = _assignment(ast.parse(source), spot["name"] or spot["above"])
    if spot["above"]:  # a definition of its own, two blank lines below it
        return "".join(lines[:node.lineno - 1]) + code + "\n\n\n" + "".join(lines[node.lineno - 1:])
    begin, end = starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset
    if spot["marker"]:
        at = source.find(f'"{spot["marker"]}"', begin, end)
        assert at >= 0, f'{spot["name"]} has no "{spot["marker"]}"'
    else:
        at = end - 1  # the closing bracket of the value
    row = next(i for i in range(len(lines)) if starts[i] <= at < starts[i + 1])
    before = source[starts[row]:at]
    if re.fullmatch(r"\s*(\w+\()?", before):  # the spot starts its line: an entry per line
        indent = re.match(r"\s*", before)[0] + ("    " if spot["end"] else "")
        return line_insert(row, indent)
    entry = code.strip().rstrip(",")
    if spot["end"]:
        glue = " " if source[:at].rstrip().endswith(",") else ", "
        return source[:at].rstrip() + glue + entry + source[at:]
    return source[:at] + entry + ", " + source[at:]


def _defined_in(value, module: str) -> bool:
    """A function or class the edited module's own source defines (the old ones keep working on its globals)."""
    return (inspect.isclass(value) or inspect.isfunction(inspect.unwrap(value))) and value.__module__ == module


def _same(old, new) -> bool:
    try:
        return bool(old == new)
    except Exception:  # noqa: BLE001 (arrays and the like: treat as changed)
        return False


def package_modules() -> list:
    """The loaded modules of the package."""
    return [m for name, m in list(sys.modules.items()) if name == "leakage" or name.startswith("leakage.")]


class Tree:
    """The package as the guide's blocks change it, in this process."""

    def __init__(self, monkeypatch, tmp_path: Path):
        self.monkeypatch, self.tmp_path = monkeypatch, tmp_path
        self.hook = GuideModules()
        self.edited: dict[str, str] = {}  # module -> its source with the edits so far
        self.notebooks: dict[str, Path] = {}
        self.replaced: list[tuple[object, object]] = []  # (old, new) values

    def replace_everywhere(self, old, new) -> None:
        """Every attribute of a loaded ``leakage`` module that is ``old`` becomes ``new`` (undone by
        :meth:`restore`)."""
        self.replaced.append((old, new))
        for module in package_modules():
            for attribute, value in list(vars(module).items()):
                if value is old:
                    self.monkeypatch.setattr(module, attribute, new)

    def restore(self) -> None:
        """Undo the replacements in the modules first imported while they held (monkeypatch undoes the rest)."""
        for old, new in reversed(self.replaced):
            for module in package_modules():
                for attribute, value in list(vars(module).items()):
                    if value is new:
                        setattr(module, attribute, old)

    def new_module(self, path: str, source: str) -> None:
        self.hook.sources[module_name(path)] = (path, source)

    def new_notebook(self, path: str, source: str) -> None:
        if not self.notebooks:  # the runner reads the guide's notebooks from tmp_path
            from leakage import book

            real = book.notebook_source
            self.replace_everywhere(real, lambda name: self.notebooks.get(name) or real(name))
        name = Path(path).stem
        self.notebooks[name] = self.tmp_path / "notebooks" / f"{name}.py"
        self.notebooks[name].parent.mkdir(exist_ok=True)
        self.notebooks[name].write_text(source)

    def edit(self, path: str, where: str, code: str) -> None:
        name = module_name(path)
        module = importlib.import_module(name)
        source = insert(self.edited.get(name) or Path(module.__file__).read_text(), where, code)
        self.edited[name] = source
        namespace = {"__name__": name, "__file__": module.__file__, "__package__": module.__package__}
        exec(compile(source, f"{path} as CONTRIBUTING.md edits it", "exec"), namespace)  # noqa: S102
        for attribute, new in namespace.items():
            if attribute.startswith("__") or _defined_in(new, name):
                continue
            if not hasattr(module, attribute):
                self.monkeypatch.setattr(module, attribute, new, raising=False)
            elif isinstance(getattr(module, attribute), (str, bytes, int, float, type(None))):
                self.monkeypatch.setattr(module, attribute, new)  # a constant: only here (others may share it)
            elif not _same(getattr(module, attribute), new):
                self.replace_everywhere(getattr(module, attribute), new)

    def run_tests(self, path: str, source: str) -> list[str]:
        namespace = {"__name__": Path(path).stem, "__file__": path}
        exec(compile(source, f"CONTRIBUTING.md: {path}", "exec"), namespace)  # noqa: S102
        tests = [v for k, v in namespace.items() if k.startswith("test_") and inspect.isfunction(v)]
        assert tests, f"{path} in CONTRIBUTING.md has no test function"
        for test in tests:
            folder = self.tmp_path / test.__name__
            folder.mkdir()
            test(**{p: folder for p in inspect.signature(test).parameters if p == "tmp_path"})
        return [t.__name__ for t in tests]

    def execute_notebook(self, name: str) -> str:
        """Run notebook ``name``'s code cells here, with the smoke profile and no ``--set`` values (what its
        ``parameters`` cell holds: the runner's papermill would inject the same); returns what it printed."""
        import jupytext

        namespace: dict = {"__name__": "__main__"}
        out = io.StringIO()
        with redirect_stdout(out):
            for cell in jupytext.read(self.notebooks[name]).cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"notebooks/{name}.py", "exec"), namespace)  # noqa: S102
        return out.getvalue()


@pytest.fixture
def tree(monkeypatch, tmp_path):
    from leakage.experiments import jobs

    monkeypatch.setenv("LEAKAGE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    stages = dict(jobs.STAGES)
    built = Tree(monkeypatch, tmp_path)
    sys.meta_path.insert(0, built.hook)
    try:
        yield built
    finally:
        sys.meta_path.remove(built.hook)
        built.restore()
        for name in built.hook.sources:
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if hasattr(sys.modules.get(parent), child):
                delattr(sys.modules[parent], child)
        jobs.STAGES.clear()
        jobs.STAGES.update(stages)


@pytest.mark.parametrize("title", WORKED)
def test_worked_example_runs_as_written(title, tree):
    ran: list[str] = []
    for index, block in enumerate(blocks(sections()[title], "python")):
        first, _, body = block.partition("\n")
        header = HEADER.fullmatch(first)
        assert header, f"block {index} of '{title}' does not start with '# <path>' (see the guide's first list)"
        path, where = header["path"], header["where"]
        if where:
            tree.edit(path, where, body)
        elif path.startswith("src/"):
            tree.new_module(path, body)
        elif path.startswith("notebooks/"):
            tree.new_notebook(path, body)
        elif path.startswith("tests/"):
            ran += tree.run_tests(path, body)
        else:
            raise AssertionError(f"block {index} of '{title}': nothing goes to {path}")
    assert ran, f"'{title}' has no test that checks it"
    for name in tree.notebooks:
        assert tree.execute_notebook(name).strip(), f"notebook {name} of '{title}' printed nothing"


def test_the_guide_has_the_four_worked_examples():
    assert [t.split(" ", 1)[1] for t in WORKED] == ["Add an attack", "Add a chapter", "Add a data set",
                                                     "Add a profile value"]


def test_the_guide_leaves_the_package_as_it_was():
    from leakage import book, chapters, registry
    from leakage.chapters import ALL_NOTEBOOKS, toc_yaml
    from leakage.data.vision import VISION_DATASETS
    from leakage.experiments import jobs, plan

    assert "toy" not in ALL_NOTEBOOKS + book.ALL_NOTEBOOKS and "toy" not in plan.PLANNERS
    assert "generated/toy\n" not in toc_yaml() and not [c for c in chapters.CHAPTERS if c.name == "toy"]
    assert "shapes" not in VISION_DATASETS and "confidence" not in registry.attack_names(aliases=True)
    assert registry.REGISTRY is REGISTRY and registry.register.__self__ is REGISTRY
    assert book.notebook_source.__name__ == "notebook_source"  # not the examples' stand-in
    assert not [m for m in sys.modules if m in ("leakage.attacks.confidence", "leakage.experiments.toy")]
    assert not [t for t in jobs.STAGES if t.__name__ == "CoinJob"]


def test_the_layers_are_the_tested_ones():
    from test_layers import LAYERS

    (text,) = blocks(sections()["Layers"], "text")
    assert tuple(tuple(line.split(", ")) for line in text.splitlines()) == LAYERS


def test_the_commands_before_you_push_are_the_readmes():
    (text,) = blocks(sections()["Before you push"], "bash")
    readme = README.read_text()
    for command in text.splitlines():
        assert command.strip() and command.strip() in readme, f"the README has no {command!r}"
