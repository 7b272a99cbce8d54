"""The GitHub Actions workflows under ``.github/workflows/``, which cannot run here, checked here.

- they match GitHub's workflow JSON schema (vendored by check-jsonschema, so the check runs offline), and a
  deliberately broken copy does not (so a pass means something);
- ``ci.yml`` runs ``.ci/run``, the one definition of the checks, on every push and pull request;
- ``pages.yml`` builds the default profile's book, uploads the folder ``leakage.book.build_html`` writes, caches the
  folder ``leakage.paths.store_root`` names, and deploys with the standard Pages actions.

The last two read the workflows with PyYAML and compare them with what the code says, so they fail when either
drifts (a moved HTML folder or store, a renamed CI script).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from leakage import book, paths
from leakage.profiles import PROFILES
from leakage.store import COMPUTED_LOG

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
PAGES = WORKFLOWS / "pages.yml"
CI_BUDGET_MINUTES = 90  # .ci/run's time on the project's 2-core CI machine (the CI limit)


def schema_check(files: list[Path]) -> subprocess.CompletedProcess[str]:
    """Validate ``files`` against the GitHub workflow JSON schema that check-jsonschema vendors (offline), with
    check-jsonschema (python-jsonschema's CLI, pinned in requirements.txt) run from this Python's environment."""
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           "--color", "never", *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def load(path: Path) -> dict[str, Any]:
    """A workflow as a dict; PyYAML reads the key ``on`` as True (YAML 1.1), so it is renamed back to ``"on"``."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path}: not a YAML mapping"
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps_of(doc: dict[str, Any], job: str) -> list[dict[str, Any]]:
    """The steps of ``job`` (a KeyError names the jobs there are)."""
    jobs = doc.get("jobs", {})
    assert job in jobs, f"no job {job!r}; jobs: {sorted(jobs)}"
    return jobs[job].get("steps", [])


def uses(step: dict[str, Any], action: str) -> bool:
    """Whether ``step`` uses ``action`` (``owner/name[/path]``) at any version."""
    return str(step.get("uses", "")).split("@")[0] == action


def only_step(steps: list[dict[str, Any]], action: str) -> tuple[int, dict[str, Any]]:
    """The index and the one step that uses ``action``."""
    found = [(i, s) for i, s in enumerate(steps) if uses(s, action)]
    assert len(found) == 1, f"expected one step using {action}, found {len(found)}"
    return found[0]


def every_env(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``env`` mappings of the workflow, its jobs and their steps."""
    envs = [doc.get("env") or {}]
    for job in doc.get("jobs", {}).values():
        envs.append(job.get("env") or {})
        envs += [step.get("env") or {} for step in job.get("steps", [])]
    return envs


def test_the_workflows_exist() -> None:
    assert CI.is_file() and PAGES.is_file(), f"expected {CI.name} and {PAGES.name} in {WORKFLOWS}"


def test_the_workflows_match_github_s_workflow_schema() -> None:
    files = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    assert files, f"no workflow in {WORKFLOWS}"
    done = schema_check(files)
    assert done.returncode == 0, f"check-jsonschema (exit {done.returncode}):\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize("breakage", [
    ("    runs-on: ubuntu-24.04\n", "    runs-on: ubuntu-24.04\n    run-on: ubuntu-24.04\n"),  # unknown key
    ("timeout-minutes: 120", "timeout-minutes: soon"),  # a number expected
    ("jobs:", "jobz:"),  # a required key missing
])
def test_the_schema_check_reports_a_broken_workflow(tmp_path: Path, breakage: tuple[str, str]) -> None:
    """A copy of ci.yml with an unknown key, a mistyped value or a missing required key fails the check."""
    old, new = breakage
    text = CI.read_text(encoding="utf-8")
    assert old in text, f"the test's breakage no longer applies to {CI.name}: {old!r} not found"
    broken = tmp_path / "ci.yml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    done = schema_check([broken])
    assert done.returncode != 0, f"the schema check passed a broken workflow ({old!r} -> {new!r})"
    assert "ci.yml" in done.stdout + done.stderr


def test_ci_runs_the_ci_script_on_every_push_and_pull_request() -> None:
    doc = load(CI)
    triggers = doc["on"]
    assert {"push", "pull_request"} <= set(triggers), f"ci.yml triggers: {triggers}"
    for event in ("push", "pull_request"):  # no branch or path filter: every push and pull request
        assert not (triggers[event] or {}), f"ci.yml filters {event}: {triggers[event]}"
    assert (ROOT / ".ci" / "run").is_file()
    (job,) = doc["jobs"]
    steps = steps_of(doc, job)
    runs = [i for i, s in enumerate(steps) if re.search(r"(^|[\s;&|])(bash\s+)?\.ci/run(\s|$)", s.get("run", ""))]
    assert len(runs) == 1, "ci.yml must run .ci/run (the one definition of the checks) in exactly one step"
    python_at, python = only_step(steps, "actions/setup-python")
    assert python_at < runs[0], "setup-python must come before .ci/run"
    assert str(python["with"]["python-version"]) == "3.11"
    assert python["with"].get("cache") == "pip"
    assert doc["jobs"][job]["timeout-minutes"] >= CI_BUDGET_MINUTES, "less time than .ci/run may take"
    assert doc["concurrency"]["cancel-in-progress"] is True


def test_pages_uploads_the_folder_the_book_builder_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ask ``leakage.book.build_html`` where it writes (jupyter-book not run), then find that folder uploaded."""
    commands: list[list[str]] = []

    def fake_run(command, **kwargs):
        commands.append(list(command))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(book.subprocess, "run", fake_run)
    monkeypatch.setattr(book, "generated_dir", lambda: tmp_path / "generated")
    monkeypatch.setattr(book, "write_placeholders", lambda: [])
    html = book.build_html()
    assert commands and "build" in commands[0], f"build_html ran {commands}, not jupyter-book build"
    html = html.resolve().relative_to(paths.project_root().resolve())

    doc = load(PAGES)
    steps = steps_of(doc, "build")
    upload_at, upload = only_step(steps, "actions/upload-pages-artifact")
    assert Path(upload["with"]["path"]) == html, f"pages.yml uploads {upload['with']['path']}, the book is in {html}"
    builds = [i for i, s in enumerate(steps) if "-m leakage book" in s.get("run", "")]
    assert len(builds) == 1 and builds[0] < upload_at, "one step builds the book, before the upload"
    profile = re.search(r"--profile\s+(\S+)", steps[builds[0]]["run"])
    assert profile and profile.group(1) == "default" and "default" in PROFILES, "the readers' book: --profile default"
    only_step(steps, "actions/configure-pages")
    assert doc["on"].get("push", {}).get("branches") == ["main"] and "workflow_dispatch" in doc["on"]


def test_pages_deploys_with_the_pages_actions() -> None:
    doc = load(PAGES)
    assert doc["permissions"].get("pages") == "write" and doc["permissions"].get("id-token") == "write"
    deploy = doc["jobs"]["deploy"]
    assert deploy["needs"] in ("build", ["build"])
    _, step = only_step(deploy["steps"], "actions/deploy-pages")
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"


def test_pages_caches_the_experiment_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached path is the store the build writes to: ``store_root()`` with no ``LEAKAGE_*`` override, which
    the workflow must not set either."""
    monkeypatch.delenv("LEAKAGE_STORE", raising=False)
    monkeypatch.delenv("LEAKAGE_RESULTS", raising=False)
    store = paths.store_root().resolve().relative_to(paths.project_root().resolve())
    doc = load(PAGES)
    for env in every_env(doc):
        assert not {"LEAKAGE_STORE", "LEAKAGE_RESULTS"} & set(env), f"pages.yml moves the store: {env}"
    steps = steps_of(doc, "build")
    build_at = next(i for i, s in enumerate(steps) if "-m leakage book" in s.get("run", ""))
    restore_at, restore = only_step(steps, "actions/cache/restore")
    save_at, save = only_step(steps, "actions/cache/save")
    assert restore_at < build_at < save_at, "restore the store before the build, save it after"
    for step in (restore, save):
        assert Path(step["with"]["path"]) == store, f"pages.yml caches {step['with']['path']}, the store is {store}"
    key = restore["with"]["key"]
    assert key.startswith("store-default-") and "hashFiles(" in key
    fallbacks = [line.strip() for line in restore["with"]["restore-keys"].splitlines()]
    assert "store-default-" in fallbacks, "fall back to any earlier default store"
    assert save["with"]["key"] == f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
    assert str(save.get("if", "")).startswith("always()"), "save what a failed or timed-out build computed"
    log = (store / COMPUTED_LOG).as_posix()  # the save is skipped unless this log grew during the build
    counts = [i for i, s in enumerate(steps) if log in s.get("run", "")]
    assert len(counts) == 2 and counts[0] < build_at < counts[1] < save_at, f"count {log} before and after the build"
