"""Parsers of the standard person re-identification datasets (torchreid's protocols).

Every parser returns a `ReIDDataset` (train pids relabelled to 0..n-1, query/gallery pids
kept, camids 0-based). Non-image files are skipped with one counted log line; image names
that do not match the dataset's pattern raise `DatasetParseError` (no label is guessed);
a missing split folder raises `DatasetLayoutError` naming the folder and the layout.
"""

import logging
import os
import re

import numpy as np

from keras_reid.data.base import (
    DatasetLayoutError,
    DatasetParseError,
    ImageRecord,
    ReIDDataset,
    match_image_names,
    register_dataset,
    relabel,
    require_dir,
    require_file,
)
from keras_reid.utils.images import list_images

logger = logging.getLogger("keras_reid.data")

MARKET_PATTERN = re.compile(r"([-\d]+)_c(\d)")


def _locate(root, candidates, required):
    """The first of `root`, `root/<candidate>...` that holds every `required` entry."""
    root = os.fspath(root)
    for sub in ("",) + tuple(candidates):
        base = os.path.join(root, sub) if sub else root
        if all(os.path.exists(os.path.join(base, r)) for r in required):
            return base
    # Report the first missing entry relative to the most plausible base.
    base = root
    for sub in candidates:
        if os.path.isdir(os.path.join(root, sub)):
            base = os.path.join(root, sub)
            break
    return base


# -- Market-1501 family ----------------------------------------------------------------------
def _parse_market_dir(folder, num_cams, max_pid, relabel_pids, layout):
    records = []
    for path, match in match_image_names(folder, MARKET_PATTERN, layout):
        pid, cam = int(match.group(1)), int(match.group(2))
        if pid == -1:
            continue  # junk images are ignored (torchreid)
        if not 0 <= pid <= max_pid:
            raise DatasetParseError(f"{path}: pid {pid} outside 0..{max_pid}.")
        if not 1 <= cam <= num_cams:
            raise DatasetParseError(f"{path}: camera c{cam} outside c1..c{num_cams}.")
        records.append(ImageRecord(path, pid, cam - 1))
    return relabel(records) if relabel_pids else records


def _market_style(name, root, candidates, num_cams, max_pid, extra_gallery=None, require_train=True):
    splits = ("bounding_box_train", "query", "bounding_box_test")
    base = _locate(root, candidates, splits if require_train else splits[1:])
    layout = f"<root>/{{{','.join(splits)}}}/PPPP_cC..jpg"
    train = []
    if require_train or os.path.isdir(os.path.join(base, splits[0])):
        train = _parse_market_dir(os.path.join(base, splits[0]), num_cams, max_pid, True, layout)
    query = _parse_market_dir(os.path.join(base, splits[1]), num_cams, max_pid, False, layout)
    gallery = _parse_market_dir(os.path.join(base, splits[2]), num_cams, max_pid, False, layout)
    if extra_gallery and os.path.isdir(os.path.join(base, extra_gallery)):
        gallery += _parse_market_dir(os.path.join(base, extra_gallery), num_cams, max_pid, False, layout)
    return ReIDDataset(name, train, query, gallery)


def market1501(root, market1501_500k=False, require_train=True):
    """Market-1501 (Zheng et al., ICCV 2015), torchreid's protocol.

    `root` is the `Market-1501-v15.09.15` folder (or a parent holding it / `market1501/`).
    Pattern `([-\\d]+)_c(\\d)`: pid -1 (junk) dropped, pid 0 (distractors) kept, pids must
    lie in 0..1501 and cameras in c1..c6 (else `DatasetParseError`); camids 0..5.
    `require_train=False` accepts a copy without `bounding_box_train` (evaluation only).
    """
    return _market_style(
        "market1501",
        root,
        ("Market-1501-v15.09.15", "market1501", "market1501/Market-1501-v15.09.15"),
        num_cams=6,
        max_pid=1501,
        extra_gallery="images" if market1501_500k else None,
        require_train=require_train,
    )


def dukemtmcreid(root, require_train=True):
    """DukeMTMC-reID: Market layout, cameras c1..c8 (camids 0..7)."""
    return _market_style(
        "dukemtmcreid",
        root,
        ("DukeMTMC-reID", "dukemtmc-reid/DukeMTMC-reID", "dukemtmc-reid"),
        num_cams=8,
        max_pid=10**5,
        require_train=require_train,
    )


def cuhk03_np(root, variant="labeled"):
    """CUHK03-NP (Zhong et al. new protocol): `cuhk03-np/{labeled,detected}/<Market splits>`.

    Names are Market-style (`PPPP_cC_...`), cameras c1..c2.
    """
    if variant not in ("labeled", "detected"):
        raise ValueError(f"variant must be 'labeled' or 'detected', got {variant!r}.")
    return _market_style(
        f"cuhk03_np_{variant}",
        root,
        (variant, f"cuhk03-np/{variant}", f"cuhk03_np/{variant}"),
        num_cams=2,
        max_pid=10**5,
    )


# -- MSMT17 -----------------------------------------------------------------------------------
_MSMT_VERSIONS = {"MSMT17_V1": ("train", "test"), "MSMT17_V2": ("mask_train_v2", "mask_test_v2")}
_MSMT_CAM = re.compile(r"^\d+_\d+_(\d+)_")
_MSMT_CAM_ALT = re.compile(r"_c(\d+)")


def _msmt_camid(name):
    match = _MSMT_CAM.match(name) or _MSMT_CAM_ALT.search(name)
    return None if match is None else int(match.group(1)) - 1


def _parse_msmt_list(image_dir, list_path, layout):
    require_file(list_path, layout)
    records, bad = [], []
    with open(list_path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split()
            camid = _msmt_camid(os.path.basename(parts[0])) if len(parts) == 2 else None
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or camid is None or camid < 0:
                bad.append(f"line {lineno}: {line!r}")
                continue
            records.append(ImageRecord(os.path.join(image_dir, parts[0]), int(parts[1]), camid))
    if bad:
        raise DatasetParseError(
            f"{len(bad)} unparsable line(s) in {list_path!r} (expected 'PID/PID_IDX_CC_....jpg PID'): "
            + "; ".join(bad[:3])
        )
    return records


def msmt17(root, combineall=False):
    """MSMT17 v1 (`MSMT17_V1/{train,test}`) or v2 (`MSMT17_V2/{mask_train_v2,mask_test_v2}`).

    List files `list_{train,val,query,gallery}.txt` hold `relative/path.jpg pid` lines; the
    camera is the third `_` field of the file name (`0000_000_01_0303morning_0015_0.jpg` →
    camid 0, as torchreid), or a `_cXX` field. As torchreid, `list_val.txt` joins the
    training set only with `combineall=True`.
    """
    root = os.fspath(root)
    layout = "<root>/MSMT17_V{1,2}/{train|mask_train_v2, test|mask_test_v2, list_train.txt, list_val.txt, list_query.txt, list_gallery.txt}"
    base = None
    for sub in ("", "msmt17"):
        for version, (train_dir, test_dir) in _MSMT_VERSIONS.items():
            candidate = os.path.join(root, sub, version)
            if os.path.isdir(candidate):
                base, dirs = candidate, (train_dir, test_dir)
                break
        if base:
            break
    if base is None:
        for version, (train_dir, test_dir) in _MSMT_VERSIONS.items():  # root is the version folder
            if os.path.isdir(os.path.join(root, train_dir)):
                base, dirs = root, (train_dir, test_dir)
                break
    if base is None:
        raise DatasetLayoutError(f"No MSMT17_V1 or MSMT17_V2 folder under {root!r}; expected layout: {layout}")
    train_dir = require_dir(os.path.join(base, dirs[0]), layout)
    test_dir = require_dir(os.path.join(base, dirs[1]), layout)
    train = _parse_msmt_list(train_dir, os.path.join(base, "list_train.txt"), layout)
    if combineall:
        train += _parse_msmt_list(train_dir, os.path.join(base, "list_val.txt"), layout)
    query = _parse_msmt_list(test_dir, os.path.join(base, "list_query.txt"), layout)
    gallery = _parse_msmt_list(test_dir, os.path.join(base, "list_gallery.txt"), layout)
    return ReIDDataset("msmt17", relabel(train), query, gallery)


# -- CUHK01 -----------------------------------------------------------------------------------
_CUHK01_PATTERN = re.compile(r"^(\d{4})(\d{3})\.(png|jpg|jpeg|bmp)$", re.IGNORECASE)


def cuhk01(root, split_id=0, seed=0):
    """CUHK01 (971 ids, `campus/PPPPCCC.png`): camid = (CCC - 1) // 2 (images 1–2 camera A).

    As torchreid: a random split of `num_pids // 2` (485) training ids and the rest (486)
    for test, query = camera A, gallery = camera B. Splits are reproducible:
    `np.random.RandomState(seed)` draws 10 permutations and `split_id` picks one
    (torchreid draws them once without a seed and stores them in `splits.json`).
    """
    root = os.fspath(root)
    base = root
    for sub in ("campus", "cuhk01/campus"):
        if os.path.isdir(os.path.join(root, sub)):
            base = os.path.join(root, sub)
            break
    images = [
        (path, int(match.group(1)) - 1, (int(match.group(2)) - 1) // 2)
        for path, match in match_image_names(base, _CUHK01_PATTERN, "<root>/campus/PPPPCCC.png (CUHK01)")
    ]
    if not images:
        raise DatasetLayoutError(f"No CUHK01 images in {base!r}; expected layout: <root>/campus/PPPPCCC.png")
    pids = sorted({pid for _, pid, _ in images})
    num_train = len(pids) // 2
    if not 0 <= split_id < 10:
        raise ValueError(f"split_id must be in 0..9, got {split_id}.")
    rng = np.random.RandomState(seed)
    orders = [rng.permutation(len(pids)) for _ in range(10)]
    train_ids = {pids[i] for i in orders[split_id][:num_train]}
    train, query, gallery = [], [], []
    for path, pid, camid in images:
        if pid in train_ids:
            train.append(ImageRecord(path, pid, camid))
        else:
            (query if camid == 0 else gallery).append(ImageRecord(path, pid, camid))
    return ReIDDataset("cuhk01", relabel(train), query, gallery)


# -- keras_reid CUHK03-partial protocol ---------------------------------------------------------
_CUHK03_PARTIAL_PATTERN = re.compile(r"^(\d+)_(\d+)\.(jpg|jpeg|png)$", re.IGNORECASE)


def parse_cuhk03_folder(folder):
    """`PPPP_NN.jpg` images (NN 00–04 camera A → camid 0, 05–09 camera B → camid 1) with the
    names' own identity numbers; any other image name raises `DatasetParseError`."""
    matched = match_image_names(
        folder,
        _CUHK03_PARTIAL_PATTERN,
        "<folder>/PPPP_NN.jpg (NN 00-04 camera A, 05-09 camera B)",
        accept=lambda m: int(m.group(2)) <= 9,
        described_as="PPPP_NN.jpg with NN in 00..09",
    )
    return [ImageRecord(path, int(m.group(1)), 0 if int(m.group(2)) < 5 else 1) for path, m in matched]


def cuhk03_partial(root):
    """The keras_reid CUHK03-partial protocol (`../shared/datasets/cuhk03_labeled_partial`).

    `train/PPPP_NN.jpg` (743 ids, relabelled) and `val/PPPP_NN.jpg` (100 other ids); NN 00–04
    is camera A (camid 0), 05–09 camera B (camid 1). Query = every camera-A `val` image,
    gallery = every camera-B `val` image.
    """
    base = _locate(root, ("cuhk03_labeled_partial",), ("train", "val"))
    splits = {split: parse_cuhk03_folder(os.path.join(base, split)) for split in ("train", "val")}
    query = [r for r in splits["val"] if r.camid == 0]
    gallery = [r for r in splits["val"] if r.camid == 1]
    return ReIDDataset("cuhk03_partial", relabel(splits["train"]), query, gallery)


# -- generic folder-per-identity layout ----------------------------------------------------------
_CAMERA_IN_NAME = re.compile(r"_c(\d+)")


def image_folder(root, camera_map=None, query_dir="query", gallery_dir="gallery", train_dir="train", require_train=True):
    """A custom dataset: `<root>/{train,query,gallery}/<identity>/*.jpg`.

    Each identity is a sub-folder (its name is the identity; query and gallery share names,
    so the same sub-folder name is the same person). Cameras, in order of precedence:

    1. `camera_map={"<identity sub-folder>": camid, ...}` or `{"<split>/<identity>": camid}`;
    2. a `_c<N>` field in the file name (e.g. `img_c3_01.jpg`), for every image of a split;
    3. otherwise, **no camera is known**: train images get camid 0, query images camid 0 and
       gallery images camid 1, and a note is logged. Market-style evaluation removes gallery
       images with the same pid *and* camid as the query, so identical camids would remove
       every true match (torchreid issues #223/#255/#508/#588); different camids keep them.

    Camera numbers found in names are mapped to 0-based contiguous ids in sorted order.
    `query`/`gallery` are optional (a train-only dataset has empty evaluation splits);
    with `require_train=False`, so is `train` (an evaluation-only dataset).
    """
    root = os.fspath(root)
    layout = f"<root>/{train_dir}/<identity>/*.jpg (+ optional {query_dir}/, {gallery_dir}/ with the same sub-folders)"
    require_dir(root, layout)
    if require_train or not os.path.isdir(os.path.join(root, query_dir)):
        require_dir(os.path.join(root, train_dir), layout)
    camera_map = dict(camera_map or {})
    raw = {}
    for split in (train_dir, query_dir, gallery_dir):
        folder = os.path.join(root, split)
        if (split != train_dir or not require_train) and not os.path.isdir(folder):
            raw[split] = []
            continue
        identities = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
        if not identities:
            raise DatasetLayoutError(f"No identity sub-folders in {folder!r}; expected layout: {layout}")
        items = []
        for identity in identities:
            paths, _ = list_images(os.path.join(folder, identity), recursive=False)
            for path in paths:
                if f"{split}/{identity}" in camera_map:
                    cam = ("map", camera_map[f"{split}/{identity}"])
                elif identity in camera_map:
                    cam = ("map", camera_map[identity])
                else:
                    match = _CAMERA_IN_NAME.search(os.path.basename(path))
                    cam = ("name", int(match.group(1))) if match else None
                items.append((path, identity, cam))
        raw[split] = items

    all_items = [it for items in raw.values() for it in items]
    known = [it[2] is not None for it in all_items]
    named = sorted({it[2][1] for it in all_items if it[2] is not None and it[2][0] == "name"})
    cam_index = {c: i for i, c in enumerate(named)}
    identities = {name: i for i, name in enumerate(sorted({it[1] for it in all_items}))}

    def camid_of(cam):
        return cam_index[cam[1]] if cam[0] == "name" else int(cam[1])

    splits = {}
    if not any(known):
        logger.warning(
            "image_folder(%s): no camera ids known; train/query use camid 0 and gallery camid 1 so "
            "that evaluation does not drop every true match (pass camera_map or _c<N> names).",
            root,
        )
        default = {train_dir: 0, query_dir: 0, gallery_dir: 1}
        for split, items in raw.items():
            splits[split] = [ImageRecord(p, identities[i], default[split]) for p, i, _ in items]
    else:
        for split, items in raw.items():
            missing = [p for p, _, cam in items if cam is None]
            if missing:
                raise DatasetParseError(
                    f"{len(missing)} image(s) in {os.path.join(root, split)!r} have no camera id while "
                    f"others do (e.g. {os.path.basename(missing[0])}); name them *_c<N>* or give camera_map."
                )
            splits[split] = [ImageRecord(p, identities[i], camid_of(cam)) for p, i, cam in items]
    return ReIDDataset(
        os.path.basename(os.path.normpath(root)), relabel(splits[train_dir]), splits[query_dir], splits[gallery_dir]
    )


register_dataset("market1501", market1501, "Market-1501 (bounding_box_train/query/bounding_box_test)")
register_dataset("dukemtmcreid", dukemtmcreid, "DukeMTMC-reID (Market layout, 8 cameras)")
register_dataset("msmt17", msmt17, "MSMT17 v1/v2 (list files)")
register_dataset("cuhk03_np", cuhk03_np, "CUHK03-NP labeled/detected (variant=...)")
register_dataset("cuhk01", cuhk01, "CUHK01 (seeded 485/486 split)")
register_dataset("cuhk03_partial", cuhk03_partial, "keras_reid CUHK03-partial protocol")
register_dataset("image_folder", image_folder, "generic <split>/<identity>/*.jpg layout")
