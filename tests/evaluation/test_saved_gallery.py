import json

import numpy as np
import pytest

from keras_reid.evaluation import SavedGalleryError, load_gallery, save_gallery


def test_round_trip(tmp_path):
    paths = [str(tmp_path / "imgs" / n) for n in ("a.jpg", "sub/b.jpg")]
    emb = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    npy, index = save_gallery(str(tmp_path / "out" / "gallery"), emb, paths, str(tmp_path / "imgs"), "p1", flip=True)
    assert npy.endswith("gallery.npy") and index.endswith("gallery.paths.json")
    info = json.loads(open(index).read())
    assert info["paths"] == ["a.jpg", "sub/b.jpg"] and info["flip"] is True and info["embedding_dim"] == 4
    got, got_paths, _ = load_gallery(npy, "p1")
    np.testing.assert_array_equal(got, emb)
    assert got_paths == paths
    assert load_gallery(npy)[1] == paths  # no preset check


def test_refusals_name_the_problem(tmp_path):
    npy, index = save_gallery(str(tmp_path / "g.npy"), np.eye(2, dtype="float32"), ["a", "b"], str(tmp_path), "p1")
    with pytest.raises(SavedGalleryError, match="embedded with preset 'p1', not 'p2'"):
        load_gallery(npy, "p2")
    np.save(npy, np.eye(3, dtype="float32"))
    with pytest.raises(SavedGalleryError, match="3, 3"):
        load_gallery(npy, "p1")
    (tmp_path / "g.paths.json").unlink()
    with pytest.raises(SavedGalleryError, match="no g.paths.json beside it"):
        load_gallery(npy, "p1")
    with pytest.raises(SavedGalleryError, match="no such gallery"):
        load_gallery(str(tmp_path / "missing.npy"), "p1")
    with pytest.raises(SavedGalleryError, match=".npy file"):
        load_gallery(str(tmp_path / "g.txt"))
    with pytest.raises(SavedGalleryError, match="for 1 paths"):
        save_gallery(str(tmp_path / "h"), np.eye(2, dtype="float32"), ["a"], str(tmp_path), "p1")
