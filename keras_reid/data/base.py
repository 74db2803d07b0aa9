"""Dataset records, file listing with counted skips, and the dataset registry."""

import collections
import inspect
import logging
import os

logger = logging.getLogger("keras_reid.data")


ImageRecord = collections.namedtuple("ImageRecord", ["path", "pid", "camid"])
ImageRecord.__doc__ = "One image of a split: `path` (str), `pid` (int identity), `camid` (int camera, 0-based)."


class DatasetLayoutError(FileNotFoundError):
    """A dataset folder or list file is missing, or its layout is not the expected one."""


class DatasetParseError(ValueError):
    """File names or list lines that cannot be turned into a (pid, camid) label."""


class ReIDDataset:
    """The train / query / gallery splits of a person re-identification dataset.

    Every split is a list of `ImageRecord(path, pid, camid)`. Training identities are
    relabelled to `0 .. num_train_pids - 1` (classifier targets); query and gallery keep
    the dataset's own identity numbers (pid 0 = Market distractors are kept in the
    gallery; junk images, pid -1, are dropped by the parsers). Camera ids are 0-based.

    Args:
        name: dataset name.
        train, query, gallery: lists of `ImageRecord` (or `(path, pid, camid)` tuples).
        train_domains: optional source index of every training image (multi-source sets).
        domain_names: optional names of those sources.

    Example:
    >>> ds = ReIDDataset("toy", train=[("a.jpg", 0, 0), ("b.jpg", 1, 1)], query=[], gallery=[])
    >>> ds.num_train_pids, ds.num_train_cams
    (2, 2)
    """

    def __init__(self, name, train, query, gallery, train_domains=None, domain_names=None):
        self.name = name
        self.train = [ImageRecord(*r) for r in train]
        self.query = [ImageRecord(*r) for r in query]
        self.gallery = [ImageRecord(*r) for r in gallery]
        if train_domains is not None and len(train_domains) != len(self.train):
            raise ValueError(f"train_domains has {len(train_domains)} entries for {len(self.train)} training images.")
        self.train_domains = None if train_domains is None else [int(d) for d in train_domains]
        self.domain_names = list(domain_names) if domain_names is not None else None

    @staticmethod
    def _pids(records):
        return {r.pid for r in records}

    @staticmethod
    def _cams(records):
        return {r.camid for r in records}

    @property
    def num_train_pids(self):
        return len(self._pids(self.train))

    @property
    def num_train_cams(self):
        return len(self._cams(self.train))

    @property
    def num_cams(self):
        """Number of distinct cameras over all splits."""
        return len(self._cams(self.train) | self._cams(self.query) | self._cams(self.gallery))

    @property
    def num_query_pids(self):
        return len(self._pids(self.query))

    @property
    def num_gallery_pids(self):
        return len(self._pids(self.gallery))

    def summary(self):
        """A torchreid-style statistics table."""
        rows = [("train", self.train), ("query", self.query), ("gallery", self.gallery)]
        lines = [f"=> {self.name}", "  subset   | # ids | # images | # cameras"]
        for label, recs in rows:
            lines.append(
                f"  {label:<8} | {len(self._pids(recs)):5d} | {len(recs):8d} | {len(self._cams(recs)):9d}"
            )
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"ReIDDataset({self.name!r}, train={len(self.train)} images/{self.num_train_pids} ids, "
            f"query={len(self.query)}, gallery={len(self.gallery)}, cams={self.num_cams})"
        )


def relabel(records):
    """Maps the pids of `records` to `0 .. n-1` in sorted order (torchreid's `relabel=True`)."""
    mapping = {pid: i for i, pid in enumerate(sorted({r.pid for r in records}))}
    return [ImageRecord(r.path, mapping[r.pid], r.camid) for r in records]


def require_dir(path, layout):
    """Raises a one-line `DatasetLayoutError` naming `path` and the expected layout."""
    if not os.path.isdir(path):
        raise DatasetLayoutError(f"Missing folder {path!r}; expected layout: {layout}")
    return path


def require_file(path, layout):
    if not os.path.isfile(path):
        raise DatasetLayoutError(f"Missing file {path!r}; expected layout: {layout}")
    return path


def match_image_names(folder, pattern, layout, accept=None, described_as=None):
    """`(path, match)` for every image directly in `folder`, its name searched with `pattern`.

    One parser loop for every named-file layout: a missing folder raises
    `DatasetLayoutError` (naming `layout`); any image name that `pattern` does not match, or
    whose match `accept(match)` rejects, raises one `DatasetParseError` listing examples
    (`described_as` or the pattern itself says what was expected). Nothing is guessed.

    Example:
    >>> import os, re, tempfile
    >>> d = tempfile.mkdtemp()
    >>> open(os.path.join(d, "0003_c1.jpg"), "wb").close()
    >>> [m.group(1) for _, m in match_image_names(d, re.compile(r"^(\\d+)_c"), "<d>/PPPP_cC.jpg")]
    ['0003']
    """
    from keras_reid.utils.images import list_images

    require_dir(folder, layout)
    paths, _ = list_images(folder, recursive=False)
    matched, bad = [], []
    for path in paths:
        match = pattern.search(os.path.basename(path))
        if match is None or (accept is not None and not accept(match)):
            bad.append(path)
        else:
            matched.append((path, match))
    if bad:
        raise_unparsable(folder, bad, described_as or pattern.pattern)
    return matched


def raise_unparsable(folder, bad, pattern):
    examples = ", ".join(os.path.basename(p) for p in bad[:5])
    raise DatasetParseError(
        f"{len(bad)} image name(s) in {folder!r} do not match the expected pattern {pattern} "
        f"(e.g. {examples}); rename or remove them (no label is guessed)."
    )


# -- registry ------------------------------------------------------------------------------
_DATASETS = {}


def register_dataset(name, factory, description=""):
    """Registers `factory(root, **kwargs) -> ReIDDataset` under `name`."""
    _DATASETS[name] = (factory, description)


def list_datasets():
    """Names of the registered dataset parsers."""
    return sorted(_DATASETS)


def get_dataset(name, root, **kwargs):
    """Parses dataset `name` found under `root` into a `ReIDDataset`.

    `require_train=False` asks for an evaluation-only copy (no training split needed) from
    the parsers that can read one; the others always need their full layout.

    Example:
    >>> from keras_reid.data import get_dataset
    >>> # ds = get_dataset("market1501", "/data/Market-1501-v15.09.15", require_train=False)
    """
    if name not in _DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(list_datasets())}.")
    factory = _DATASETS[name][0]
    if kwargs.get("require_train") is False and "require_train" not in inspect.signature(factory).parameters:
        del kwargs["require_train"]
    dataset = factory(root, **kwargs)
    logger.info("%s", dataset.summary())
    return dataset
