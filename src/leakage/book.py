"""The book runner: compute the build's experiment plan on Dask, execute every notebook with papermill, then
build the Jupyter Book.

Notebooks are jupytext percent-format ``notebooks/<name>.py`` files with a cell tagged ``parameters``. The
runner resolves and checks every notebook's parameters, computes the plan of their artefacts
(:func:`leakage.experiments.plan.plan_for`) on a local Dask cluster, then executes the notebooks on the same
workers (they load the artefacts, narrate and plot; the summary pages, which read every chapter's tables,
after the chapters) and writes each to ``book/generated/<name>.ipynb``, which the book renders without
re-executing. Every task and notebook gets the same CPU threads (``--threads``; default: the cores shared
among the workers).

Each executed notebook hides its parameter cells (the defaults and papermill's injected values) behind a
collapsed "Parameters of this build" table (:func:`present_parameters`); while the notebooks run, a progress
line says which run, for how long, and how long is left by the previous build's timings
(``results/<profile>/.notebook_timings.json``). The book build tells :mod:`leakage.sphinx_csv_links`, which links
every caption to its item's CSV, the profile (``$LEAKAGE_BOOK_PROFILE``).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakage.device import thread_env
from leakage.chapters import (ALL_NOTEBOOKS, CHAPTER_NOTEBOOKS, SUMMARY_NOTEBOOKS, UNPLANNED, chapter_parameters,
                              declared_anywhere, toc_yaml)
from leakage.paths import absolute_path, pin_environment_paths, project_root, store_root
from leakage.parameters import ChapterParameters, ParameterError
from leakage.profiles import check_profile
from leakage.progress import estimate_left, format_duration
from leakage.store import FORCE_ENV, atomic_path

PROFILE_ENV = "LEAKAGE_BOOK_PROFILE"  # the book build's profile, for leakage.sphinx_csv_links
NOTEBOOK_EVENTS = "leakage-notebook"  # Dask event topic: a worker starts executing a notebook
PARAMETERS_TAG = "leakage-parameters"  # the markdown cell that shows a page's parameters


class BookError(RuntimeError):
    """A failure the user can act on; its message says what and where."""


@dataclass(frozen=True)
class NotebookResult:
    """What became of one notebook."""

    name: str
    output: Path
    seconds: float


def notebook_source(name: str) -> Path:
    """``notebooks/<name>.py``."""
    return project_root() / "notebooks" / f"{name}.py"


def generated_dir() -> Path:
    """``book/generated/``: executed notebooks, rendered by the book."""
    return project_root() / "book" / "generated"


def _as_json(value: Any) -> Any:
    """``value`` as the executed notebook's JSON would hold it (tuples as lists), for comparing values."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def _code(value: Any) -> str:
    """``value``'s Python literal as inline code in a Markdown table cell (what ``--set NAME=VALUE`` takes)."""
    text = repr(value).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def parameters_markdown(values: Mapping[str, Any], defaults: Mapping[str, Any], comments: Mapping[str, str],
                        profile: str) -> str:
    """A collapsed MyST ``{dropdown}`` (sphinx-design) titled "Parameters of this build (profile P)" holding a
    table: each parameter (the defaults' order, then any others), its value in this build and its meaning
    (``comments``); where some value differs from its default (the smoke profile's), a "Smoke default" column
    shows the default beside it and those rows are in bold."""
    names = list(defaults) + [n for n in values if n not in defaults]
    value = {name: values.get(name, defaults.get(name)) for name in names}
    changed = [n for n in names if n not in defaults or _as_json(value[n]) != _as_json(defaults[n])]
    meaning = {name: comments.get(name, "").replace("|", "\\|") for name in names}
    if changed:
        header = ["| Parameter | This build | Smoke default | Meaning |", "| --- | --- | --- | --- |"]
        rows = [f"| **`{n}`** | **{_code(value[n])}** | "
                f"{_code(defaults[n]) if n in defaults else '(not a declared parameter)'} | {meaning[n]} |"
                if n in changed else f"| `{n}` | {_code(value[n])} | | {meaning[n]} |" for n in names]
        summary = (f"The values this page was computed with; the {len(changed)} in bold differ from the "
                   f"defaults, the smoke profile's (shown beside them).")
    else:
        header = ["| Parameter | This build | Meaning |", "| --- | --- | --- |"]
        rows = [f"| `{n}` | {_code(value[n])} | {meaning[n]} |" for n in names]
        summary = "The values this page was computed with: all of them the defaults, the smoke profile's."
    return "\n".join([
        f"```{{dropdown}} Parameters of this build (profile {profile})",
        f"{summary} Rebuild with others by `python -m leakage book --profile {profile} --set NAME=VALUE`.",
        "",
        *header,
        *rows,
        "```",
    ])


def _tagged(notebook, tag: str) -> list:
    """The notebook's cells tagged ``tag``."""
    return [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]


def present_parameters(notebook, parameters: ChapterParameters):
    """Hide an executed notebook's parameter code cells (its ``parameters`` cell and papermill's
    ``injected-parameters``) with ``remove-cell``, and show instead, right after them, a markdown cell with
    :func:`parameters_markdown` of ``parameters`` (the chapter's resolved parameters: values, defaults and
    meanings from its class; tagged ``leakage-parameters``; one replaces any earlier one).
    Modifies and returns ``notebook``; ``BookError`` when it has no single ``parameters`` cell."""
    import nbformat

    defaults_cells = _tagged(notebook, "parameters")
    if len(defaults_cells) != 1:
        raise BookError(f"a notebook needs exactly one cell tagged 'parameters', found {len(defaults_cells)}")
    injected_cells = _tagged(notebook, "injected-parameters")
    notebook.cells = [c for c in notebook.cells if PARAMETERS_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in [*defaults_cells, *injected_cells]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "remove-cell" not in tags:
            tags.append("remove-cell")
    klass = type(parameters)
    values = {k: v for k, v in parameters.values().items() if k != "profile"}
    table = nbformat.v4.new_markdown_cell(
        parameters_markdown(values, klass.defaults(), klass.docs(), parameters.profile))
    table.metadata["tags"] = [PARAMETERS_TAG]
    last = max(notebook.cells.index(c) for c in [*defaults_cells, *injected_cells])
    notebook.cells.insert(last + 1, table)
    return notebook


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["epochs=3", "datasets=['digits']"]`` -> ``{"epochs": 3, "datasets": ["digits"]}`` (bare words stay strings).

    Types are checked against each parameter's declared type by :meth:`ChapterParameters.resolve`.
    """
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise BookError(f"--set takes NAME=VALUE, got {item!r}")
        try:
            overrides[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[name] = text
    return overrides


#: Notebook parameters that name a file or folder -> whether the value may instead be a name that is no path (a
#: Hugging Face id such as ``microsoft/codebert-base``, or an alias such as ``smollm2-135m``).
PATH_PARAMETERS: dict[str, bool] = {"data_path": False, "codebert_path": True, "model": True, "pretrained_model": True}


def absolute_parameter_paths(values: Mapping[str, Any], cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``values`` (parameter -> value) with each path parameter (:data:`PATH_PARAMETERS`) given as a relative path
    made absolute against ``cwd`` (default: the working directory), once, by the runner: the plan's workers and
    the notebook kernels (which run in the project root) then read the same file. A parameter that may also be a
    Hub id or an alias is taken as a path only when it is written as one (starts with ``/``, ``~``, ``./`` or
    ``../``) or names something that exists under ``cwd``. Empty values and None stay as they are."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    out = dict(values)
    for name, value in values.items():
        if name in PATH_PARAMETERS and isinstance(value, str) and value:
            written_as_path = value.startswith(("/", "~", "./", "../")) or value in (".", "..")
            if not PATH_PARAMETERS[name] or written_as_path or (base / value).exists():
                out[name] = str(absolute_path(value, base))
    return out


def log_file(name: str) -> Path:
    """``book/generated/<name>.log``: the kernel's stderr during the last execution of ``name``."""
    return generated_dir() / f"{name}.log"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point file descriptor 2 (inherited by the kernel process) at ``path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def move_stderr_to_log(notebook_path: Path, log: Path) -> int:
    """Take the cells' stderr outputs (library warnings, progress bars) out of the executed notebook and append
    them to ``log``, so the book shows results only; returns how many were moved."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    moved = []
    for index, cell in enumerate(notebook.cells):
        outputs = cell.get("outputs", [])
        keep = [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        moved += [f"--- cell {index} stderr ---\n{o['text']}" for o in outputs if o not in keep]
        if len(keep) != len(outputs):
            cell["outputs"] = keep
    if moved:
        with open(log, "a") as handle:
            handle.write("\n".join(moved) + "\n")
        nbformat.write(notebook, notebook_path)
    return len(moved)


THREADS_CELL = ("from leakage.device import apply_threads\n\n"
                "apply_threads({threads})  # set by the book runner, which owns CPU threads and the allocator")


def prepare_notebook(name: str, threads: int):
    """``notebooks/<name>.py`` as the runner executes it: a hidden first cell calls
    :func:`leakage.device.apply_threads` with ``threads`` (CPU threads and the allocator: the runner owns that
    setting, no notebook sets it), and the parameters cell is hidden
    (the book shows the injected values, not the defaults)."""
    import jupytext
    import nbformat

    notebook = jupytext.read(notebook_source(name))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "parameters" in tags:
            tags.append("remove-cell")
    first = nbformat.v4.new_code_cell(THREADS_CELL.format(threads=int(threads)))
    first.metadata["tags"] = ["remove-cell", "leakage-threads"]
    notebook.cells.insert(0, first)
    return notebook


def execute_notebook(name: str, parameters: ChapterParameters, threads: int | None = None,
                     overrides: Mapping[str, Any] | None = None) -> NotebookResult:
    """Run ``notebooks/<name>.py`` and write ``book/generated/<name>.ipynb`` atomically.

    The notebook receives ``profile`` (of ``parameters``, the chapter's resolved parameters) and ``overrides``
    (the build's ``--set`` values), from which it resolves the same parameters
    (:func:`leakage.chapters.chapter_parameters`); the page shows ``parameters`` in a table.

    ``threads`` fixes the kernel's CPU threads (torch's, and through :func:`leakage.device.thread_env` those of the
    BLAS libraries below it); None: every core of this machine.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    threads = threads or os.cpu_count() or 1
    os.environ.update(thread_env(threads))
    out_dir = generated_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{name}.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"leakage-{name}-") as tmp:
        source, executed = Path(tmp) / f"{name}.ipynb", Path(tmp) / f"{name}.executed.ipynb"
        nbformat.write(prepare_notebook(name, threads), source)
        try:
            with _stderr_to(log_file(name)):  # the kernel's own chatter goes to the log, not the terminal
                given = {"profile": parameters.profile, "overrides": dict(overrides or {})}
                papermill.execute_notebook(source, executed, parameters=given, kernel_name="python3",
                                           cwd=str(project_root()), progress_bar=False)
        except PapermillExecutionError as err:
            failed = out_dir / f"{name}.failed.ipynb"
            if executed.exists():
                shutil.copy(executed, failed)
            first_line = next((line for line in err.source.splitlines() if line.strip()), "")
            raise BookError(
                f"notebook {name} ({notebook_source(name)}) failed in cell {err.cell_index} "
                f"(starting `{first_line.strip()}`): {err.ename}: {err.evalue}\n"
                f"the notebook as executed up to the failure is at {failed}; kernel log: {log_file(name)}") from None
        move_stderr_to_log(executed, log_file(name))
        nbformat.write(present_parameters(nbformat.read(executed, as_version=4), parameters), executed)
        os.replace(executed, output)
    (out_dir / f"{name}.failed.ipynb").unlink(missing_ok=True)
    return NotebookResult(name, output, time.perf_counter() - start)


def _execute_on_worker(name: str, parameters: ChapterParameters, threads: int,
                       overrides: Mapping[str, Any]) -> NotebookResult:
    """Dask task: tell the client that ``name`` starts (a ``leakage-notebook`` event), then execute it."""
    from distributed import get_worker

    with contextlib.suppress(ValueError):  # not on a Dask worker: nobody to tell
        get_worker().log_event(NOTEBOOK_EVENTS, {"name": name, "start": time.time()})
    return execute_notebook(name, parameters, threads, overrides)


@dataclass
class NotebookProgress:
    """Where a run of notebooks stands, and its progress line.

    ``stages``: the notebooks in the order they are queued, stage by stage (the chapters, then the summary
    pages, which start once every chapter has finished); ``expected``: seconds each took in the last build
    (missing when unknown); ``workers``: notebooks that run at once. Times are UNIX seconds.
    """

    stages: list[list[str]]
    expected: dict[str, float]
    workers: int
    started: dict[str, float] = field(default_factory=dict)  # running (or finished): when it started
    finished: dict[str, float] = field(default_factory=dict)  # name -> seconds it took
    failed: list[str] = field(default_factory=list)

    def left(self, now: float) -> float | None:
        """Seconds until every notebook has run, by the last build's timings (a running notebook past its
        expected time counts as about to finish); None while a notebook still to finish has no timing."""
        stopped = set(self.finished) | set(self.failed)
        running = [n for n in self.started if n not in stopped]
        queued = [[n for n in stage if n not in stopped and n not in self.started] for stage in self.stages]
        if any(n not in self.expected for n in running + [n for stage in queued for n in stage]):
            return None
        busy = [max(self.expected[n] - (now - self.started[n]), 0.0) for n in running]
        current = next((i for i, stage in enumerate(self.stages) if set(stage) - stopped), len(self.stages))
        return estimate_left(busy[:self.workers], [[self.expected[n] for n in stage] for stage in queued[current:]],
                             self.workers)

    def line(self, now: float) -> str:
        """``notebooks: 4/11 done, running lz_boundary (32 s), ~2 min left (from the last build's timings)``."""
        total = sum(len(stage) for stage in self.stages)
        stopped = set(self.finished) | set(self.failed)
        running = [n for n in self.started if n not in stopped]
        parts = [f"notebooks: {len(self.finished)}/{total} done"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if running:
            parts.append("running " + ", ".join(f"{n} ({format_duration(now - self.started[n])})" for n in running))
        if len(stopped) < total:
            left = self.left(now)
            if left is not None:
                parts.append(f"~{format_duration(left)} left (from the last build's timings)")
            else:
                unknown = [n for stage in self.stages for n in stage if n not in stopped and n not in self.expected]
                parts.append(f"no estimate ({', '.join(unknown)} not timed in an earlier build)")
        return ", ".join(parts)


def run_notebooks(names: list[str], params: Mapping[str, ChapterParameters], client, threads: int,
                  log: Callable[[str], None], every: float = 30.0, overrides: Mapping[str, Any] | None = None) -> None:
    """Execute ``names`` on ``client``'s workers, each with ``threads`` CPU threads and its resolved parameters
    (``params``; ``overrides``: the build's ``--set`` values, handed to every notebook); the summary pages after
    every chapter of the run. Raises ``BookError`` with every failed notebook's message once all have stopped.

    ``log`` receives a line per executed notebook and a :class:`NotebookProgress` line at the start, about a
    second after each notebook finishes, every ``every`` seconds meanwhile and at the end; each notebook's
    seconds go to ``results/<profile>/.notebook_timings.json`` for the next build's estimate.
    """
    from distributed import wait

    from leakage.results import notebook_timings, record_notebook_timing

    chapters = [n for n in names if n not in SUMMARY_NOTEBOOKS]
    summaries = [n for n in names if n in SUMMARY_NOTEBOOKS]
    previous = {profile: notebook_timings(profile) for profile in {params[n].profile for n in names}}
    expected = {n: previous[params[n].profile][n] for n in names if n in previous[params[n].profile]}
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    tracker = NotebookProgress([chapters, summaries], expected, workers)
    errors: list[str] = []
    seen_events = 0

    def run(batch: list[str]) -> None:
        nonlocal seen_events
        futures = {client.submit(_execute_on_worker, n, params[n], threads, dict(overrides or {}),
                                 key=f"notebook-{n}", pure=False): n for n in batch}
        pending, report_at = set(futures), time.monotonic() + every
        while pending:
            try:
                done = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            events = client.get_events(NOTEBOOK_EVENTS)
            for _, event in events[seen_events:]:
                tracker.started.setdefault(event["name"], event["start"])
            seen_events = len(events)
            for future in done:
                pending.discard(future)
                name = futures[future]
                try:
                    result = future.result()
                except BookError as err:
                    errors.append(str(err))
                    tracker.failed.append(name)
                    continue
                tracker.finished[name] = result.seconds
                tracker.started.setdefault(name, time.time() - result.seconds)
                record_notebook_timing(params[name].profile, name, result.seconds)
                shown = result.output.relative_to(project_root()) \
                    if result.output.is_relative_to(project_root()) else result.output
                log(f"executed {result.name} in {result.seconds:.0f} s -> {shown}")
            if done:  # report a tick later, once the freed worker's next notebook has said it started
                report_at = min(report_at, time.monotonic() + 1.0)
            if pending and time.monotonic() >= report_at:
                report_at = time.monotonic() + every
                log(tracker.line(time.time()))

    log(tracker.line(time.time()))
    run(chapters)
    if not errors:
        run(summaries)
    log(tracker.line(time.time()))
    if errors:
        raise BookError("\n".join(errors))


def resolve_build(names: list[str], profile: str, values: Mapping[str, Any]) -> dict[str, ChapterParameters]:
    """Chapter -> its parameters under ``profile`` with the ``--set`` values ``values``, for every chapter of
    ``names``. Raises ``BookError`` for a value of the wrong type, or one that no chapter of the run (nor a chapter
    it reuses) declares."""
    try:
        params = {n: chapter_parameters(n, profile, values) for n in names}
    except ParameterError as err:
        raise BookError(str(err)) from None
    used = {k for p in params.values() for k in type(p).declared()}
    used |= {k for p in params.values() for reused in type(p).reused().values() for k in reused.declared()}
    unused = sorted(set(values) - used)
    if unused:
        elsewhere = sorted(set(unused) & declared_anywhere())
        hint = f" (declared by chapters outside this run: {', '.join(elsewhere)})" if elsewhere else ""
        raise BookError(f"no notebook of this run has a parameter {', '.join(unused)}{hint}")
    return params


def write_placeholders() -> list[str]:
    """Give every page not generated yet a one-cell notebook that says how to generate it; returns their names."""
    import nbformat

    missing = [n for n in ALL_NOTEBOOKS if not (generated_dir() / f"{n}.ipynb").exists()]
    for name in missing:
        text = (f"# {name}\n\nThis page has not been generated in this build. Run\n"
                f"`python -m leakage book --profile default --only {name}` to generate it.")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
        nbformat.write(notebook, generated_dir() / f"{name}.ipynb")
    return missing


def write_toc(path: Path) -> None:
    """Write the table of contents derived from :data:`leakage.chapters.CHAPTERS` to ``path`` (atomically; left
    alone when it is current, so a read-only checkout builds)."""
    text = toc_yaml()
    if path.exists() and path.read_text() == text:
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def build_html(profile: str | None = None) -> Path:
    """Build the book from the executed notebooks (no re-execution); returns the HTML folder.

    ``profile``: the build's profile, passed to :mod:`leakage.sphinx_csv_links` as ``$LEAKAGE_BOOK_PROFILE``
    (it links the captions of pages that do not record their own profile to ``results/<profile>/``)."""
    root = project_root()
    generated_dir().mkdir(parents=True, exist_ok=True)
    write_placeholders()
    write_toc(root / "_toc.yml")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", "book",
               "--warningiserror", "--keep-going", "--quiet"]
    env = {**os.environ, PROFILE_ENV: profile} if profile else None
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise BookError(f"jupyter-book build failed (exit {done.returncode}):\n{tail}")
    return root / "_build" / "html"


def compute_plan(params: Mapping[str, ChapterParameters], client, threads: int, log=print) -> None:
    """Compute the plan of the notebooks in ``params`` on ``client``'s workers (``threads`` torch threads per
    task). Raises ``BookError`` listing the failed tasks (with their job and traceback) when any failed."""
    from leakage.experiments.plan import plan_for
    from leakage.grid import run_plan as run_on_dask

    planned = plan_for(params)
    if not len(planned):
        return
    report = run_on_dask(planned, client, threads=threads, store_root=str(store_root()), echo=log)
    log(f"plan: {len(report.done)} of {len(planned)} artefacts ready in {report.seconds:.0f} s")
    if not report.ok:
        details = "\n\n".join(f"{name}:\n{text}" for name, text in report.failed.items())
        raise BookError(f"{len(report.failed)} planned task(s) failed ({len(report.not_run)} more not run because "
                        f"they needed them); fix and re-run (finished artefacts are kept):\n{details}")


def unplanned(since: float) -> list[dict[str, Any]]:
    """Artefacts the store computed after ``since`` (epoch seconds): after the plan ran, the notebooks' misses."""
    from leakage.store import Store

    return Store().computed(since)


def run_book(profile: str, *, only: list[str] | None = None, jobs: int = 2, force: bool = False,
             overrides: list[str] | None = None, build: bool = True, threads: int | None = None,
             plan: bool = True, check_plan: bool = False, log=print) -> Path | None:
    """Compute the build's experiment plan on Dask, execute the profile's notebooks (``only`` some chapters,
    plus the summary pages) on the same workers, then build the book.

    ``jobs``: local Dask worker processes; ``threads``: CPU threads of every plan task and notebook (None: the
    cores shared among the ``jobs`` workers); a fixed count makes a rebuild from scratch give the same digits.
    ``plan``: first compute every planned artefact (:func:`leakage.experiments.plan.plan_for`); the notebooks
    then load them. After the notebooks the runner counts the artefacts they computed themselves (the plan's
    misses): logged, or with ``check_plan`` a ``BookError`` naming them.

    Paths: every relative path in the environment (:data:`leakage.paths.PATH_VARIABLES`, e.g. ``$LEAKAGE_STORE``)
    and in the parameters (:data:`PATH_PARAMETERS`, e.g. ``--set data_path=...``) is made absolute against the
    caller's working directory before any worker or kernel starts, so the plan, the notebooks and the plan check
    all use the same store and files.
    """
    pin_environment_paths()
    check_profile(profile)
    unknown = sorted(set(only or []) - set(ALL_NOTEBOOKS))
    if unknown:
        raise BookError(f"unknown notebook {', '.join(unknown)}; known: {', '.join(ALL_NOTEBOOKS)}")
    if jobs < 1:
        raise BookError(f"--jobs must be at least 1, got {jobs}")
    if threads is not None and threads < 1:
        raise BookError(f"--threads must be at least 1, got {threads}")
    chapters = [n for n in CHAPTER_NOTEBOOKS if not only or n in only]
    summaries = [n for n in SUMMARY_NOTEBOOKS if not only or n in only or chapters]
    values = absolute_parameter_paths(parse_overrides(overrides or []))
    params = resolve_build(chapters + summaries, profile, values)

    os.environ.setdefault("LEAKAGE_PROGRESS", "0")
    if force:
        os.environ[FORCE_ENV] = str(time.time())
    from leakage.grid import make_client

    share = threads or max(1, (os.cpu_count() or 1) // jobs)
    client = make_client(workers=jobs, threads=share, quiet=True)
    try:
        if plan:
            compute_plan(params, client, share, log)
        since = time.time()
        run_notebooks(chapters + summaries, params, client, share, log, overrides=values)
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    if plan:
        missed = unplanned(since)
        if missed:
            kinds = sorted({m["kind"] for m in missed})
            message = (f"the notebooks computed {len(missed)} artefact(s) the plan did not list (kinds: "
                       f"{', '.join(kinds)}); the plan misses them (pages computing by design: {', '.join(UNPLANNED)})")
            if check_plan:
                raise BookError(message)
            log(f"warning: {message}")
        else:
            log("plan check: the notebooks computed nothing the plan had not computed")
    if not build:
        return None
    html = build_html(profile)
    log(f"book built: {html / 'index.html'}")
    return html
