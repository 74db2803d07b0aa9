"""Flat-folder parser, the DG benchmark protocols and the multi-source training set."""

import collections
import os

import numpy as np
import pytest

from keras_reid import data
from keras_reid.data import DatasetLayoutError, DatasetParseError
from tests.data.synthetic import write_image


def flat(folder, items):
    """`items`: (pid, cam, n) -> n images PPPP_cC_NNN.jpg (running index over the folder)."""
    k = 0
    for pid, cam, n in items:
        for _ in range(n):
            write_image(os.path.join(folder, f"{pid:04d}_c{cam}_{k:03d}.jpg"), seed=k)
            k += 1
    return folder


def cuhk(folder, pids, per_camera=2):
    for pid in pids:
        for nn in list(range(per_camera)) + list(range(5, 5 + per_camera)):
            write_image(os.path.join(folder, f"{pid:04d}_{nn:02d}.jpg"), seed=pid * 10 + nn)
    return folder


def test_parse_flat_folder(tmp_path):
    folder = flat(str(tmp_path / "src"), [(3, 0, 2), (12, 1, 1)])
    records = data.parse_flat_folder(folder)
    assert [(r.pid, r.camid) for r in records] == [(3, 0), (3, 0), (12, 1)]
    ds = data.flat_folder(folder)
    assert ds.num_train_pids == 2 and not ds.query
    write_image(os.path.join(folder, "person3.jpg"))
    with pytest.raises(DatasetParseError, match="person3.jpg"):
        data.parse_flat_folder(folder)


def test_parse_flat_folder_empty_and_missing(tmp_path):
    os.makedirs(tmp_path / "empty")
    with pytest.raises(DatasetLayoutError, match="No images"):
        data.parse_flat_folder(str(tmp_path / "empty"))
    with pytest.raises(DatasetLayoutError, match="Missing folder"):
        data.parse_flat_folder(str(tmp_path / "nope"))


@pytest.fixture
def extra(tmp_path):
    root = tmp_path / "reid_extra"
    flat(str(root / "viper"), [(p, c, 1) for p in range(320) for c in (0, 1)])
    flat(str(root / "prid"), [(p, 0, 1) for p in range(1, 201)] + [(p, 1, 1) for p in range(1, 201)]
         + [(p, 0, 1) for p in range(201, 211)] + [(p, 1, 1) for p in range(386, 935)])
    flat(str(root / "grid"), [(p, c, 1) for p in range(1, 251) for c in (3, 4)] + [(p, 1, 1) for p in range(251, 1026)])
    flat(str(root / "i-lid"), [(p, 0, 2 + p % 3) for p in range(1, 120)] + [(120, 0, 1)])
    return root


def test_dg_protocol_sizes(extra):
    sizes = {"viper": (316, 316), "prid": (100, 649), "grid": (125, 900), "ilids": (60, 60)}
    for name, (nq, ng) in sizes.items():
        split = data.get_dataset(name, str(extra), split_id=3)
        assert (len(split.query), len(split.gallery)) == (nq, ng), name
        assert not split.train
        assert {r.camid for r in split.query} == {0} and {r.camid for r in split.gallery} == {1}
        qp = [r.pid for r in split.query]
        assert len(set(qp)) == nq  # single-shot: one query image per identity
        gp = collections.Counter(r.pid for r in split.gallery)
        assert all(gp[p] == 1 for p in qp)  # exactly one true match each
        assert not {r.path for r in split.query} & {r.path for r in split.gallery}


def test_dg_distractors_and_pools(extra):
    split = data.prid(str(extra), split_id=0)
    assert all(1 <= r.pid <= 200 for r in split.query)
    assert sum(r.pid >= 386 for r in split.gallery) == 549
    split = data.grid(str(extra), split_id=0)
    assert sum(r.pid > 250 for r in split.gallery) == 775
    split = data.ilids(str(extra), split_id=0)
    assert 120 not in {r.pid for r in split.query}  # the identity with one image cannot be a query


def test_dg_splits_are_seeded_and_differ(extra):
    a = data.dg_splits("viper", str(extra), num_splits=3)
    b = data.dg_splits("viper", str(extra / "viper"), num_splits=3)  # the source folder itself works too
    assert [[r.path for r in s.query] for s in a] == [[r.path for r in s.query] for s in b]
    assert {r.pid for r in a[0].query} != {r.pid for r in a[1].query}
    c = data.dg_splits("viper", str(extra), num_splits=1, seed=1)
    assert {r.pid for r in c[0].query} != {r.pid for r in a[0].query}
    with pytest.raises(ValueError, match="Unknown DG benchmark"):
        data.dg_splits("market", str(extra))


def test_dg_too_few_identities(tmp_path):
    flat(str(tmp_path / "viper"), [(p, c, 1) for p in range(10) for c in (0, 1)])
    with pytest.raises(DatasetLayoutError, match="needs 316"):
        data.viper(str(tmp_path))
    with pytest.raises(DatasetLayoutError, match="No 'prid' folder"):
        data.prid(str(tmp_path))


@pytest.fixture
def shared(tmp_path):
    root = tmp_path / "datasets"
    cuhk(str(root / "cuhk03_labeled_partial" / "train"), range(0, 4))
    cuhk(str(root / "cuhk03_labeled_partial" / "val"), range(0, 3))
    # Detected: the same people 0-3, one held-out val person (743) and two new people.
    cuhk(str(root / "cuhk03_detected" / "train"), [0, 1, 2, 3, 743, 900, 901])
    for name in ("3dpes", "caviar4reid", "sarc3d", "towncentre", "pku74"):
        flat(str(root / "reid_extra" / name), [(1, 0, 2), (2, 0, 2)])
    return root


def test_multi_source_identity_space(shared, caplog):
    ds = data.get_dataset("multi_source", str(shared))
    # 4 shared CUHK03 people + 2 new detected ones + 2 per flat source; 743 is excluded.
    assert ds.num_train_pids == 4 + 2 + 5 * 2
    assert not any("/0743_" in r.path for r in ds.train)
    assert "held-out val identities" in caplog.text
    by_pid = collections.defaultdict(set)
    for r, d in zip(ds.train, ds.train_domains):
        by_pid[r.pid].add(d)
    # CUHK03 labeled (domain 0) and detected (domain 1) crops of one person are one identity.
    person0 = next(r.pid for r in ds.train if r.path.endswith(os.path.join("labeled_partial", "train", "0000_00.jpg")))
    assert by_pid[person0] == {0, 1}
    # Person 1 of 3DPeS and person 1 of SARC3D are different identities.
    pids = {d: {r.pid for r, dd in zip(ds.train, ds.train_domains) if dd == d} for d in range(7)}
    assert not pids[2] & pids[4]
    assert ds.domain_names[2] == "3dpes"
    assert len(ds.query) == 3 * 2 and len(ds.gallery) == 3 * 2  # the CUHK03-partial val split


def test_multi_source_refuses_benchmarks_and_unknown(shared):
    for bad in ("viper", "prid", "grid", "ilids", "i-lid"):
        with pytest.raises(ValueError, match="never trained on"):
            data.multi_source(str(shared), sources=("cuhk03_labeled", bad))
    with pytest.raises(ValueError, match="Unknown source"):
        data.multi_source(str(shared), sources=("market",))
    ds = data.multi_source(str(shared), sources=("3dpes", "pku74"), val=False)
    assert ds.num_train_pids == 4 and not ds.query and ds.domain_names == ["3dpes", "pku74"]


def test_sampler_one_source_batches():
    pids = np.repeat(np.arange(40), 4)
    domains = (np.arange(40) >= 24).repeat(4).astype(int)  # 24 ids in source 0, 16 in source 1
    sampler = data.RandomIdentitySampler(pids, num_instances=4, num_identities=8, seed=0, domains=domains)
    idx = sampler.epoch_indices(0)
    assert len(idx) == 160  # every chunk used: 3 batches of source 0, 2 of source 1
    for batch in idx.reshape(-1, 32):
        assert len(set(domains[batch].tolist())) == 1
        assert set(collections.Counter(pids[batch].tolist()).values()) == {4}
    mixed = data.RandomIdentitySampler(pids, num_instances=4, num_identities=8, seed=0).epoch_indices(0)
    assert any(len(set(domains[b].tolist())) == 2 for b in mixed.reshape(-1, 32))
    with pytest.raises(ValueError, match="domains has"):
        data.RandomIdentitySampler(pids, 4, 8, domains=domains[:-1])


@pytest.mark.real_data
def test_real_multi_source_and_dg(datasets_root):
    ds = data.multi_source(str(datasets_root))
    assert ds.num_train_pids == 743 + 624 + 193 + 72 + 50 + 222 + 74
    assert len(ds.train) == 7239 + 13159 + 1012 + 1220 + 200 + 2034 + 1184
    assert (len(ds.query), len(ds.gallery)) == (451, 487)
    train_paths = {os.path.realpath(r.path) for r in ds.train}
    for name, (nq, ng) in {"viper": (316, 316), "prid": (100, 649), "grid": (125, 900), "ilids": (60, 60)}.items():
        split = data.get_dataset(name, str(datasets_root / "reid_extra"), split_id=9)
        assert (len(split.query), len(split.gallery)) == (nq, ng)
        assert not {os.path.realpath(r.path) for r in split.query + split.gallery} & train_paths
