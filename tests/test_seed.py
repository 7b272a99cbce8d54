"""leakage.seed: the one owner of seeding. Its exact helpers draw the very streams of the calls they replace, and
no other module of the package makes a generator or seeds torch itself."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from leakage.seed import (seeded_rng, derive_seed, numpy_rng, rewind_generator, seed_torch, seeded_generator,
                          torch_generator)

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "leakage"
#: Calls that make a generator or seed one: only leakage.seed may make them.
SEEDING_CALLS = ("default_rng", "manual_seed", "Generator")


def test_derived_seeds_are_stable_across_runs_and_machines():
    assert derive_seed(0, "a", 1) == 1315348329
    assert derive_seed(0, "a", 1) != derive_seed(0, "a", 2)
    assert 0 <= derive_seed(2**40, "x") < 2**31


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1, 2**40])
def test_bootstrap_rng_is_numpy_default_rng_of_the_seed_as_given(seed):
    assert np.array_equal(seeded_rng(seed).integers(0, 1000, 50), np.random.default_rng(seed).integers(0, 1000, 50))


def test_numpy_rng_is_bootstrap_rng_of_the_derived_seed():
    assert np.array_equal(numpy_rng(3, "x").random(5), seeded_rng(derive_seed(3, "x")).random(5))


@pytest.mark.parametrize("seed", [0, 12345])
def test_seeded_generator_is_a_torch_generator_of_the_seed_as_given(seed):
    reference = torch.Generator(device="cpu")
    reference.manual_seed(seed)
    generator = seeded_generator(seed)
    assert isinstance(generator, torch.Generator) and generator.device.type == "cpu"
    assert generator.initial_seed() == seed
    assert torch.equal(torch.rand(20, generator=generator), torch.rand(20, generator=reference))


def test_torch_generator_is_seeded_generator_of_the_derived_seed():
    assert torch.equal(torch.rand(5, generator=torch_generator(3, "x")),
                       torch.rand(5, generator=seeded_generator(derive_seed(3, "x"))))


def test_rewind_generator_starts_its_stream_again():
    generator = seeded_generator(5)
    first = torch.rand(10, generator=generator)
    torch.rand(3, generator=generator)
    assert rewind_generator(generator) is generator
    assert torch.equal(torch.rand(10, generator=generator), first)


def test_seed_torch_is_torch_manual_seed():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        expected = torch.rand(10)
        seed_torch(11)
        assert torch.equal(torch.rand(10), expected)


def direct_seeding_calls(path: Path, root: Path = PACKAGE.parents[1]) -> list[str]:
    """'path:line: call' (path relative to ``root``) for every call of :data:`SEEDING_CALLS` in ``path`` (strings
    and comments are not calls)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SEEDING_CALLS:
                found.append((node.lineno, f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(func)}(...)"))
    return [text for _, text in sorted(found)]


def test_the_check_finds_every_kind_of_direct_call(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""np.random.default_rng(0) in a docstring is no call."""\n'
                      "a = np.random.default_rng(0)\nb = torch.Generator(device='cpu')\nb.manual_seed(1)\n"
                      "torch.manual_seed(2)  # manual_seed(3) in a comment\n")
    assert direct_seeding_calls(sample, tmp_path) == [
        "sample.py:2: np.random.default_rng(...)", "sample.py:3: torch.Generator(...)",
        "sample.py:4: b.manual_seed(...)", "sample.py:5: torch.manual_seed(...)"]


def test_only_leakage_seed_makes_generators_or_seeds_torch():
    offenders = [call for path in sorted(PACKAGE.rglob("*.py")) if path.name != "seed.py"
                 for call in direct_seeding_calls(path)]
    assert not offenders, ("make generators and seed torch through leakage.seed (seeded_rng, numpy_rng, "
                           "seeded_generator, torch_generator, seed_torch, rewind_generator), not directly:\n"
                           + "\n".join(offenders))
