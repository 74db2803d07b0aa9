"""Tiny synthetic image files for the data tests (never real dataset images)."""

import os

import numpy as np
from PIL import Image


def write_image(path, size=(8, 4), color=None, seed=0):
    """Writes a small RGB image `size=(H, W)` to `path` (format from the extension)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    if color is None:
        arr = rng.integers(0, 256, size=size + (3,), dtype=np.uint8)
    else:
        arr = np.full(size + (3,), color, np.uint8)
    Image.fromarray(arr).save(path)
    return path


def make_market(root, train, query, gallery, ext=".jpg"):
    """Market-style folders; each split is a list of `(pid, cam)` (pid -1 = junk)."""
    for folder, items in (("bounding_box_train", train), ("query", query), ("bounding_box_test", gallery)):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for i, (pid, cam) in enumerate(items):
            name = f"{pid:04d}_c{cam}s1_{i:06d}_00{ext}" if pid >= 0 else f"-1_c{cam}s1_{i:06d}_00{ext}"
            write_image(os.path.join(root, folder, name), seed=i)
    return root
