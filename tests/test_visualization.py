import keras
import numpy as np
import pytest
from PIL import Image

from keras_reid.layers import ModeAttention, StRABottleneck
from keras_reid.visualization import (
    GREEN,
    GREY,
    QUERY_BLUE,
    RED,
    attention_maps,
    draw_attention_grid,
    draw_retrieval_grid,
    hacnn_region_boxes,
    overlay_heatmap,
    parse_identity,
    plot_cmc,
)


def _count_colour(img, colour, tol=10):
    arr = np.asarray(img.convert("RGB")).astype(int)
    return int(np.sum(np.all(np.abs(arr - np.array(colour)) <= tol, axis=-1)))


def test_parse_identity():
    assert parse_identity("/x/0002_c1s1_000451_01.jpg") == (2, 1)
    assert parse_identity("0004_c3_01.jpg") == (4, 3)
    assert parse_identity("id0004_c3_01.jpg") == (4, 3)  # the bundled samples
    assert parse_identity("-1_c2s1_000001_00.jpg") == (-1, 2)
    assert parse_identity("person.jpg") == (None, None)
    assert parse_identity(np.zeros((2, 2, 3))) == (None, None)


def test_retrieval_grid_borders_and_size(tmp_path):
    rng = np.random.default_rng(0)
    img = lambda: rng.integers(0, 256, (40, 20, 3), dtype=np.uint8)  # noqa: E731
    ranked = [(img(), 0.1, 7), (img(), 0.2, 3), {"image": img(), "distance": 0.3}]
    path = tmp_path / "grid.png"
    out = draw_retrieval_grid(img(), ranked, query_id=7, path=str(path), tile_size=(48, 96), title="t")
    saved = Image.open(path)
    assert saved.size == out.size
    assert saved.width > 4 * 48 and saved.height > 96
    for colour in (GREEN, RED, GREY, QUERY_BLUE):
        assert _count_colour(saved, colour, tol=2) > 100, colour
    # Several queries: one row each; unknown query id → every frame grey
    two = draw_retrieval_grid([img(), img()], [ranked[:1], ranked[:2]], query_id=[None, 3], tile_size=(48, 96))
    assert two.height > 2 * 96


def test_overlay_heatmap():
    image = np.full((64, 32, 3), 128, np.uint8)
    heat = np.zeros((4, 2))
    heat[0, 0] = 1.0
    out = overlay_heatmap(image, heat, alpha=0.6)
    assert out.size == (32, 64)
    arr = np.asarray(out).astype(int)
    assert arr[0, 0, 0] > arr[0, 0, 2]  # hot corner is red
    assert arr[-1, -1, 2] > arr[-1, -1, 0]  # cold corner is blue
    constant = overlay_heatmap(image, np.ones((4, 2)))  # constant map: no NaN
    assert np.asarray(constant).shape == (64, 32, 3)
    with pytest.raises(ValueError, match="2-D"):
        overlay_heatmap(image, np.zeros((2, 2, 2)))


def test_plot_cmc(tmp_path):
    cmc = np.minimum(1.0, 0.6 + 0.02 * np.arange(50))
    img = plot_cmc(cmc, str(tmp_path / "cmc.png"), max_rank=20)
    assert Image.open(tmp_path / "cmc.png").size == img.size == (560, 400)
    two = plot_cmc({"a": cmc, "b": cmc * 0.9}, None)
    assert _count_colour(two, (30, 100, 200), tol=2) > 50 and _count_colour(two, (215, 40, 40), tol=2) > 50


def test_mode_attention_maps_match_the_layer():
    """α recomputed from the layer's sublayers satisfies the layer's own diversity output."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 4, 64))
    layer = ModeAttention(heads=8, pooling_reduction=8, name="mode")
    out, diversity = layer(inputs)
    model = keras.Model(inputs, [out, diversity])
    x = np.random.default_rng(0).normal(size=(2, 8, 4, 64)).astype("float32")
    results = attention_maps(model, x)
    assert [r["layer"] for r in results] == ["mode"] and results[0]["kind"] == "stra_mode"
    alpha = results[0]["maps"]
    assert alpha.shape == (2, 8, 4, 8)
    np.testing.assert_allclose(alpha.sum(axis=(1, 2)), 1.0, atol=1e-5)
    expected_div = keras.ops.convert_to_numpy(model(x)[1])
    np.testing.assert_allclose(8 - alpha.max(axis=-1).sum(axis=(1, 2)), expected_div, atol=1e-4)
    assert "call" not in vars(layer)  # the capture is undone


def test_attention_maps_of_nested_layers():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 4, 64))
    x, _ = StRABottleneck(16, heads=4, pooling_reduction=4, name="block1")(inputs)
    out, _ = StRABottleneck(16, heads=4, pooling_reduction=4, name="block2")(x)
    model = keras.Model(inputs, out)
    x = np.random.default_rng(0).normal(size=(1, 8, 4, 64)).astype("float32")
    results = attention_maps(model, x)
    # sublayers of the same name in two blocks are told apart by their path
    assert [r["layer"] for r in results] == ["block1/mode_attention", "block2/mode_attention"]
    assert all(r["maps"].shape == (1, 8, 4, 4) for r in results)
    assert not np.allclose(results[0]["maps"], results[1]["maps"])
    assert attention_maps(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), np.ones((1, 4))) == []


def test_csa_and_hacnn_maps():
    from keras_reid.layers.compressed_self_attention import CompressedSelfAttention
    from keras_reid.layers.hard_regional_attention import HardRegionalAttention

    inputs = keras.Input((6, 4, 16))
    csa = CompressedSelfAttention(num_maps=3, groups=2, name="csa")(inputs)
    regions = HardRegionalAttention(name="hard")(inputs)
    model = keras.Model(inputs, [csa, regions])
    x = np.random.default_rng(1).normal(size=(2, 6, 4, 16)).astype("float32")
    results = {r["kind"]: r for r in attention_maps(model, x)}
    assert results["csa_base"]["maps"].shape == (2, 6, 4, 6)
    np.testing.assert_allclose(results["csa_base"]["maps"].sum(axis=(1, 2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(results["hacnn_regions"]["maps"], keras.ops.convert_to_numpy(model(x)[1]), atol=1e-6)


def test_hacnn_boxes_and_attention_grid(tmp_path):
    boxes = hacnn_region_boxes([[0.0, 0.0], [0.0, -0.75]], (160, 64))
    np.testing.assert_allclose(boxes[0], (0, 60, 64, 100))
    np.testing.assert_allclose(boxes[1], (0, 0, 64, 40))
    grid = draw_attention_grid(np.zeros((64, 32, 3), np.uint8), np.random.rand(4, 2, 3), path=str(tmp_path / "a.png"))
    assert grid.width > 4 * 96 and Image.open(tmp_path / "a.png").size == grid.size


@pytest.mark.parametrize("first", [0.37, 0.05, 0.91, 0.62])
def test_cmc_axis_ticks_are_round_percentages(first, monkeypatch):
    from keras_reid import visualization

    labels = []
    original = visualization.ImageDraw.ImageDraw.text

    def record(self, xy, text, *args, **kwargs):
        labels.append(text)
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(visualization.ImageDraw.ImageDraw, "text", record)
    visualization.plot_cmc(np.linspace(first, 1.0, 20), None)
    ticks = [int(t[:-1]) for t in labels if t.endswith("%") and t[:-1].isdigit()]
    assert ticks[-1] == 100 and 3 <= len(ticks) <= 9
    steps = {b - a for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and steps.pop() in (5, 10, 20, 25, 50), ticks


def test_stack_pictures_saves_the_stack(tmp_path):
    from PIL import Image

    from keras_reid.visualization import stack_pictures

    a, b = Image.new("RGB", (4, 2), "red"), Image.new("RGB", (6, 3), "blue")
    out = stack_pictures([a, b], path=tmp_path / "s.png")
    assert Image.open(tmp_path / "s.png").size == (6, 5)
    assert out.getpixel((0, 0)) == (255, 0, 0) and out.getpixel((5, 0)) == (255, 255, 255)
    assert out.getpixel((5, 4)) == (0, 0, 255)
