"""Start-up: no backend for `--help`, no TensorFlow for `import keras_reid` under JAX, no log noise."""

import os
import subprocess
import sys

import pytest

CHECK_HELP = """
import sys
from keras_reid.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("keras" in sys.modules, "tensorflow" in sys.modules, "jax" in sys.modules)
"""


def _run(code, **env):
    environ = dict(os.environ, **env)
    environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)


def test_help_imports_no_backend():
    result = _run(CHECK_HELP)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False False"


def test_import_under_jax_imports_no_tensorflow():
    pytest.importorskip("jax")
    result = _run("import sys, keras_reid; keras_reid.build; print('tensorflow' in sys.modules)", KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_lazy_attributes_and_registration(tmp_path):
    code = f"""
import keras, keras_reid
model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
keras_reid.save_preset(model, {str(tmp_path / 'p')!r})
"""
    assert _run(code).returncode == 0
    # A fresh process that only loads: every class registers on demand.
    result = _run(f"import keras_reid; print(keras_reid.load({str(tmp_path / 'p')!r}).embedding_dim)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "512"
    assert "FeatureExtractor" in dir(__import__("keras_reid"))


@pytest.mark.parametrize("args", [["list"], ["--help"]])
def test_cli_prints_no_backend_noise(args):
    result = _run(f"import sys; from keras_reid.cli import main; sys.exit(main({args!r}))", KERAS_BACKEND="tensorflow")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    verbose = _run(f"import sys; from keras_reid.cli import main; sys.exit(main(['--verbose', 'list']))", KERAS_BACKEND="tensorflow")
    assert verbose.returncode == 0
