"""`keras-reid eval` end to end on real Market-1501 files (skipped without ../shared/datasets)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import keras_reid
from keras_reid.data import get_dataset
from keras_reid.evaluation import compute_distance_matrix, evaluate_rank


@pytest.mark.real_data
def test_eval_market_mini_end_to_end(datasets_root, tmp_path):
    root = datasets_root / "market1501_mini"
    out = tmp_path / "metrics.json"
    done = subprocess.run(
        [sys.executable, "-m", "keras_reid.cli", "eval", "mobilenetv2_imagenet", "--dataset", "market1501",
         "--root", str(root), "--json", str(out), "--cmc-plot", str(tmp_path / "cmc.png")],
        capture_output=True, text=True, timeout=900, env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    reported = json.loads(out.read_text())
    assert (tmp_path / "cmc.png").stat().st_size > 0

    # The same protocol computed here from the parser, the extractor and the evaluator.
    data = get_dataset("market1501", str(root))
    extractor = keras_reid.FeatureExtractor("mobilenetv2_imagenet", verbose=0)
    q = extractor([r[0] for r in data.query])
    g = extractor([r[0] for r in data.gallery])
    metrics = evaluate_rank(
        compute_distance_matrix(q, g, metric="cosine"),
        np.array([r[1] for r in data.query]), np.array([r[1] for r in data.gallery]),
        np.array([r[2] for r in data.query]), np.array([r[2] for r in data.gallery]),
        max_rank=len(data.gallery),
    )
    text = json.dumps(reported)
    assert 0.0 < metrics["mAP"] <= 1.0
    # The CLI reports percentages or fractions; either way the numbers are the protocol's.
    found = [v for v in _numbers(reported) if abs(v - metrics["mAP"]) < 1e-4 or abs(v - 100 * metrics["mAP"]) < 1e-2]
    assert found, (text, metrics["mAP"])


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)):
        yield float(obj)
