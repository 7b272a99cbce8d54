"""The chapter registry: one declaration per page, from which the runner, the plan and the contents derive."""

from __future__ import annotations

import dataclasses

import pytest

from leakage.chapters import ALL_NOTEBOOKS, CHAPTERS, PLANNERS, chapter, chapter_parameters, toc_yaml
from leakage.parameters import ChapterParameters, check_parameter_classes
from leakage.paths import project_root
from leakage.profiles import PROFILES


def test_the_committed_table_of_contents_is_the_derived_one():
    assert (project_root() / "_toc.yml").read_text() == toc_yaml(), "run the book build (it rewrites _toc.yml)"


def test_every_chapter_has_a_notebook_and_nothing_else_does():
    names = [c.name for c in CHAPTERS]
    assert len(set(names)) == len(names) and set(names) == set(ALL_NOTEBOOKS)
    assert {p.stem for p in (project_root() / "notebooks").glob("*.py")} == set(names)


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_every_planner_is_a_function_that_plans_from_the_typed_parameters(name):
    planner = chapter(name).planner()
    assert callable(planner)


@pytest.mark.parametrize("c", CHAPTERS, ids=lambda c: c.name)
def test_every_chapters_parameters_resolve_under_every_profile_and_name_their_chapter(c):
    klass = c.parameters_class()
    assert issubclass(klass, ChapterParameters) and dataclasses.is_dataclass(klass)
    assert klass is ChapterParameters or klass.CHAPTER == c.name
    check_parameter_classes({c.name: klass})  # every default and profile value has its declared type
    for profile in PROFILES:
        params = chapter_parameters(c.name, profile)
        assert params.profile == profile and type(params) is klass
    assert all(klass.docs().values()), f"{c.name}: every parameter needs a one-line meaning"


def test_a_chapter_that_reuses_runs_holds_the_reused_chapters_parameters():
    assert chapter("lz_boundary").reuses() == ("lz_transfer",)
    assert chapter("lz_ladder").reuses() == ("lz_transfer", "lz_boundary")
    ladder = chapter_parameters("lz_ladder", "default", {"shadow_epochs": 7, "hsj_budget": 90})
    assert ladder.transfer == chapter_parameters("lz_transfer", "default", {"shadow_epochs": 7})
    assert ladder.boundary.hsj_budget == 90 and ladder.boundary.transfer == ladder.transfer


def test_an_unknown_chapter_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown chapter 'nope'; known: intro, lz_targets"):
        chapter("nope")
