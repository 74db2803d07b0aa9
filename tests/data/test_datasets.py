import logging
import os

import pytest

from keras_reid import data
from keras_reid.data import DatasetLayoutError, DatasetParseError
from tests.data.synthetic import make_market, write_image


@pytest.fixture
def market(tmp_path):
    return make_market(
        str(tmp_path / "Market-1501-v15.09.15"),
        train=[(2, 1), (2, 2), (7, 3), (7, 6), (9, 4)],
        query=[(2, 1), (7, 5)],
        gallery=[(2, 3), (7, 1), (0, 2), (-1, 4), (-1, 6)],
    )


def test_market1501_rules(market):
    ds = data.get_dataset("market1501", os.path.dirname(market))  # parent folder is found too
    assert len(ds.train) == 5 and ds.num_train_pids == 3
    assert sorted({r.pid for r in ds.train}) == [0, 1, 2]  # relabelled contiguously
    assert sorted(r.camid for r in ds.train) == [0, 1, 2, 3, 5]  # c1..c6 -> 0..5
    assert [(r.pid, r.camid) for r in ds.query] == [(2, 0), (7, 4)]  # query pids kept
    gallery = sorted((r.pid, r.camid) for r in ds.gallery)
    assert gallery == [(0, 1), (2, 2), (7, 0)]  # junk (-1) dropped, distractor (0) kept
    assert ds.num_cams == 6
    assert "train" in ds.summary()


@pytest.mark.parametrize("name, message", [("1502_c1s1_000001_00.jpg", "pid 1502"), ("0001_c7s1_000001_00.jpg", "c7")])
def test_market1501_range_violations(market, name, message):
    write_image(os.path.join(market, "query", name))
    with pytest.raises(DatasetParseError, match=message):
        data.market1501(market)


def test_missing_split_folder(market):
    os.rename(os.path.join(market, "query"), os.path.join(market, "queries"))
    with pytest.raises(DatasetLayoutError) as info:
        data.market1501(market)
    message = str(info.value)
    assert "query" in message and "expected layout" in message and "\n" not in message


def test_evaluation_only_copies_through_get_dataset(market, tmp_path):
    import shutil

    shutil.rmtree(os.path.join(market, "bounding_box_train"))
    with pytest.raises(DatasetLayoutError, match="bounding_box_train"):
        data.get_dataset("market1501", market)
    ds = data.get_dataset("market1501", market, require_train=False)
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (0, 2, 3)
    # A parser without the option still reads its full layout when asked for evaluation only.
    make_market(str(tmp_path / "cuhk03-np" / "detected"), [(1, 1), (1, 2)], [(3, 1)], [(3, 2)], ext=".png")
    ds = data.get_dataset("cuhk03_np", str(tmp_path), variant="detected", require_train=False)
    assert (len(ds.train), len(ds.query)) == (2, 1)


def test_non_image_files_skipped_with_one_log_line(market, caplog):
    for name in ("readme.txt", "Thumbs.db", "notes.md"):
        with open(os.path.join(market, "bounding_box_train", name), "w") as f:
            f.write("x")
    with caplog.at_level(logging.WARNING, logger="keras_reid.data"):
        ds = data.market1501(market)
    assert len(ds.train) == 5
    skips = [r.getMessage() for r in caplog.records if "non-image" in r.getMessage()]
    assert len(skips) == 1 and "Skipped 3 non-image" in skips[0]


def test_unparsable_names_raise(market):
    write_image(os.path.join(market, "bounding_box_test", "person.jpg"))
    write_image(os.path.join(market, "bounding_box_test", "IMG_0001.jpg"))
    with pytest.raises(DatasetParseError, match="2 image name"):
        data.market1501(market)


def test_dukemtmcreid_eight_cameras(tmp_path):
    root = make_market(str(tmp_path / "DukeMTMC-reID"), [(5, 8), (5, 1), (3000, 7)], [(11, 8)], [(11, 2), (12, 3)])
    ds = data.dukemtmcreid(str(tmp_path))
    assert ds.num_train_pids == 2 and max(r.camid for r in ds.train) == 7
    write_image(os.path.join(root, "query", "0011_c9_000001.jpg"))
    with pytest.raises(DatasetParseError, match="c9"):
        data.dukemtmcreid(root)


def test_cuhk03_np(tmp_path):
    make_market(str(tmp_path / "cuhk03-np" / "detected"), [(1, 1), (1, 2)], [(3, 1)], [(3, 2)], ext=".png")
    ds = data.get_dataset("cuhk03_np", str(tmp_path), variant="detected")
    assert (len(ds.train), len(ds.query), len(ds.gallery)) == (2, 1, 1)
    with pytest.raises(DatasetLayoutError, match="bounding_box_train"):
        data.cuhk03_np(str(tmp_path), variant="labeled")


def _make_msmt(root, version):
    train_dir, test_dir = {"MSMT17_V1": ("train", "test"), "MSMT17_V2": ("mask_train_v2", "mask_test_v2")}[version]
    base = os.path.join(root, version)
    lists = {
        "list_train.txt": (train_dir, [(0, 0, 1), (0, 1, 3), (5, 0, 15)]),
        "list_val.txt": (train_dir, [(9, 0, 2)]),
        "list_query.txt": (test_dir, [(0, 0, 2)]),
        "list_gallery.txt": (test_dir, [(0, 1, 4), (1, 0, 5)]),
    }
    for list_name, (folder, items) in lists.items():
        lines = []
        for pid, idx, cam in items:
            rel = f"{pid:04d}/{pid:04d}_{idx:03d}_{cam:02d}_0303morning_0015_0.jpg"
            write_image(os.path.join(base, folder, rel))
            lines.append(f"{rel} {pid}\n")
        with open(os.path.join(base, list_name), "a") as f:
            f.writelines(lines)
    return base


@pytest.mark.parametrize("version", ["MSMT17_V1", "MSMT17_V2"])
def test_msmt17_versions(tmp_path, version):
    _make_msmt(str(tmp_path / "msmt17"), version)
    ds = data.msmt17(str(tmp_path))
    assert len(ds.train) == 3 and ds.num_train_pids == 2
    assert sorted(r.camid for r in ds.train) == [0, 2, 14]
    assert [(r.pid, r.camid) for r in ds.query] == [(0, 1)]
    assert all(os.path.isfile(r.path) for r in ds.train + ds.query + ds.gallery)
    assert len(data.msmt17(str(tmp_path), combineall=True).train) == 4


def test_msmt17_bad_line_and_missing_list(tmp_path):
    base = _make_msmt(str(tmp_path), "MSMT17_V1")
    query_list = os.path.join(base, "list_query.txt")
    good = open(query_list).read()
    with open(query_list, "a") as f:
        f.write("0001/garbage.jpg 1\n")
    with pytest.raises(DatasetParseError, match="list_query.txt"):
        data.msmt17(str(tmp_path))
    with open(query_list, "w") as f:
        f.write(good)
    os.remove(os.path.join(base, "list_gallery.txt"))
    with pytest.raises(DatasetLayoutError, match="list_gallery.txt"):
        data.msmt17(str(tmp_path))
    with pytest.raises(DatasetLayoutError, match="MSMT17_V1 or MSMT17_V2"):
        data.msmt17(str(tmp_path / "nowhere"))


def test_cuhk01_seeded_split(tmp_path):
    campus = tmp_path / "campus"
    for pid in range(1, 12):  # 11 ids -> 5 train / 6 test
        for idx in range(1, 5):
            write_image(str(campus / f"{pid:04d}{idx:03d}.png"))
    ds = data.cuhk01(str(tmp_path), split_id=3, seed=1)
    assert ds.num_train_pids == 5 and len(ds.train) == 20
    test_pids = {r.pid for r in ds.query}
    assert len(test_pids) == 6 and test_pids == {r.pid for r in ds.gallery}
    assert {r.camid for r in ds.query} == {0} and {r.camid for r in ds.gallery} == {1}
    assert all(os.path.basename(r.path)[4:7] in ("001", "002") for r in ds.query)
    again = data.cuhk01(str(tmp_path), split_id=3, seed=1)
    assert [r.path for r in again.train] == [r.path for r in ds.train]
    other = data.cuhk01(str(tmp_path), split_id=4, seed=1)
    assert {r.path for r in other.train} != {r.path for r in ds.train}


def test_cuhk03_partial_protocol(tmp_path):
    for pid in (3, 8):
        for nn in (0, 4, 5, 9):
            write_image(str(tmp_path / "train" / f"{pid:04d}_{nn:02d}.jpg"))
    for nn in range(10):
        write_image(str(tmp_path / "val" / f"0003_{nn:02d}.jpg"))
    ds = data.cuhk03_partial(str(tmp_path))
    assert ds.num_train_pids == 2 and sorted({r.pid for r in ds.train}) == [0, 1]
    assert sorted(r.camid for r in ds.train) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert len(ds.query) == 5 and {r.camid for r in ds.query} == {0}
    assert len(ds.gallery) == 5 and {r.camid for r in ds.gallery} == {1}
    write_image(str(tmp_path / "val" / "0003_12.jpg"))
    with pytest.raises(DatasetParseError, match="0003_12.jpg"):
        data.cuhk03_partial(str(tmp_path))


def _make_folder(root, names):
    for split, identity, filename in names:
        write_image(os.path.join(root, split, identity, filename))


def test_image_folder_without_cameras(tmp_path, caplog):
    _make_folder(
        str(tmp_path),
        [("train", "alice", "1.jpg"), ("train", "bob", "1.png"), ("query", "carol", "q.jpg"),
         ("gallery", "carol", "g.jpg"), ("gallery", "dave", "g.jpg")],
    )
    with caplog.at_level(logging.WARNING, logger="keras_reid.data"):
        ds = data.image_folder(str(tmp_path))
    assert "no camera ids known" in caplog.text
    assert ds.num_train_pids == 2
    assert {r.camid for r in ds.query} == {0} and {r.camid for r in ds.gallery} == {1}
    assert ds.query[0].pid == [r.pid for r in ds.gallery if "carol" in r.path][0]


def test_image_folder_cameras_from_names_and_map(tmp_path):
    _make_folder(
        str(tmp_path),
        [("train", "a", "x_c3_1.jpg"), ("train", "a", "x_c5_2.jpg"), ("query", "b", "y_c5.jpg"), ("gallery", "b", "y_c9.jpg")],
    )
    ds = data.image_folder(str(tmp_path))
    assert sorted(r.camid for r in ds.train) == [0, 1] and ds.query[0].camid == 1 and ds.gallery[0].camid == 2
    ds = data.image_folder(str(tmp_path), camera_map={"query/b": 4, "gallery/b": 7, "a": 0})
    assert ds.query[0].camid == 4 and ds.gallery[0].camid == 7 and {r.camid for r in ds.train} == {0}
    write_image(str(tmp_path / "train" / "a" / "nocam.jpg"))
    with pytest.raises(DatasetParseError, match="no camera id"):
        data.image_folder(str(tmp_path))


def test_image_folder_missing_train(tmp_path):
    os.makedirs(tmp_path / "query")
    with pytest.raises(DatasetLayoutError, match="train"):
        data.image_folder(str(tmp_path))


def test_registry():
    names = data.list_datasets()
    for name in ("market1501", "dukemtmcreid", "msmt17", "cuhk03_np", "cuhk01", "cuhk03_partial", "image_folder"):
        assert name in names
    with pytest.raises(ValueError, match="Unknown dataset"):
        data.get_dataset("nope", "/tmp")
