import os
import pathlib

import pytest

# Backend is chosen by KERAS_BACKEND before keras is imported; CI runs the suite per backend.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT.parent / "shared" / "datasets"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow test: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def datasets_root():
    """`../shared/datasets`, or a clean skip when this checkout has no shared folder."""
    if not DATASETS.is_dir():
        pytest.skip(f"real data not available: {DATASETS} is absent (only in the project workspace)")
    return DATASETS


@pytest.fixture(autouse=True)
def _reset_keras_state():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")
    keras.backend.clear_session()

# The toy architecture family is a package copied and imported by tests/models/test_family_folder.py
# in subprocesses; collected here it would register `toy_net` in every test process.
collect_ignore = ["models/toy_family"]
