import numpy as np
import pytest

from keras_reid.data import ImageRecord
from keras_reid.evaluation import evaluate_rank, evaluate_splits


class Split:
    def __init__(self, name, query, gallery):
        self.name, self.query, self.gallery = name, query, gallery


def test_each_split_ranked_on_its_own_and_images_embedded_once():
    rng = np.random.default_rng(0)
    paths = [f"img{i}" for i in range(12)]
    vectors = {p: rng.normal(size=8).astype("float32") for p in paths}
    pids = {p: i % 4 for i, p in enumerate(paths)}
    splits = [
        Split("a", [ImageRecord(p, pids[p], 0) for p in paths[:4]], [ImageRecord(p, pids[p], 1) for p in paths[4:8]]),
        Split("b", [ImageRecord(p, pids[p], 0) for p in paths[4:8]], [ImageRecord(p, pids[p], 1) for p in paths[8:]]),
    ]
    calls = []

    def embed(batch):
        calls.append(list(batch))
        return np.stack([vectors[p] for p in batch])

    result = evaluate_splits(splits, embed, metric="euclidean", max_rank=4)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(paths)  # each image once, in one call
    for split, got in zip(splits, result["splits"]):
        q = np.stack([vectors[r.path] for r in split.query])
        g = np.stack([vectors[r.path] for r in split.gallery])
        dist = ((q[:, None] - g[None]) ** 2).sum(-1)
        ref = evaluate_rank(dist, np.array([r.pid for r in split.query]), np.array([r.pid for r in split.gallery]),
                            np.zeros(4, int), np.ones(4, int), max_rank=4)
        assert got["mAP"] == pytest.approx(100 * ref["mAP"], abs=1e-4)
        assert got["rank1"] == pytest.approx(100 * ref["cmc"][0], abs=1e-4)
    values = [r["rank5"] for r in result["splits"]]
    assert result["mean"]["rank5"] == pytest.approx(np.mean(values))
    assert result["std"]["rank5"] == pytest.approx(np.std(values))
    assert len(result["cmc"]) == 4


def test_bad_inputs():
    split = Split("a", [ImageRecord("x", 0, 0)], [ImageRecord("y", 0, 1)])
    with pytest.raises(ValueError, match="at least one split"):
        evaluate_splits([], lambda p: np.zeros((len(p), 2)))
    with pytest.raises(ValueError, match="embed returned shape"):
        evaluate_splits([split], lambda p: np.zeros((1, 2)))
    with pytest.raises(ValueError, match="no query"):
        evaluate_splits([Split("e", [], [ImageRecord("y", 0, 1)])], lambda p: np.zeros((len(p), 2)))
