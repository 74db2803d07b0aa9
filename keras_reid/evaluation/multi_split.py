"""Ranking metrics averaged over the random splits of a benchmark (VIPeR, PRID, GRID, i-LIDS)."""

import numpy as np

from keras_reid.evaluation.distance import compute_distance_matrix
from keras_reid.evaluation.evaluate_model import evaluate_records

METRICS = ("mAP", "rank1", "rank5", "rank10", "mINP")


def evaluate_splits(splits, embed, metric="cosine", max_rank=50):
    """Evaluates query/gallery `splits` and returns per-split metrics with their mean and std.

    Every distinct image of all splits is embedded once (one call of `embed`), then each
    split is ranked on its own (Market-style rules, `evaluate_rank`).

    Args:
        splits: a sequence of objects with `query` and `gallery` lists of
            `ImageRecord(path, pid, camid)` (e.g. `keras_reid.data.dg_splits(...)`).
        embed: callable mapping a list of image paths to an `(N, D)` array (a
            `keras_reid.FeatureExtractor` is one).
        metric: `compute_distance_matrix` metric ("cosine" or "euclidean").
        max_rank: length of the CMC curves.

    Returns:
        A dict: `"splits"` (one dict of `METRICS` in percent, `num_query`, `num_gallery`
        and `cmc` per split), `"mean"` and `"std"` (population std over splits, `ddof=0`,
        as the DG literature reports) of every metric, and `"cmc"`, the mean CMC curve.

    Example:
    >>> import numpy as np
    >>> from keras_reid.data import ImageRecord
    >>> class Split:
    ...     query = [ImageRecord("a", 0, 0), ImageRecord("b", 1, 0)]
    ...     gallery = [ImageRecord("c", 0, 1), ImageRecord("d", 1, 1)]
    >>> vectors = {"a": [1, 0], "b": [0, 1], "c": [1, 0.1], "d": [0.1, 1]}
    >>> result = evaluate_splits([Split()], lambda paths: np.array([vectors[p] for p in paths], "float32"))
    >>> result["mean"]["rank1"]
    100.0
    """
    splits = list(splits)
    if not splits:
        raise ValueError("evaluate_splits needs at least one split.")
    paths = sorted({r.path for s in splits for r in list(s.query) + list(s.gallery)})
    features = np.asarray(embed(paths), dtype=np.float32)
    if features.ndim != 2 or len(features) != len(paths):
        raise ValueError(f"embed returned shape {features.shape} for {len(paths)} images; expected ({len(paths)}, D).")
    row = {p: i for i, p in enumerate(paths)}
    results = []
    for split in splits:
        if not split.query or not split.gallery:
            raise ValueError(f"Split {getattr(split, 'name', '?')} has no query or no gallery images.")
        q = features[[row[r.path] for r in split.query]]
        g = features[[row[r.path] for r in split.gallery]]
        dist = compute_distance_matrix(q, g, metric=metric)
        m = evaluate_records(dist, split.query, split.gallery, max_rank=max_rank)
        cmc = np.asarray(m["cmc"], np.float64)
        pick = lambda k: 100.0 * float(cmc[min(k, len(cmc)) - 1])  # noqa: E731
        results.append(
            {
                "name": getattr(split, "name", None),
                "num_query": len(split.query),
                "num_gallery": len(split.gallery),
                "mAP": 100.0 * float(m["mAP"]),
                "rank1": pick(1),
                "rank5": pick(5),
                "rank10": pick(10),
                "mINP": 100.0 * float(m["mINP"]),
                "cmc": [float(v) for v in cmc],
            }
        )
    length = min(len(r["cmc"]) for r in results)
    return {
        "splits": results,
        "mean": {k: float(np.mean([r[k] for r in results])) for k in METRICS},
        "std": {k: float(np.std([r[k] for r in results])) for k in METRICS},
        "cmc": [float(v) for v in np.mean([r["cmc"][:length] for r in results], axis=0)],
    }
