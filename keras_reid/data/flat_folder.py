"""The flat `PPPP_cC_NNN.jpg` layout: one folder per source, identity and camera in the name."""

import os
import re

from keras_reid.data.base import (
    DatasetLayoutError,
    ImageRecord,
    ReIDDataset,
    match_image_names,
    register_dataset,
    relabel,
)

FLAT_PATTERN = re.compile(r"^(\d+)_c(\d+)_(\d+)\.(jpg|jpeg|png|bmp)$", re.IGNORECASE)
FLAT_LAYOUT = "<folder>/PPPP_cC_NNN.jpg (identity PPPP, camera C, running index NNN)"


def parse_flat_folder(folder):
    """The images of a flat folder as `ImageRecord(path, pid, camid)` with the names' own numbers.

    Every image name must match `PPPP_cC_NNN.<ext>` (else `DatasetParseError`, nothing is
    guessed); an empty folder raises `DatasetLayoutError`.

    Example:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name in ("0007_c1_000.jpg", "0007_c0_001.jpg"):
    ...     open(os.path.join(d, name), "wb").close()
    >>> [(r.pid, r.camid) for r in parse_flat_folder(d)]
    [(7, 0), (7, 1)]
    """
    matched = match_image_names(folder, FLAT_PATTERN, FLAT_LAYOUT)
    records = [ImageRecord(path, int(m.group(1)), int(m.group(2))) for path, m in matched]
    if not records:
        raise DatasetLayoutError(f"No images in {folder!r}; expected layout: {FLAT_LAYOUT}")
    return sorted(records, key=lambda r: (r.pid, r.camid, r.path))


def flat_folder(root):
    """A training-only dataset from one flat folder (`reid_extra/<source>/`), pids relabelled."""
    root = os.fspath(root)
    records = parse_flat_folder(root)
    return ReIDDataset(os.path.basename(os.path.normpath(root)), relabel(records), [], [])


register_dataset("flat_folder", flat_folder, "one folder of PPPP_cC_NNN.jpg images (training only)")
