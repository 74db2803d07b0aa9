import csv
import json

import numpy as np
import pytest

from keras_reid.evaluation.retrieval import (
    leave_one_out,
    retrieval_records,
    top_k,
    write_records_csv,
    write_records_json,
)
from keras_reid.evaluation import evaluate_rank


def test_top_k_is_stable_and_honours_exclude():
    d = np.array([0.5, 0.1, 0.1, 0.0, 0.9])
    assert top_k(d, 3).tolist() == [3, 1, 2]
    assert top_k(d, 3, exclude=[3, 1]).tolist() == [2, 0, 4]
    assert top_k(d, 10, exclude=[0]).tolist() == [3, 1, 2, 4]


def test_records_carry_identity_match_and_unknowns():
    gallery = ["0001_c2_a.jpg", "0002_c2_b.jpg", "street.jpg"]
    recs = retrieval_records(["0001_c1_q.jpg", "noid.jpg"], gallery,
                             np.array([[0.1, 0.2, 0.3], [0.0, 0.5, 0.6]]), np.array([[0, 1, 2], [2, 0, 1]]))
    assert recs[0]["query_id"] == 1 and recs[1]["query_id"] is None
    assert [(i["rank"], i["id"], i["match"]) for i in recs[0]["results"]] == [(1, 1, True), (2, 2, False), (3, None, None)]
    assert [i["match"] for i in recs[1]["results"]] == [None, None, None]
    assert recs[1]["results"][0]["path"] == "street.jpg"
    assert recs[0]["results"][1]["distance"] == pytest.approx(0.2)


def test_json_and_csv_round_trip(tmp_path):
    recs = retrieval_records(["0001_c1_q.jpg"], ["0001_c2_a.jpg", "x.jpg"], np.array([[0.25, 0.5]]), np.array([[1, 0]]))
    write_records_json(tmp_path / "r.json", recs, preset="p", metric="cosine")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["preset"] == "p" and data["queries"][0]["results"][1]["match"] is True
    write_records_csv(tmp_path / "r.csv", recs)
    rows = list(csv.reader(open(tmp_path / "r.csv")))
    assert rows[0] == ["query", "rank", "path", "distance", "id", "match"]
    assert rows[1] == ["0001_c1_q.jpg", "1", "x.jpg", "0.250000", "", ""]
    assert rows[2][4:] == ["1", "1"]


def test_leave_one_out_matches_evaluate_rank_and_hides_same_view():
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(5), 3)
    cams = np.tile([1, 1, 2], 5)
    x = rng.normal(size=(15, 8)) + 3 * rng.normal(size=(5, 8))[pids]
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    result = leave_one_out(d, pids, cams, top_k_per_query=4)
    ref = evaluate_rank(d, pids, pids, cams, cams, max_rank=10)
    assert result["metrics"]["mAP"] == pytest.approx(ref["mAP"])
    assert result["num_valid_queries"] == 15
    assert [q for q, _ in result["examples"]] == [0, 3, 6, 9, 12]
    for q, ranked in result["examples"]:
        assert len(ranked) == 4
        assert not any(pids[j] == pids[q] and cams[j] == cams[q] for j in ranked)
        assert np.all(np.diff(d[q, ranked]) >= 0)
