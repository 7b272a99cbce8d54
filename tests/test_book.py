"""The book runner: notebooks, profiles and the table of contents agree; bad input gives clear errors."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from dataclasses import dataclass
from typing import ClassVar

import jupytext
import nbformat
import pytest
import yaml

from leakage import book
from leakage.book import ALL_NOTEBOOKS, BookError, parse_overrides, prepare_notebook, run_book
from leakage.chapters import chapter_parameters
from leakage.parameters import ChapterParameters, parameter_field
from leakage.experiments.plan import plan_for
from leakage.paths import project_root
from leakage.profiles import UnknownProfileError
from leakage.results import notebook_timings


def toc_files() -> set[str]:
    toc = yaml.safe_load((project_root() / "_toc.yml").read_text())
    files = {toc["root"]}
    for part in toc["parts"]:
        files |= {chapter["file"] for chapter in part["chapters"]}
    return files


def test_every_notebook_is_in_the_toc():
    assert {f"generated/{n}" for n in ALL_NOTEBOOKS} == {f for f in toc_files() if f.startswith("generated/")}


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_the_parameters_cell_holds_only_what_the_runner_fills(name):
    cells = [c for c in jupytext.read(book.notebook_source(name)).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    namespace: dict = {}
    exec(cells[0].source, {}, namespace)  # noqa: S102 (our own notebook)
    assert namespace == {"profile": "smoke", "overrides": {}}, f"{name} declares parameters in its cell"


def test_unknown_profile_notebook_and_parameter_are_clear_errors():
    with pytest.raises(UnknownProfileError, match="choose one of smoke, default, paper"):
        run_book("fast")
    with pytest.raises(BookError, match="unknown notebook nope"):
        run_book("smoke", only=["nope"])
    with pytest.raises(BookError, match="no notebook of this run has a parameter learning_rate"):
        run_book("smoke", only=["lz_targets"], overrides=["learning_rate=3"], build=False)
    with pytest.raises(BookError, match=r"hsj_budget \(declared by chapters outside this run: hsj_budget\)"):
        run_book("smoke", only=["lz_targets"], overrides=["hsj_budget=3"], build=False)
    with pytest.raises(BookError, match="NAME=VALUE"):
        parse_overrides(["epochs"])
    with pytest.raises(BookError, match="--jobs"):
        run_book("smoke", jobs=0)


def test_overrides_parse_literals_and_words():
    assert parse_overrides(["epochs=3", "datasets=['digits']", "dataset=mnist"]) == {
        "epochs": 3, "datasets": ["digits"], "dataset": "mnist"}


@pytest.mark.parametrize("item, expected", [
    ("datasets=fashion-mnist", "'datasets' of chapter lz_targets expects list[str], got str 'fashion-mnist'"),
    ("epochs=5.0", "'epochs' of chapter lz_targets expects int, got float 5.0"),
    ("epochs=five", "'epochs' of chapter lz_targets expects int, got str 'five'"),
    ("epochs=True", "expects int, got bool"),
    ("scale=[0.1]", "'scale' of chapter lz_targets expects float"),
])
def test_an_override_of_the_wrong_type_is_refused_before_anything_runs(item, expected):
    with pytest.raises(BookError) as err:
        run_book("smoke", only=["lz_targets"], overrides=[item], build=False)
    assert expected in str(err.value) and "for example" in str(err.value)


def test_the_runner_resolves_each_chapter_once_with_the_build_overrides():
    values = parse_overrides(["epochs=5", "hsj_budget=40"])
    params = book.resolve_build(["lz_targets", "lz_boundary"], "default", values)
    assert params["lz_targets"] == chapter_parameters("lz_targets", "default", values)
    assert params["lz_boundary"].epochs == params["lz_boundary"].transfer.epochs == 5
    assert params["lz_boundary"].hsj_budget == 40 and params["lz_targets"].datasets == ["fashion-mnist"]


THREAD_SETTERS = ("set_num_threads", "set_num_interop_threads", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_the_runner_alone_sets_every_notebooks_threads(name):
    notebook = prepare_notebook(name, 3)
    first = notebook.cells[0]
    assert first.cell_type == "code" and "apply_threads(3)" in first.source
    assert "remove-cell" in first.metadata["tags"]
    for cell in notebook.cells[1:]:
        assert not any(word in cell.source for word in THREAD_SETTERS), f"{name} sets threads itself"


def test_no_stage_in_the_package_sets_threads():
    for path in (project_root() / "src" / "leakage").rglob("*.py"):
        if path.name != "device.py":  # its apply_threads is what the runners call for every kernel and task
            assert not any(word in path.read_text() for word in THREAD_SETTERS), path


@dataclass(frozen=True)
class ToyParameters(ChapterParameters):
    """A toy chapter's parameters: one int."""

    CHAPTER: ClassVar[str] = "toy"
    x: int = parameter_field(1, "a toy value")


def toy(x: int = 0) -> ToyParameters:
    return ToyParameters.resolve("smoke", {"x": x})


def write_notebook(path: Path, body: str) -> None:
    """A notebook as the chapters are: the runner fills ``profile`` and ``overrides``; it resolves ``x``."""
    path.write_text('# %% tags=["parameters"]\nprofile = "smoke"\noverrides = {}\n\n# %%\n'
                    'x = overrides.get("x", 1)\n\n# %%\n' + body)


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """The runner reads notebooks from, and writes executed ones (and notebook timings) under, ``tmp_path``."""
    monkeypatch.setattr(book, "notebook_source", lambda name: tmp_path / f"{name}.py")
    monkeypatch.setattr(book, "generated_dir", lambda: tmp_path / "generated")
    monkeypatch.setenv("LEAKAGE_RESULTS", str(tmp_path / "results"))
    return tmp_path


def test_a_failing_cell_names_the_notebook_and_cell_and_keeps_the_partial_output(tmp_path, sandbox):
    write_notebook(tmp_path / "broken.py", "y = x + 1\n\n# %%\nraise ValueError('no data for you')\n")
    with pytest.raises(BookError) as err:
        book.execute_notebook("broken", toy(2), overrides={"x": 2})
    message = str(err.value)
    assert "notebook broken" in message and "cell" in message and "ValueError: no data for you" in message
    assert (tmp_path / "generated" / "broken.failed.ipynb").exists()
    assert not (tmp_path / "generated" / "broken.ipynb").exists()


def test_a_good_notebook_is_executed_with_injected_parameters(tmp_path, sandbox):
    write_notebook(tmp_path / "good.py", "print('x is', x)\n")
    result = book.execute_notebook("good", toy(41), overrides={"x": 41})
    executed = nbformat.read(result.output, as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "x is 41" in outputs
    # the parameter cells are hidden; a table right after them shows the build's values against the defaults
    injected = next(i for i, c in enumerate(executed.cells) if "injected-parameters" in c.metadata.get("tags", []))
    assert "remove-cell" in executed.cells[injected].metadata["tags"]
    assert all("remove-cell" in c.metadata["tags"] for c in executed.cells if "parameters" in c.metadata["tags"])
    table = executed.cells[injected + 1]
    assert table.cell_type == "markdown" and "Parameters of this build (profile smoke)" in table.source
    assert "| **`x`** | **`41`** | `1` | a toy value |" in table.source


def test_stderr_goes_to_the_log_not_the_book(tmp_path, sandbox):
    write_notebook(tmp_path / "noisy.py", "import sys; print('result'); print('library chatter', file=sys.stderr)\n")
    result = book.execute_notebook("noisy", toy(0), overrides={"x": 0})
    executed = nbformat.read(result.output, as_version=4)
    streams = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert [o["name"] for o in streams] == ["stdout"] and "result" in streams[0]["text"]
    assert "library chatter" in book.log_file("noisy").read_text()


def test_the_kernel_gets_the_threads_it_is_given(tmp_path, sandbox, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    write_notebook(tmp_path / "threads.py", "import os, torch\n"
                   "print('threads', os.environ['OMP_NUM_THREADS'], torch.get_num_threads())\n")
    result = book.execute_notebook("threads", toy(0), overrides={"x": 0}, threads=3)
    executed = nbformat.read(result.output, as_version=4)
    assert "threads 3 3" in "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))


def test_a_fixed_thread_count_reaches_every_notebook(tmp_path, sandbox):
    for name in ("first", "second"):
        write_notebook(tmp_path / f"{name}.py", "import os; print('threads', os.environ['OMP_NUM_THREADS'])\n")
    params = {name: toy(0) for name in ("first", "second")}
    lines: list[str] = []
    with in_process_client() as client:
        book.run_notebooks(["first", "second"], params, client, threads=3, log=lines.append)
    for name in ("first", "second"):
        executed = nbformat.read(tmp_path / "generated" / f"{name}.ipynb", as_version=4)
        assert "threads 3" in "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    # progress: no estimate without earlier timings; each notebook's seconds are stored for the next build
    assert lines[0] == "notebooks: 0/2 done, no estimate (first, second not timed in an earlier build)"
    assert any(line.startswith("notebooks: 1/2 done, running second (") for line in lines), lines
    assert lines[-1] == "notebooks: 2/2 done"
    timings = notebook_timings("smoke")
    assert set(timings) == {"first", "second"} and all(0 < t < 600 for t in timings.values())
    with pytest.raises(BookError, match="--threads"):
        run_book("smoke", threads=0)


@contextlib.contextmanager
def in_process_client():
    """A one-worker Dask client in this process (so the sandbox's patches reach the tasks)."""
    from distributed import Client

    client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    try:
        yield client
    finally:
        client.close()


def test_summary_pages_run_after_every_chapter_and_failures_name_the_notebook(tmp_path, sandbox, monkeypatch):
    order = tmp_path / "order.txt"
    for name in ("lz_targets", "vp_mia", "scorecard"):
        write_notebook(tmp_path / f"{name}.py", f"open({str(order)!r}, 'a').write({name!r} + '\\n')\n")
    params = {name: toy(0) for name in ("lz_targets", "vp_mia", "scorecard")}
    with in_process_client() as client:
        book.run_notebooks(["scorecard", "lz_targets", "vp_mia"], params, client, threads=1, log=lambda line: None)
    assert order.read_text().splitlines()[-1] == "scorecard"
    write_notebook(tmp_path / "vp_mia.py", "raise RuntimeError('broken chapter')\n")
    order.unlink()
    with in_process_client() as client, pytest.raises(BookError, match="notebook vp_mia .*broken chapter"):
        book.run_notebooks(["lz_targets", "vp_mia", "scorecard"], params, client, threads=1, log=lambda line: None)
    assert "scorecard" not in order.read_text()  # no summary of a failed build


def test_cli_reports_errors_without_a_traceback():
    done = subprocess.run([sys.executable, "-m", "leakage", "book", "--profile", "huge"], capture_output=True,
                          text=True, cwd=project_root())
    assert done.returncode == 1
    assert "unknown profile 'huge'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ALL_NOTEBOOKS)
def test_papermill_can_parse_every_parameter_line(name, tmp_path):
    import papermill

    path = tmp_path / f"{name}.ipynb"
    nbformat.write(jupytext.read(book.notebook_source(name)), path)
    assert set(papermill.inspect_notebook(str(path))) == {"profile", "overrides"}


@pytest.mark.parametrize("chapter", ["lz_boundary", "lz_ladder"])
def test_a_set_value_of_part_1_reaches_the_chapters_that_reuse_its_runs(chapter):
    # `--set shadow_epochs=7` (an lz_transfer parameter): lz_boundary's and lz_ladder's part-1 attacks are that
    # chapter's runs with it, not the profile's (which would train other shadow models beside them)
    values = {"shadow_epochs": 7}
    transfer = chapter_parameters("lz_transfer", "smoke", values)
    reusing = chapter_parameters(chapter, "smoke", values)
    assert reusing.transfer == transfer

    def shadows(plan) -> set:  # of part 1's shadow-model attacks (LiRA's and RMIA's models copy the target's)
        return {t.job.config.shadow for t in plan.tasks if getattr(t.job, "attack", "") in ("transfer", "score_based")}

    reused = shadows(plan_for({chapter: reusing}))
    assert reused and reused <= shadows(plan_for({"lz_transfer": transfer}))
    assert all(s.train.epochs == 7 for s in reused)


# --------------------------------------------------------------------------- one path, whatever the working directory


PATH_ENV = {"LEAKAGE_STORE": "relstore", "LEAKAGE_RESULTS": "../results", "LEAKAGE_DATA_DIR": "~/data",
            "LEAKAGE_JULIET": "/srv/juliet.zip", "LEAKAGE_BROWN": "corpora/brown"}


@pytest.fixture
def caller(tmp_path, monkeypatch):
    """The runner started in ``tmp_path/caller`` (not the project root) with relative paths in the environment."""
    folder = tmp_path / "caller"
    folder.mkdir()
    monkeypatch.chdir(folder)
    for name, value in PATH_ENV.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return folder


def test_relative_paths_in_the_environment_are_pinned_to_the_callers_folder(caller, tmp_path):
    from leakage.paths import PATH_VARIABLES, pin_environment_paths, store_root

    assert set(PATH_ENV) <= set(PATH_VARIABLES)
    expected = {"LEAKAGE_STORE": caller / "relstore", "LEAKAGE_RESULTS": tmp_path / "results",
                "LEAKAGE_DATA_DIR": tmp_path / "home" / "data", "LEAKAGE_JULIET": Path("/srv/juliet.zip"),
                "LEAKAGE_BROWN": caller / "corpora" / "brown"}
    assert pin_environment_paths() == {k: str(v) for k, v in expected.items()}
    assert all(os.environ[k] == str(v) for k, v in expected.items())
    assert pin_environment_paths() == {k: str(v) for k, v in expected.items()}  # once pinned, stays so
    os.chdir(tmp_path)  # a worker or kernel starting elsewhere sees the same store
    assert store_root() == caller / "relstore"


def test_path_parameters_are_made_absolute_against_the_callers_folder(tmp_path):
    from leakage.book import absolute_parameter_paths

    (tmp_path / "ckpt").mkdir()
    given = {"data_path": "data/devign.json", "codebert_path": "microsoft/codebert-base", "model": "smollm2-135m",
             "pretrained_model": "ckpt", "epochs": 3}
    out = absolute_parameter_paths(given, tmp_path)
    assert out == {"data_path": str(tmp_path / "data" / "devign.json"),
                   "codebert_path": "microsoft/codebert-base",  # a Hub id: no path written, none there
                   "model": "smollm2-135m", "pretrained_model": str(tmp_path / "ckpt"), "epochs": 3}
    assert absolute_parameter_paths({"data_path": "../x.json", "codebert_path": "./cb"}, tmp_path) == \
        {"data_path": str(tmp_path.parent / "x.json"), "codebert_path": str(tmp_path / "cb")}
    assert absolute_parameter_paths({"data_path": None, "pretrained_model": ""}, tmp_path) == \
        {"data_path": None, "pretrained_model": ""}


def test_run_book_hands_workers_kernels_and_the_plan_check_the_same_absolute_paths(caller, tmp_path, monkeypatch):
    import leakage.experiments.plan
    import leakage.grid
    from leakage.grid import PlanReport
    from leakage.models.cnn import CNNConfig
    from leakage.store import Store

    seen: dict = {}

    class Client:
        cluster = None

        def close(self):
            pass

    def make_client(**kwargs):  # workers and kernels inherit this environment
        seen["workers"] = {name: os.environ.get(name) for name in PATH_ENV}
        return Client()

    class Plan:
        def __len__(self):
            return 1

    def run_plan(plan, client, *, threads, store_root, echo):
        seen["plan_store"] = store_root
        return PlanReport(done={"task": 0.0})

    def run_notebooks(names, params, client, threads, log, overrides=None):
        seen["params"] = params
        kernel = tmp_path / "project"  # where papermill starts the kernels
        kernel.mkdir(exist_ok=True)
        os.chdir(kernel)
        try:  # a notebook that misses an artefact computes it into the store it sees
            Store().cached("kernel_miss", CNNConfig(), lambda: {"value": 1}, seed=0)
        finally:
            os.chdir(caller)

    monkeypatch.setattr(leakage.grid, "make_client", make_client)
    monkeypatch.setattr(leakage.grid, "run_plan", run_plan)
    monkeypatch.setattr(leakage.experiments.plan, "plan_for", lambda params: Plan())
    monkeypatch.setattr(book, "run_notebooks", run_notebooks)
    with pytest.raises(BookError, match="computed 1 artefact.*kernel_miss"):
        run_book("smoke", only=["vp_mia"], overrides=["data_path=data/devign.json"], build=False, check_plan=True,
                 log=lambda line: None)
    store = str(caller / "relstore")
    assert seen["workers"]["LEAKAGE_STORE"] == seen["plan_store"] == store
    assert seen["workers"]["LEAKAGE_RESULTS"] == str(tmp_path / "results")
    assert seen["workers"]["LEAKAGE_DATA_DIR"] == str(tmp_path / "home" / "data")
    assert seen["params"]["vp_mia"].data_path == str(caller / "data" / "devign.json")
    assert (caller / "relstore" / "kernel_miss").is_dir() and not (tmp_path / "project" / "relstore").exists()


def test_a_kernel_started_in_the_project_root_uses_the_runners_store(caller, tmp_path, sandbox, monkeypatch):
    from leakage.paths import pin_environment_paths
    from leakage.store import Store

    kernel_cwd = tmp_path / "project"
    kernel_cwd.mkdir()
    monkeypatch.setattr(book, "project_root", lambda: kernel_cwd)
    pin_environment_paths()
    write_notebook(tmp_path / "kernel.py", "import os\nfrom leakage.models.cnn import CNNConfig\n"
                   "from leakage.store import Store\n"
                   "store = Store()\nstore.cached('kernel_miss', CNNConfig(), lambda: {'value': 1}, seed=0)\n"
                   "print('cwd', os.getcwd(), 'store', store.root)\n")
    result = book.execute_notebook("kernel", toy(0), overrides={"x": 0}, threads=1)
    executed = nbformat.read(result.output, as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert f"cwd {kernel_cwd} store {caller / 'relstore'}" in printed
    assert [e["kind"] for e in Store().computed()] == ["kernel_miss"]  # the plan check sees it
