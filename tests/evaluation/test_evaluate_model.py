"""`evaluate_model`: the one query/gallery evaluation (trainer, CLI and benchmarks)."""

import json
import os

import numpy as np
import pytest

import keras_reid
from keras_reid import data
from keras_reid.evaluation import compute_distance_matrix, evaluate_model, evaluate_rank, re_rank
from tests.data.synthetic import make_market

SHAPE = (32, 16, 3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("market"))
    query = [(pid, 1) for pid in range(6)]
    gallery = [(pid, cam) for pid in range(6) for cam in (2, 3)] + [(-1, 2)]
    make_market(root, train=[(0, 1), (1, 2)], query=query, gallery=gallery)
    return data.get_dataset("market1501", root)


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return keras_reid.build("mobilenetv2", image_shape=SHAPE)


def _by_hand(model, dataset, metric, normalize, rerank=False):
    """The same steps written out: extract, distances, (re-rank), Market ranking."""
    extractor = keras_reid.FeatureExtractor(model, verbose=False, normalize=normalize)
    q = extractor([r.path for r in dataset.query])
    g = extractor([r.path for r in dataset.gallery])
    dist = compute_distance_matrix(q, g, metric=metric)
    if rerank:
        dist = re_rank(dist, compute_distance_matrix(q, q, metric=metric), compute_distance_matrix(g, g, metric=metric))
    pids = lambda rs: np.array([r.pid for r in rs])  # noqa: E731
    cams = lambda rs: np.array([r.camid for r in rs])  # noqa: E731
    return evaluate_rank(dist, pids(dataset.query), pids(dataset.gallery), cams(dataset.query), cams(dataset.gallery),
                         max_rank=10)


@pytest.mark.parametrize("metric,normalize,rerank", [("cosine", True, False), ("euclidean", False, False),
                                                     ("euclidean", True, True)])
def test_matches_the_steps_by_hand(model, dataset, metric, normalize, rerank):
    got = evaluate_model(model, dataset, metric=metric, normalize=normalize, rerank=rerank, max_rank=10)
    want = _by_hand(model, dataset, metric, normalize, rerank)
    assert got["mAP"] == pytest.approx(want["mAP"], abs=1e-7)
    np.testing.assert_allclose(got["cmc"], want["cmc"], atol=1e-7)
    assert got["rank1"] == pytest.approx(float(want["cmc"][0]))
    assert got["num_query"] == len(dataset.query) == 6 and got["num_gallery"] == len(dataset.gallery) == 12


def test_trainer_and_cli_report_what_evaluate_model_reports(model, dataset, tmp_path):
    """The trainer (recipe's metric and normalisation) and `keras-reid eval` agree with it."""
    from keras_reid.cli import main as cli
    from keras_reid.presets.preprocessor import ReIDPreprocessor
    from keras_reid.training.recipes import get_recipe
    from keras_reid.training.trainer import evaluate

    recipe = get_recipe("mobilenetv2").replace(eval_metric="euclidean", eval_normalize=False)
    trained = evaluate(model, dataset, ReIDPreprocessor(SHAPE[:2]), recipe)
    direct = evaluate_model(model, dataset, metric="euclidean", normalize=False)
    assert trained == {k: pytest.approx(float(direct[k])) for k in ("mAP", "mINP", "rank1", "rank5", "rank10")}

    preset = keras_reid.save_preset(model, str(tmp_path / "preset"))
    out = tmp_path / "metrics.json"
    assert cli(["eval", preset, "--dataset", "market1501", "--root", dataset_root(dataset),
                "--json", str(out), "--cmc-plot", ""]) == 0
    reported = json.loads(out.read_text())
    loaded = evaluate_model(keras_reid.load(preset), dataset)
    assert reported["mAP"] == pytest.approx(loaded["mAP"], abs=1e-6)
    assert reported["cmc"][0] == pytest.approx(loaded["rank1"], abs=1e-6)
    # A bare model evaluated with its preprocessor gives what the end-to-end preset gives.
    assert evaluate_model(model, dataset)["mAP"] == pytest.approx(loaded["mAP"], abs=1e-6)


def dataset_root(dataset):
    return os.path.dirname(os.path.dirname(dataset.query[0].path))


def test_refuses_an_empty_split(model):
    class Empty:
        query, gallery = [], [data.ImageRecord("x.jpg", 0, 0)]

    with pytest.raises(ValueError, match="no query"):
        evaluate_model(model, Empty())
