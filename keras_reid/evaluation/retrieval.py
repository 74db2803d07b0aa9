"""Rankings as records: who each query retrieved, with identities parsed from file names.

What `keras-reid search`, `visualize retrieval` and `demo` show and write (JSON, CSV); the
ranking itself is `search_gallery` or a row of a distance matrix.
"""

import csv
import json

import numpy as np

from keras_reid.evaluation.rank import evaluate_rank


def top_k(dist_row, k, exclude=None):
    """Indices of the `k` smallest distances of one query, nearest first (ties: lower index).

    Args:
        dist_row: (G,) distances of one query to the gallery.
        k: how many to return (fewer when the gallery minus `exclude` is smaller).
        exclude: optional gallery indices never returned (e.g. the query itself).

    Example:
    >>> top_k(np.array([0.3, 0.1, 0.2, 0.1]), 2, exclude=[1]).tolist()
    [3, 2]
    """
    order = np.argsort(np.asarray(dist_row), kind="stable")
    if exclude is not None and len(exclude):
        order = order[~np.isin(order, exclude)]
    return order[: int(k)]


def retrieval_records(query_paths, gallery_paths, distances, indices):
    """One record per query: its ranked gallery items with identities and whether they match.

    Identities come from Market-style file names (`visualization.parse_identity`); an item's
    `id` or `match` is None when a name carries no identity.

    Args:
        query_paths: Q query image paths.
        gallery_paths: G gallery image paths.
        distances: (Q, k) distances of the ranked items (as `search_gallery` returns).
        indices: (Q, k) gallery indices, nearest first.

    Returns:
        A list of `{"query", "query_id", "results": [{"rank", "path", "distance", "id", "match"}]}`.

    Example:
    >>> r = retrieval_records(["0001_c1_a.jpg"], ["0001_c2_b.jpg", "0002_c2_c.jpg"],
    ...                       np.array([[0.1, 0.4]]), np.array([[0, 1]]))
    >>> [(i["id"], i["match"]) for i in r[0]["results"]]
    [(1, True), (2, False)]
    """
    from keras_reid.visualization import parse_identity

    gallery_ids = {}
    records = []
    for q, dist_row, idx_row in zip(query_paths, distances, indices):
        qid = parse_identity(q)[0]
        results = []
        for rank, (j, d) in enumerate(zip(idx_row, dist_row), start=1):
            j = int(j)
            if j not in gallery_ids:
                gallery_ids[j] = parse_identity(gallery_paths[j])[0]
            gid = gallery_ids[j]
            results.append({
                "rank": rank,
                "path": gallery_paths[j],
                "distance": float(d),
                "id": gid,
                "match": None if qid is None or gid is None else gid == qid,
            })
        records.append({"query": q, "query_id": qid, "results": results})
    return records


def write_records_json(path, records, **meta):
    """Writes `meta` (preset, metric, ...) and `queries: records` to a JSON file."""
    with open(path, "w") as f:
        json.dump({**meta, "queries": records}, f, indent=1)


def write_records_csv(path, records):
    """Writes one CSV row per (query, ranked item): query, rank, path, distance, id, match."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["query", "rank", "path", "distance", "id", "match"])
        for r in records:
            for item in r["results"]:
                writer.writerow([r["query"], item["rank"], item["path"], f"{item['distance']:.6f}",
                                 "" if item["id"] is None else item["id"],
                                 "" if item["match"] is None else int(item["match"])])


def leave_one_out(distances, pids, camids, top_k_per_query=5):
    """Every image queries all the others, as in the Market protocol (other cameras only).

    Same-identity same-camera images (the query itself included) are neither counted nor
    shown. One example query per identity (its first image) is ranked for a picture.

    Args:
        distances: (N, N) distances among the images.
        pids, camids: (N,) identities and cameras.
        top_k_per_query: items ranked per example query.

    Returns:
        `{"metrics": evaluate_rank(...), "num_valid_queries": int,
        "examples": [(query_index, ranked_gallery_indices), ...]}`.

    Example:
    >>> d = np.array([[0, .1, .9], [.1, 0, .9], [.9, .9, 0]], "float32")
    >>> r = leave_one_out(d, np.array([1, 1, 2]), np.array([1, 2, 1]), 1)
    >>> r["num_valid_queries"], float(r["metrics"]["mAP"]), r["examples"][0][1].tolist()
    (2, 1.0, [1])
    """
    distances = np.asarray(distances)
    pids, camids = np.asarray(pids), np.asarray(camids)
    n = len(pids)
    metrics = evaluate_rank(distances, pids, pids, camids, camids, max_rank=max(1, min(10, n - 1)))
    valid = sum(1 for i in range(n) if np.any((pids == pids[i]) & (camids != camids[i])))
    examples, seen = [], set()
    for i in range(n):
        if pids[i] in seen:
            continue
        seen.add(pids[i])
        same_view = np.flatnonzero((pids == pids[i]) & (camids == camids[i]))
        examples.append((i, top_k(distances[i], top_k_per_query, exclude=same_view)))
    return {"metrics": metrics, "num_valid_queries": valid, "examples": examples}
