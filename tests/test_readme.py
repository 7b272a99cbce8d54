"""The README's Python examples run as written (in order, each in a fresh interpreter, from a scratch folder)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_examples() -> list[str]:
    """Every ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_an_example_per_entry_point():
    text = "\n".join(python_examples())
    for entry in ("attack_classifier(", "attack_language_model(", "attack_code_model("):
        assert entry in text, f"the README has no runnable example of {entry}"


@pytest.mark.parametrize("index", range(len(python_examples())))
def test_readme_example_runs(index, tmp_path):
    code = python_examples()[index]
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"README example {index} failed:\n{code}\n--- stderr ---\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"README example {index} printed nothing"
