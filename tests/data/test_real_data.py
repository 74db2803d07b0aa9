import collections
import os

import numpy as np
import pytest

from keras_reid import data


@pytest.mark.real_data
def test_market1501_mini(datasets_root):
    ds = data.get_dataset("market1501", datasets_root / "market1501_mini")
    for split in (ds.train, ds.query, ds.gallery):
        assert len(split) == 32
        assert len({r.pid for r in split}) == 16
        assert {r.camid for r in split} == set(range(6))
    assert sorted({r.pid for r in ds.train}) == list(range(16))
    # Junk (-1) never appears; distractors (0) would be kept in the gallery; query pids are real ids.
    assert all(r.pid >= 0 for r in ds.query + ds.gallery)
    assert {r.pid for r in ds.query} <= {r.pid for r in ds.gallery}
    for r in ds.query[:4]:
        assert os.path.basename(r.path).startswith(f"{r.pid:04d}_c{r.camid + 1}")


@pytest.mark.real_data
def test_cuhk03_partial(datasets_root):
    ds = data.get_dataset("cuhk03_partial", datasets_root / "cuhk03_labeled_partial")
    assert len(ds.train) == 7239 and ds.num_train_pids == 743
    assert len(ds.query) + len(ds.gallery) == 938
    assert {r.pid for r in ds.query} | {r.pid for r in ds.gallery} == set(range(100))
    assert all(int(os.path.basename(r.path)[5:7]) <= 4 and r.camid == 0 for r in ds.query)
    assert all(int(os.path.basename(r.path)[5:7]) >= 5 and r.camid == 1 for r in ds.gallery)


@pytest.mark.real_data
def test_cuhk03_partial_pipeline_batch(datasets_root):
    ds = data.cuhk03_partial(datasets_root / "cuhk03_labeled_partial")
    train = data.train_dataset(ds.train, image_size=(64, 32), num_identities=4, num_instances=4, seed=0)
    images, pids = next(train.as_numpy_iterator())
    assert images.shape == (16, 64, 32, 3) and np.isfinite(images).all()
    counts = collections.Counter(pids.tolist())
    assert len(counts) == 4 and set(counts.values()) == {4}
    assert -2.5 < images.mean() < 2.5 and images.std() > 0.3
