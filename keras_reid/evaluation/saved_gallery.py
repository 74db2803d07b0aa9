"""Saved galleries: embeddings in `NAME.npy` and their images in `NAME.paths.json` (what `keras-reid embed` writes).

`NAME.paths.json` records the row order (paths relative to `root`), the preset that
embedded them (embeddings of different models cannot be compared), the embedding size,
whether the flip test was used and that the rows are L2-normalised.
"""

import json
import os

import numpy as np


class SavedGalleryError(ValueError):
    """A saved gallery that is missing, inconsistent or made by another preset."""


def _index_path(path):
    return path[: -len(".npy")] + ".paths.json"


def save_gallery(path, embeddings, paths, root, preset, flip=False):
    """Writes `path` (`.npy` appended if missing) and its `.paths.json`; returns both paths.

    Example:
    >>> import numpy as np, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> npy, index = save_gallery(os.path.join(folder, "gallery"), np.eye(2, dtype="float32"),
    ...                           [os.path.join(folder, "a.jpg"), os.path.join(folder, "b.jpg")], folder, "p")
    >>> load_gallery(npy, "p")[1] == [os.path.join(folder, "a.jpg"), os.path.join(folder, "b.jpg")]
    True
    """
    embeddings = np.asarray(embeddings, "float32")
    if embeddings.ndim != 2 or len(embeddings) != len(paths):
        raise SavedGalleryError(f"{embeddings.shape} embeddings for {len(paths)} paths")
    if not path.endswith(".npy"):
        path += ".npy"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.save(path, embeddings)
    index_path = _index_path(path)
    with open(index_path, "w") as f:
        json.dump(
            {
                "preset": preset,
                "embedding_dim": int(embeddings.shape[1]),
                "flip": bool(flip),
                "normalized": True,
                "root": os.path.abspath(root),
                "paths": [os.path.relpath(p, root) for p in paths],
            },
            f,
            indent=1,
        )
    return path, index_path


def load_gallery(path, preset=None):
    """A saved gallery as `(embeddings float32 (N, D), absolute paths, info dict)`.

    Raises:
        SavedGalleryError: one line naming the file: missing, inconsistent, or embedded
            by a preset other than `preset` (when one is given).
    """
    if not path.endswith(".npy"):
        raise SavedGalleryError(f"{path}: a saved gallery is a .npy file written by keras-reid embed")
    index_path = _index_path(path)
    if not os.path.isfile(path):
        raise SavedGalleryError(f"no such gallery embedding file: {path}")
    if not os.path.isfile(index_path):
        raise SavedGalleryError(f"{path} has no {os.path.basename(index_path)} beside it (write both with keras-reid embed)")
    with open(index_path) as f:
        info = json.load(f)
    embeddings = np.load(path, allow_pickle=False)
    paths = [os.path.join(info.get("root", ""), p) for p in info.get("paths", [])]
    if embeddings.ndim != 2 or len(paths) != len(embeddings):
        raise SavedGalleryError(
            f"{path} holds {embeddings.shape} embeddings for {len(paths)} paths in {index_path}: re-run keras-reid embed"
        )
    if preset is not None and info.get("preset") != preset:
        raise SavedGalleryError(
            f"{path} was embedded with preset {info.get('preset')!r}, not {preset!r}: embeddings of different "
            "models cannot be compared; search with that preset or re-run keras-reid embed"
        )
    return embeddings.astype("float32"), paths, info
