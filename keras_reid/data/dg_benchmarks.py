"""Domain-generalisation (DG) benchmarks: VIPeR, PRID, GRID and i-LIDS, single-shot.

The protocols of the DG ReID literature (e.g. DualNorm, Jia et al., BMVC 2019,
arXiv:1905.03422), on the flat `PPPP_cC_NNN.jpg` copies of the sources
(`shared/datasets/reid_extra/<source>/`). A model is never trained on these four
sources; it is evaluated on `NUM_SPLITS` random splits and the mean (± std) is reported.

* **VIPeR**: 316 random identities; query = their camera-0 image, gallery = their camera-1
  image.
* **PRID** (PRID2011 single-shot): 100 random identities of the 200 seen by both cameras;
  query = their camera-0 image; gallery = the camera-1 images of those 100 plus every
  camera-1-only identity (549 distractors, 649 images).
* **GRID**: 125 random identities of the 250 pairs; query = one image of the pair (the
  first by name), gallery = the other plus every single-image identity (775 distractors,
  900 images).
* **i-LIDS**: 60 random identities of those with at least two images; one random image
  as query, another random image as gallery.

Queries and gallery images are given camera ids 0 and 1 (the protocols build them from
different views; i-LIDS has no camera labels), so the Market-style same-identity /
same-camera filter never removes a true match. Split `k` of seed `s` draws from
`np.random.default_rng([s, k])`: reproducible, and independent of the other splits.
"""

import collections
import os

import numpy as np

from keras_reid.data.base import DatasetLayoutError, ImageRecord, ReIDDataset, register_dataset
from keras_reid.data.flat_folder import parse_flat_folder

NUM_SPLITS = 10
# name -> (folder name under reid_extra, number of test identities)
_FOLDERS = {"viper": ("viper", 316), "prid": ("prid", 100), "grid": ("grid", 125), "ilids": ("i-lid", 60)}
DG_BENCHMARKS = tuple(_FOLDERS)
# What the DG literature reports (rank-1, %, MobileNetV2 trained on five large datasets):
# DualNorm, arXiv:1905.03422, Table 3 — the papers' numbers, not measured here.
PUBLISHED_RANK1 = {
    "aggregated baseline (DualNorm paper)": {"viper": 42.1, "prid": 27.2, "grid": 28.6, "ilids": 70.0},
    "DualNorm (paper)": {"viper": 53.9, "prid": 60.4, "grid": 41.4, "ilids": 78.5},
}


def benchmark_folder(name, root):
    """The folder of benchmark `name` under `root` (`root` itself or `root/<source folder>`)."""
    folder = _FOLDERS[name][0]
    root = os.fspath(root)
    for candidate in (root, os.path.join(root, folder), os.path.join(root, "reid_extra", folder)):
        if os.path.isdir(candidate) and os.path.basename(os.path.normpath(candidate)) == folder:
            return candidate
    raise DatasetLayoutError(
        f"No {folder!r} folder at or under {root!r}; expected layout: <root>/{folder}/PPPP_cC_NNN.jpg"
    )


def _by_identity(records):
    out = collections.defaultdict(list)
    for r in records:
        out[r.pid].append(r)
    return out


def _need(name, have, need, what):
    if have < need:
        raise DatasetLayoutError(f"{name}: the protocol needs {need} {what}, the folder has {have}.")


def _rng(seed, split_id):
    if not 0 <= int(split_id):
        raise ValueError(f"split_id must be a non-negative integer, got {split_id}.")
    return np.random.default_rng([int(seed), int(split_id)])


def _query(record):
    return ImageRecord(record.path, record.pid, 0)


def _gallery(record):
    return ImageRecord(record.path, record.pid, 1)


def viper(root, split_id=0, seed=0):
    """VIPeR split `split_id`: 316 identities, camera 0 → camera 1 (see the module docstring)."""
    ids = _by_identity(parse_flat_folder(benchmark_folder("viper", root)))
    pairs = sorted(p for p, rs in ids.items() if {r.camid for r in rs} >= {0, 1})
    _need("viper", len(pairs), 316, "identities seen by both cameras")
    chosen = sorted(_rng(seed, split_id).choice(pairs, 316, replace=False).tolist())
    query = [_query(min((r for r in ids[p] if r.camid == 0), key=lambda r: r.path)) for p in chosen]
    gallery = [_gallery(min((r for r in ids[p] if r.camid == 1), key=lambda r: r.path)) for p in chosen]
    return ReIDDataset(f"viper_split{split_id}", [], query, gallery)


def prid(root, split_id=0, seed=0):
    """PRID2011 single-shot split `split_id`: 100 query ids, 649 gallery images."""
    ids = _by_identity(parse_flat_folder(benchmark_folder("prid", root)))
    both = sorted(p for p, rs in ids.items() if {r.camid for r in rs} >= {0, 1})
    b_only = sorted(p for p, rs in ids.items() if {r.camid for r in rs} == {1})
    _need("prid", len(both), 100, "identities seen by both cameras")
    chosen = sorted(_rng(seed, split_id).choice(both, 100, replace=False).tolist())
    query = [_query(min((r for r in ids[p] if r.camid == 0), key=lambda r: r.path)) for p in chosen]
    gallery = [_gallery(r) for p in chosen + b_only for r in sorted(ids[p], key=lambda r: r.path) if r.camid == 1]
    return ReIDDataset(f"prid_split{split_id}", [], query, gallery)


def grid(root, split_id=0, seed=0):
    """GRID split `split_id`: 125 query ids, 900 gallery images (775 distractors)."""
    ids = _by_identity(parse_flat_folder(benchmark_folder("grid", root)))
    pairs = sorted(p for p, rs in ids.items() if len(rs) >= 2)
    singles = sorted(p for p, rs in ids.items() if len(rs) == 1)
    _need("grid", len(pairs), 125, "identities with two images")
    chosen = sorted(_rng(seed, split_id).choice(pairs, 125, replace=False).tolist())
    query, gallery = [], []
    for p in chosen:
        first, second = sorted(ids[p], key=lambda r: r.path)[:2]
        query.append(_query(first))
        gallery.append(_gallery(second))
    gallery += [_gallery(ids[p][0]) for p in singles]
    return ReIDDataset(f"grid_split{split_id}", [], query, gallery)


def ilids(root, split_id=0, seed=0):
    """QMUL i-LIDS split `split_id`: 60 identities, one random query and one gallery image each."""
    ids = _by_identity(parse_flat_folder(benchmark_folder("ilids", root)))
    multi = sorted(p for p, rs in ids.items() if len(rs) >= 2)
    _need("ilids", len(multi), 60, "identities with at least two images")
    rng = _rng(seed, split_id)
    chosen = sorted(rng.choice(multi, 60, replace=False).tolist())
    query, gallery = [], []
    for p in chosen:
        images = sorted(ids[p], key=lambda r: r.path)
        q, g = rng.choice(len(images), 2, replace=False).tolist()
        query.append(_query(images[q]))
        gallery.append(_gallery(images[g]))
    return ReIDDataset(f"ilids_split{split_id}", [], query, gallery)


_PROTOCOLS = {"viper": viper, "prid": prid, "grid": grid, "ilids": ilids}


def dg_splits(name, root, num_splits=NUM_SPLITS, seed=0):
    """The `num_splits` query/gallery splits of DG benchmark `name` (a list of `ReIDDataset`).

    Example:
    >>> from keras_reid.data import dg_splits
    >>> # splits = dg_splits("viper", "../shared/datasets/reid_extra")  # 10 x (316 query, 316 gallery)
    """
    if name not in _PROTOCOLS:
        raise ValueError(f"Unknown DG benchmark {name!r}; available: {', '.join(DG_BENCHMARKS)}.")
    if int(num_splits) < 1:
        raise ValueError(f"num_splits must be positive, got {num_splits}.")
    return [_PROTOCOLS[name](root, split_id=k, seed=seed) for k in range(int(num_splits))]


for _name, _fn in _PROTOCOLS.items():
    register_dataset(_name, _fn, f"DG benchmark {_name} (split_id=0..{NUM_SPLITS - 1}; never trained on)")
