"""The chapter registry: one declaration per page, from which the runner, the plan and the contents derive."""

from __future__ import annotations

import importlib
import re

import pytest

from leakage.chapters import ALL_NOTEBOOKS, CHAPTERS, PLANNERS, chapter, toc_yaml
from leakage.paths import project_root
from leakage.profiles import NOTEBOOK_PARAMETERS


def test_the_committed_table_of_contents_is_the_derived_one():
    assert (project_root() / "_toc.yml").read_text() == toc_yaml(), "run the book build (it rewrites _toc.yml)"


def test_every_chapter_has_a_notebook_and_only_chapters_have_profile_changes():
    names = [c.name for c in CHAPTERS]
    assert len(set(names)) == len(names) and set(names) == set(ALL_NOTEBOOKS)
    assert {p.stem for p in (project_root() / "notebooks").glob("*.py")} == set(names)
    assert set(NOTEBOOK_PARAMETERS) <= set(names)  # a chapter without profile changes needs no entry


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_every_planner_is_a_function_and_names_the_chapters_it_reuses(name):
    module, _, function = PLANNERS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    source = importlib.import_module(module).__file__
    reused = set(re.findall(r'other_chapter_parameters\("(\w+)"', open(source).read()))
    assert reused == set(chapter(name).reuses)


def test_an_unknown_chapter_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown chapter 'nope'; known: intro, lz_targets"):
        chapter("nope")
