"""`keras_reid.evaluation.evaluate_model`: one query/gallery evaluation for the trainer, the CLI and the benchmarks."""

import numpy as np

from keras_reid.evaluation.distance import compute_distance_matrix
from keras_reid.evaluation.rank import evaluate_rank


def evaluate_records(dist, query, gallery, max_rank=50):
    """`evaluate_rank` on a `(len(query), len(gallery))` distance matrix of `ImageRecord` lists."""
    return evaluate_rank(
        dist,
        np.asarray([r.pid for r in query]),
        np.asarray([r.pid for r in gallery]),
        np.asarray([r.camid for r in query]),
        np.asarray([r.camid for r in gallery]),
        max_rank=min(int(max_rank), len(gallery)),
    )


def evaluate_model(
    model,
    dataset,
    metric="cosine",
    normalize=True,
    rerank=False,
    flip=False,
    max_rank=50,
    batch_size=64,
    preprocessor=None,
    extractor=None,
):
    """Ranks `dataset.gallery` for every `dataset.query` image with `model`'s embeddings.

    The images are read and embedded by `keras_reid.FeatureExtractor` (the library's one
    inference path), the distance matrix is `compute_distance_matrix`, optionally
    k-reciprocal re-ranked (`re_rank`), and ranked with the Market-1501 rules of
    `evaluate_rank` (same-identity same-camera gallery images ignored).

    Args:
        model: a `keras_reid.ReIDModel` (end-to-end or bare) or anything
            `keras_reid.load` accepts.
        dataset: an object with `query` and `gallery` lists of `ImageRecord(path, pid,
            camid)` (a `keras_reid.data.ReIDDataset`).
        metric: "cosine" (default) or "euclidean"/"sqeuclidean".
        normalize: L2-normalise the embeddings before the distances (the default; False
            is torchreid's evaluation of a bare model without `normalize_feature`).
        rerank: k-reciprocal re-ranking (Zhong et al., CVPR 2017).
        flip: average each image's embedding with its mirror's.
        max_rank: length of the CMC curve (at most the gallery size).
        batch_size: images per forward pass.
        preprocessor: a `ReIDPreprocessor` for a bare model (default: ImageNet statistics
            at the model's input size); an end-to-end model uses its own.
        extractor: an existing `FeatureExtractor` to use instead (its settings apply).

    Returns:
        `evaluate_rank`'s dict (fractions: `"cmc"`, `"mAP"`, `"mINP"`,
        `"num_valid_queries"`) plus `"rank1"`, `"rank5"`, `"rank10"`, `"num_query"` and
        `"num_gallery"`.

    Example:
    >>> import keras_reid
    >>> from keras_reid.data import get_dataset
    >>> from keras_reid.evaluation import evaluate_model
    >>> dataset = get_dataset("market1501", "Market-1501-v15.09.15")  # doctest: +SKIP
    >>> evaluate_model(keras_reid.load("mobilenetv2_multisource"), dataset)["mAP"]  # doctest: +SKIP
    """
    if not dataset.query or not dataset.gallery:
        raise ValueError("The dataset has no query or no gallery images.")
    if extractor is None:
        from keras_reid.feature_extractor import FeatureExtractor

        extractor = FeatureExtractor(
            model, batch_size=batch_size, flip=flip, preprocessor=preprocessor, verbose=False, normalize=normalize
        )
    query = extractor([r.path for r in dataset.query])
    gallery = extractor([r.path for r in dataset.gallery])
    dist = compute_distance_matrix(query, gallery, metric=metric)
    if rerank:
        from keras_reid.evaluation.rerank import re_rank

        dist = re_rank(
            dist,
            compute_distance_matrix(query, query, metric=metric),
            compute_distance_matrix(gallery, gallery, metric=metric),
        )
    result = evaluate_records(dist, dataset.query, dataset.gallery, max_rank=max_rank)
    cmc = result["cmc"]
    for k in (1, 5, 10):
        result[f"rank{k}"] = float(cmc[min(k, len(cmc)) - 1])
    result["num_query"] = len(dataset.query)
    result["num_gallery"] = len(dataset.gallery)
    return result
