"""Several ReID sources in one identity space: the multi-source training set.

Identities are kept apart per source (person 7 of 3DPeS and person 7 of CAVIAR4REID are
two classes), except where two sources are known to show the same people: CUHK03's
"labeled" and "detected" crops of identities 0000–0742 are one identity each. Every
training image carries its source index (`dataset.train_domains`), which the P×K sampler
can use to draw each batch from one source.

The DG benchmarks (VIPeR, PRID, GRID, i-LIDS) are refused as sources: they measure
generalisation to cameras never trained on. CUHK03 identities 0743–0842 (the people of the
CUHK03-partial val split) are excluded from every CUHK03 source, so the val split stays a
clean in-domain evaluation; it is the dataset's query/gallery when present.
"""

import logging
import os

from keras_reid.data.base import DatasetLayoutError, ImageRecord, ReIDDataset, register_dataset
from keras_reid.data.datasets import cuhk03_partial, parse_cuhk03_folder
from keras_reid.data.dg_benchmarks import DG_BENCHMARKS
from keras_reid.data.flat_folder import parse_flat_folder

logger = logging.getLogger("keras_reid.data")

# Training sources under the shared-datasets root: name -> folder.
FLAT_SOURCES = {
    "3dpes": "reid_extra/3dpes",
    "caviar4reid": "reid_extra/caviar4reid",
    "sarc3d": "reid_extra/sarc3d",
    "towncentre": "reid_extra/towncentre",
    "pku74": "reid_extra/pku74",
}
CUHK03_SOURCES = {"cuhk03_labeled": "cuhk03_labeled_partial/train", "cuhk03_detected": "cuhk03_detected/train"}
DEFAULT_SOURCES = tuple(CUHK03_SOURCES) + tuple(FLAT_SOURCES)
# CUHK03 identities held out for the in-domain val split (cuhk03_labeled_partial/val).
CUHK03_VAL_IDS = range(743, 843)
_FORBIDDEN = set(DG_BENCHMARKS) | {"i-lid", "i-lids"}


def multi_source(root, sources=DEFAULT_SOURCES, val=True):
    """The multi-source training set under `root` (the shared-datasets folder).

    Args:
        root: folder holding `cuhk03_labeled_partial/`, `cuhk03_detected/` and `reid_extra/`.
        sources: names of the training sources (`DEFAULT_SOURCES`: CUHK03 labeled and
            detected, 3DPeS, CAVIAR4REID, SARC3D, TownCentre, PKU-74).
        val: use the CUHK03-partial val split as query/gallery (needs `cuhk03_labeled`'s folder).

    Returns a `ReIDDataset` named `multi_source` with `train_domains` and `domain_names`.

    Example:
    >>> from keras_reid.data import get_dataset
    >>> # ds = get_dataset("multi_source", "../shared/datasets")  # 1,978 identities
    """
    root = os.fspath(root)
    sources = tuple(sources)
    if not sources:
        raise ValueError("multi_source needs at least one source.")
    bad = [s for s in sources if s.lower() in _FORBIDDEN]
    if bad:
        raise ValueError(f"{', '.join(bad)} is a DG benchmark and is never trained on; choose from {', '.join(DEFAULT_SOURCES)}.")
    unknown = [s for s in sources if s not in FLAT_SOURCES and s not in CUHK03_SOURCES]
    if unknown:
        raise ValueError(f"Unknown source(s) {', '.join(unknown)}; available: {', '.join(DEFAULT_SOURCES)}.")
    if len(set(sources)) != len(sources):
        raise ValueError(f"Duplicate sources in {sources}.")
    keyed = []  # (identity key, source index, record)
    for index, source in enumerate(sources):
        if source in CUHK03_SOURCES:
            records = parse_cuhk03_folder(os.path.join(root, CUHK03_SOURCES[source]))
            held_out = [r for r in records if r.pid in CUHK03_VAL_IDS]
            if held_out:
                logger.warning("%s: excluded %d image(s) of the held-out val identities 0743-0842.", source, len(held_out))
            # CUHK03 labeled and detected crops of one person share one identity.
            keyed += [(("cuhk03", r.pid), index, r) for r in records if r.pid not in CUHK03_VAL_IDS]
        else:
            folder = os.path.join(root, FLAT_SOURCES[source])
            keyed += [((source, r.pid), index, r) for r in parse_flat_folder(folder)]
    if not keyed:
        raise DatasetLayoutError(f"No training images for sources {sources} under {root!r}.")
    labels = {key: i for i, key in enumerate(sorted({k for k, _, _ in keyed}, key=str))}
    cams = {cam: i for i, cam in enumerate(sorted({(s, r.camid) for _, s, r in keyed}))}
    train = [ImageRecord(r.path, labels[k], cams[(s, r.camid)]) for k, s, r in keyed]
    domains = [s for _, s, _ in keyed]
    query, gallery = [], []
    if val and os.path.isdir(os.path.join(root, "cuhk03_labeled_partial", "val")):
        held = cuhk03_partial(os.path.join(root, "cuhk03_labeled_partial"))
        query, gallery = held.query, held.gallery
    return ReIDDataset("multi_source", train, query, gallery, train_domains=domains, domain_names=sources)


register_dataset("multi_source", multi_source, "CUHK03 labeled+detected and five reid_extra sources (DG training)")
