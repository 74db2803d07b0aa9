"""The `keras-reid` command line, run through its real entry points on tiny inputs."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_reid
from keras_reid import cli
from keras_reid.visualization import GREEN, QUERY_BLUE, RED

SAMPLES = cli.samples_dir()


def _count_colour(img, colour, tol=2):
    arr = np.asarray(img.convert("RGB")).astype(int)
    return int(np.sum(np.all(np.abs(arr - np.array(colour)) <= tol, axis=-1)))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    keras.utils.set_random_seed(0)
    model = keras_reid.build("mobilenetv2", image_shape=(64, 32, 3))
    preset = keras_reid.save_preset(model, str(root / "preset"))
    gallery = root / "gallery"
    gallery.mkdir()
    for name in sorted(os.listdir(SAMPLES)):
        if name.endswith(".jpg"):
            shutil.copy(os.path.join(SAMPLES, name), gallery / name)
    (gallery / "README.txt").write_text("not an image")
    zoo = root / "zoo" / "mobilenetv2_imagenet"
    zoo.mkdir(parents=True)
    (zoo / "zoo.json").write_text(
        json.dumps(
            {
                "name": "mobilenetv2_imagenet",
                "architecture": "mobilenetv2",
                "description": "test entry",
                "status": "unavailable",
                "instructions": "convert it",
            }
        )
    )
    return {"root": root, "preset": preset, "gallery": str(gallery), "zoo": str(root / "zoo")}


def run_cli(args, workspace, console_script=False):
    env = dict(os.environ, KERAS_REID_ZOO=workspace["zoo"], TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_REID_DEBUG", None)
    exe = shutil.which("keras-reid") if console_script else None
    command = [exe] if exe else [sys.executable, "-m", "keras_reid.cli"]
    return subprocess.run(
        command + list(args), capture_output=True, text=True, env=env, cwd=workspace["root"], timeout=300
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("keras-reid: error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_help(workspace):
    result = run_cli(["--help"], workspace)
    assert result.returncode == 0, result.stderr
    for command in ("list", "embed", "search", "eval", "visualize", "demo", "train"):
        assert command in result.stdout


def test_list_console_script(workspace):
    result = run_cli(["list"], workspace, console_script=True)
    assert result.returncode == 0, result.stderr
    assert "mobilenetv2_imagenet" in result.stdout and "unavailable" in result.stdout
    assert "resnet50_stra" in result.stdout and "Architectures" in result.stdout


def test_embed(workspace):
    out = workspace["root"] / "feats" / "gallery.npy"
    result = run_cli(["embed", workspace["preset"], workspace["gallery"], "--output", str(out), "--batch-size", "4"], workspace)
    assert result.returncode == 0, result.stderr
    embeddings = np.load(out)
    assert embeddings.shape == (12, 512) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    index = json.loads((workspace["root"] / "feats" / "gallery.paths.json").read_text())
    assert index["paths"] == sorted(n for n in os.listdir(SAMPLES) if n.endswith(".jpg"))
    assert "Skipped 1 non-image" in result.stderr
    # the same embeddings as the Python API
    model = keras_reid.load(workspace["preset"])
    expected = keras_reid.FeatureExtractor(model)(workspace["gallery"])
    np.testing.assert_allclose(embeddings, expected, atol=1e-5)
    # the retrieval grid from saved embeddings (in process: no model is loaded)
    picture = workspace["root"] / "from_npy.png"
    assert cli.main(["visualize", "retrieval", str(out), "--query", "0", "id0004_c1_01.jpg", "-k", "3", "-o", str(picture)]) == 0
    assert Image.open(picture).height > 2 * 192


def test_search_writes_a_picture(workspace):
    picture = workspace["root"] / "search.png"
    query = os.path.join(workspace["gallery"], "id0001_c1_01.jpg")
    result = run_cli(
        ["search", workspace["preset"], "--query", query, "--gallery", workspace["gallery"], "--top-k", "11",
         "--output", str(picture)],
        workspace,
    )
    assert result.returncode == 0, result.stderr
    assert "rank" in result.stdout and "id0001_c2_01.jpg" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.strip().endswith(".jpg") and "query" not in line]
    assert len(rows) == 11 and query not in "".join(rows)  # the query itself is not returned
    img = Image.open(picture)
    assert img.width > 12 * 96 and 192 < img.height < 400
    # query frame blue, 2 true matches green, 9 others red (frames are 5 px wide)
    green, red = _count_colour(img, GREEN), _count_colour(img, RED)
    assert _count_colour(img, QUERY_BLUE) > 1000 and green > 2 * 2500 and red > 9 * 2500
    assert green < red


def test_missing_folder(workspace):
    result = run_cli(["embed", workspace["preset"], "/no/such/folder", "--output", "x.npy"], workspace)
    assert_one_line_error(result, "no such folder", "/no/such/folder")


def test_unknown_preset_suggests_close_match(workspace):
    result = run_cli(["embed", "mobilenetv2_imagenett", workspace["gallery"], "--output", "x.npy"], workspace)
    assert_one_line_error(result, "Unknown preset", "Did you mean mobilenetv2_imagenet")


def test_non_image_query(workspace):
    query = workspace["root"] / "query.jpg"
    query.write_text("this is text")
    result = run_cli(["search", workspace["preset"], "--query", str(query), "--gallery", workspace["gallery"]], workspace)
    assert_one_line_error(result, "cannot read image", str(query))


def test_demo(workspace, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_REID_ZOO", workspace["zoo"])  # no embedded preset: random model, said so
    out = tmp_path / "retrieval.png"
    assert cli.main(["demo", "--output", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "RANDOMLY INITIALISED" in stdout and "rank-1" in stdout and "mAP" in stdout
    assert str(out) in stdout
    img = Image.open(out)
    assert img.height > 4 * 192  # one row per identity


def test_eval_on_a_market_style_folder(workspace, tmp_path, capsys):
    root = tmp_path / "market"
    for split in ("bounding_box_train", "query", "bounding_box_test"):
        (root / split).mkdir(parents=True)
    for name in sorted(os.listdir(workspace["gallery"])):
        if not name.endswith(".jpg"):
            continue
        src = os.path.join(workspace["gallery"], name)
        market_name = name.removeprefix("id")  # Market-1501 names start with the identity
        shutil.copy(src, root / "bounding_box_train" / market_name)
        split = "query" if "_c1_" in name else "bounding_box_test"
        shutil.copy(src, root / split / market_name)
    metrics_path, cmc_path = tmp_path / "m.json", tmp_path / "cmc.png"
    code = cli.main(["eval", workspace["preset"], "--dataset", "market1501", "--root", str(root),
                     "--json", str(metrics_path), "--cmc-plot", str(cmc_path), "--max-rank", "8", "--rerank"])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "| mAP |" in stdout and "| rank-1 |" in stdout and "| mINP |" in stdout
    metrics = json.loads(metrics_path.read_text())
    assert metrics["num_query"] == 4 and metrics["num_gallery"] == 8 and len(metrics["cmc"]) == 8
    assert 0 <= metrics["mAP"] <= 1 and metrics["cmc"][-1] == 1.0 and metrics["rerank"]
    assert Image.open(cmc_path).size == (560, 400)
    assert cli.main(["eval", workspace["preset"], "--dataset", "market", "--root", str(root)]) == 2
    assert "Did you mean market1501" in capsys.readouterr().err


def test_visualize_attention(workspace, tmp_path, capsys):
    keras.utils.set_random_seed(0)
    model = keras_reid.build("mobilenetv2_stra", image_shape=(64, 32, 3))
    preset = keras_reid.save_preset(model, str(tmp_path / "stra"))
    out = tmp_path / "attention.png"
    image = os.path.join(SAMPLES, "id0002_c1_01.jpg")
    assert cli.main(["visualize", "attention", preset, image, "--output", str(out), "--max-maps", "4"]) == 0
    assert "mode_attention" in capsys.readouterr().out
    assert Image.open(out).width > 5 * 96
    # a model without attention layers: its activation map (torchreid's visualize_actmap)
    out.unlink()
    assert cli.main(["visualize", "attention", workspace["preset"], image, "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "no attention layer; activation map of features_18_conv" in said
    picture = Image.open(out)
    assert picture.width >= 2 * 96  # the input and one heat map
    from keras_reid.visualization import activation_map

    name, maps = activation_map(keras_reid.load(workspace["preset"]), np.random.rand(2, 64, 32, 3).astype("float32"))
    assert maps.shape == (2, 4, 2, 1) and maps.min() == 0.0 and maps.max() == 1.0


def test_train_delegates_to_keras_reid_training(capsys):
    if importlib.util.find_spec("keras_reid.training") is None:
        assert cli.main(["train", "--help"]) == 2
        assert "keras_reid.training" in capsys.readouterr().err
        return
    with pytest.raises(SystemExit) as info:  # keras_reid.training's own parser prints its help
        cli.main(["train", "--help"])
    assert info.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_eval_dg_benchmarks(workspace, tmp_path, capsys):
    from tests.data.test_multi_source_and_dg import flat

    root = tmp_path / "reid_extra"
    flat(str(root / "viper"), [(p, c, 1) for p in range(316) for c in (0, 1)])
    flat(str(root / "i-lid"), [(p, 0, 2) for p in range(1, 61)])
    metrics_path = tmp_path / "dg.json"
    code = cli.main(["eval", workspace["preset"], "--dataset", "viper", "--root", str(root), "--splits", "2",
                     "--json", str(metrics_path), "--cmc-plot", ""])
    assert code == 0
    out = capsys.readouterr().out
    assert "| viper | 2 |" in out and "±" in out
    result = json.loads(metrics_path.read_text())
    viper = result["benchmarks"]["viper"]
    assert result["num_splits"] == 2 and len(viper["splits"]) == 2
    assert viper["splits"][0]["num_query"] == 316 and viper["splits"][0]["num_gallery"] == 316
    assert 0 <= viper["mean"]["rank1"] <= 100
    # 'dg' runs all four and names the missing folder in one line.
    assert cli.main(["eval", workspace["preset"], "--dataset", "dg", "--root", str(root), "--splits", "1"]) == 2
    assert "No 'prid' folder" in capsys.readouterr().err
    assert cli.main(["eval", workspace["preset"], "--dataset", "ilids", "--root", str(root), "--splits", "0"]) == 2
    assert "--splits must be >= 1" in capsys.readouterr().err


def test_eval_on_evaluation_only_folders(workspace, tmp_path, capsys, monkeypatch):
    """query/gallery without a train split (image_folder and Market layouts); no picture unless asked."""
    monkeypatch.chdir(tmp_path)
    folder, market = tmp_path / "qg", tmp_path / "market"
    for name in sorted(os.listdir(workspace["gallery"])):
        if not name.endswith(".jpg"):
            continue
        src = os.path.join(workspace["gallery"], name)
        identity = name.split("_")[0]
        split = "query" if "_c1_" in name else "gallery"
        (folder / split / identity).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, folder / split / identity / name)
        market_split = "query" if "_c1_" in name else "bounding_box_test"
        (market / market_split).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, market / market_split / name.removeprefix("id"))
    # One query whose identity is absent from the gallery: counted, then skipped.
    (folder / "query" / "id0099").mkdir()
    shutil.copy(os.path.join(workspace["gallery"], "id0001_c1_01.jpg"), folder / "query" / "id0099" / "x_c1_01.jpg")
    out = tmp_path / "m.json"
    assert cli.main(["eval", workspace["preset"], "-d", "image_folder", "-r", str(folder), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    metrics = json.loads(out.read_text())
    assert metrics["num_query"] == 5 and metrics["num_valid_queries"] == 4 and metrics["num_skipped_queries"] == 1
    assert "4 of 5 queries evaluated; 1 skipped" in text
    assert cli.main(["eval", workspace["preset"], "-d", "market1501", "-r", str(market), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["num_valid_queries"] == 4
    assert not list(tmp_path.glob("*.png"))  # no picture unless --cmc-plot is given


def test_search_writes_no_picture_unless_asked(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    query = os.path.join(workspace["gallery"], "id0001_c1_01.jpg")
    assert cli.main(["search", workspace["preset"], "--query", query, "--gallery", workspace["gallery"]]) == 0
    assert not list(tmp_path.glob("*.png"))


def test_default_model_card_loads_what_it_says(tmp_path):
    import re

    keras.utils.set_random_seed(0)
    folder = keras_reid.save_preset(keras_reid.build("mobilenetv2", image_shape=(64, 32, 3)), str(tmp_path / "my_ds"),
                                    metadata={"name": "mobilenetv2_myds"})
    card = open(os.path.join(folder, "README.md")).read()
    handle = re.search(r'keras_reid\.load\("([^"]+)"\)', card).group(1)
    assert keras_reid.load(handle).embedding_dim == 512


def test_search_a_saved_gallery_with_json_and_csv(workspace, tmp_path, capsys):
    import csv

    emb = tmp_path / "gallery.npy"
    assert cli.main(["embed", workspace["preset"], workspace["gallery"], "-o", str(emb)]) == 0
    query = os.path.join(workspace["gallery"], "id0001_c1_01.jpg")
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert cli.main(["search", workspace["preset"], "-q", query, "-g", str(emb), "-k", "5",
                     "--json", str(out_json), "--csv", str(out_csv)]) == 0
    saved = json.loads(out_json.read_text())["queries"][0]["results"]
    # The same ranking as searching the folder (re-embedding it), the query itself excluded.
    assert cli.main(["search", workspace["preset"], "-q", query, "-g", workspace["gallery"], "-k", "5",
                     "--json", str(tmp_path / "f.json"), "--index", "faiss"]) == 0
    folder = json.loads((tmp_path / "f.json").read_text())["queries"][0]["results"]
    assert [os.path.basename(r["path"]) for r in saved] == [os.path.basename(r["path"]) for r in folder]
    assert all(abs(a["distance"] - b["distance"]) < 1e-4 for a, b in zip(saved, folder))
    assert "id0001_c1_01.jpg" not in [os.path.basename(r["path"]) for r in saved]
    rows = list(csv.DictReader(open(out_csv)))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"] and rows[0]["path"] == saved[0]["path"]
    # Embeddings of another preset are refused.
    other = keras_reid.save_preset(keras_reid.build("mobilenetv2", image_shape=(64, 32, 3)), str(tmp_path / "other"))
    capsys.readouterr()
    assert cli.main(["search", other, "-q", query, "-g", str(emb)]) == 2
    assert "cannot be compared" in capsys.readouterr().err


def test_search_gallery_matches_a_full_sort():
    from keras_reid.evaluation import compute_distance_matrix
    from keras_reid.evaluation.gallery_search import search_gallery

    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(3000, 32)).astype("float32")
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries = gallery[:40] + 0.01
    exclude = [[i] for i in range(40)]
    full = np.argsort(compute_distance_matrix(queries, gallery, metric="cosine"), axis=1, kind="stable")
    for index in ("exact", "faiss"):
        dist, idx = search_gallery(queries, gallery, k=10, exclude=exclude, index=index)
        for i in range(40):
            expected = [j for j in full[i] if j != i][:10]
            assert idx[i].tolist() == expected, index
        assert np.all(np.diff(dist, axis=1) >= -1e-6)


def test_export_writes_a_servable_saved_model(workspace, tmp_path):
    """`keras-reid export`: the SavedModel computes what the preset computes, on raw crops of any size."""
    import tensorflow as tf

    out = tmp_path / "reid_savedmodel"
    result = run_cli(["export", workspace["preset"], str(out)], workspace)
    assert result.returncode == 0, result.stderr
    assert "0-255" in result.stdout and "L2-normalised 512-D" in result.stdout
    crops = np.stack([np.asarray(Image.open(os.path.join(SAMPLES, n)).convert("RGB").resize((50, 110)))
                      for n in sorted(os.listdir(SAMPLES)) if n.endswith(".jpg")][:3]).astype("float32")
    loaded = tf.saved_model.load(str(out))  # kept referenced: its variables live in this object
    served = loaded.serve(tf.constant(crops)).numpy()
    want = keras_reid.FeatureExtractor(workspace["preset"], verbose=False)(list(crops.astype("uint8")))
    np.testing.assert_allclose(served, want, atol=1e-5)
    # An existing output is not replaced unless asked.
    result = run_cli(["export", workspace["preset"], str(out)], workspace)
    assert_one_line_error(result, "exists", "--overwrite")
