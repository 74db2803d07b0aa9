"""The zoo/ folders, the packaged index and the built-in preset names."""

import json
import pathlib

import keras
import numpy as np
import pytest

import keras_reid
from conversion.model_card import check_card, parse_front_matter
from keras_reid.presets import PresetUnavailableError, load_reference_tensors
from keras_reid.presets.registry import INDEX_PATH, _read_zoo

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZOO = ROOT / "zoo"
NAMES = sorted(p.parent.name for p in ZOO.glob("*/zoo.json"))


def test_index_in_sync_with_zoo():
    with open(INDEX_PATH) as f:
        index = json.load(f)
    assert index == _read_zoo(ZOO), "run: python -m keras_reid.presets.registry"


@pytest.mark.parametrize("name", NAMES)
def test_zoo_entry_and_card(name):
    entry = json.loads((ZOO / name / "zoo.json").read_text())
    assert entry["architecture"] in keras_reid.list_architectures() or entry["status"] == "unavailable"
    if entry["status"] == "unavailable":
        assert entry["instructions"].strip()
    card = (ZOO / name / "README.md").read_text()
    assert check_card(card) == []
    front = parse_front_matter(card)
    assert front["library_name"] == "keras-reid" and front.get("datasets") and front.get("metrics")
    assert "Claimed by" in card and "Measured by this project" in card


def test_unavailable_preset_explains_how():
    with pytest.raises(PresetUnavailableError, match="python -m conversion convert --arch hacnn"):
        keras_reid.load("hacnn_market")


def test_embedded_mobilenetv2_imagenet_preset():
    model = keras_reid.load("mobilenetv2_imagenet")
    assert model.num_classes is None and model.embedding_dim == 512
    ref = load_reference_tensors(ZOO / "mobilenetv2_imagenet" / "preset")
    got = keras.ops.convert_to_numpy(model.network_embedding(ref["inputs"]))
    np.testing.assert_allclose(got, ref["embedding"], atol=1e-4)


EMBEDDED = [n for n in NAMES if json.loads((ZOO / n / "zoo.json").read_text())["status"] == "embedded"]


@pytest.mark.parametrize("name", EMBEDDED)
def test_every_embedded_preset_reproduces_its_reference(name):
    """Loaded by name (sha256-checked), the weights reproduce the stored reference embedding."""
    model = keras_reid.load(name)
    ref = load_reference_tensors(ZOO / name / "preset")
    got = keras.ops.convert_to_numpy(model.network_embedding(ref["inputs"]))
    np.testing.assert_allclose(got, ref["embedding"], atol=1e-4)
    assert (ZOO / name / "preset" / "model.weights.h5").stat().st_size < 20_000_000


@pytest.mark.parametrize("name", EMBEDDED)
def test_every_embedded_preset_passes_verify(name):
    """What `python -m conversion verify` (and `publish`) demands: hashes, reference, card, metadata."""
    from conversion.verify import verify_preset

    ok, lines = verify_preset(ZOO / name / "preset")
    assert ok, "\n".join(lines)


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_preset_carries_the_zoo_card(name):
    """The card inside the preset (what `publish` uploads) is the one reviewed in zoo/NAME/README.md."""
    assert (ZOO / name / "preset" / "README.md").read_text() == (ZOO / name / "README.md").read_text()
