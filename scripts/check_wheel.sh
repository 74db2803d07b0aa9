#!/usr/bin/env bash
# CI step: the built wheel, installed into a fresh virtual environment and run away from the
# source tree, carries its weights. `keras-reid demo` must use the trained default, an embedded
# preset must load with no network, and no top-level `conversion` module may be installed.
#
# The virtual environment sees the machine's site-packages for the heavy dependencies
# (TensorFlow, Keras) but gets keras_reid itself only from the wheel (--no-deps), and the
# check asserts that the imported keras_reid is the wheel's.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -m pip wheel --quiet --no-deps --no-build-isolation -w "$work/dist" .
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps "$work"/dist/keras_reid-*.whl
cd "$work"
export HF_HUB_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow
unset KERAS_REID_ZOO
"$work/venv/bin/python" - "$work/venv" <<'PY'
import importlib.util
import pathlib
import sys

import keras_reid
from keras_reid.cli import DEMO_PRESETS

venv = pathlib.Path(sys.argv[1]).resolve()
where = pathlib.Path(keras_reid.__file__).resolve()
assert venv in where.parents, f"keras_reid was imported from {where}, not from the wheel in {venv}"
assert importlib.util.find_spec("conversion") is None, "the wheel installs a top-level 'conversion' module"
import keras_reid.conversion  # noqa: F401  (the converters travel under the keras_reid namespace)

for name in DEMO_PRESETS:
    model = keras_reid.load(name)
    assert venv in pathlib.Path(model.preset_folder).resolve().parents, model.preset_folder
print("wheel: keras_reid from", where.parent, "| embedded presets load offline:", ", ".join(DEMO_PRESETS))
PY
out="$("$work/venv/bin/keras-reid" demo --output "$work/retrieval.png" 2>&1)"
echo "$out" | tail -3
default="$("$work/venv/bin/python" -c 'from keras_reid.cli import DEMO_PRESETS; print(DEMO_PRESETS[0])')"
if ! echo "$out" | grep -q "preset $default"; then
  echo "error: keras-reid demo from the wheel did not use the trained default $default" >&2
  exit 1
fi
if echo "$out" | grep -q "RANDOMLY INITIALISED"; then
  echo "error: keras-reid demo from the wheel fell back to a random model" >&2
  exit 1
fi
test -s "$work/retrieval.png"
echo "wheel check passed"
