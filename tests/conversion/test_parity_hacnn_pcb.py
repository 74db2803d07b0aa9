"""HA-CNN, PCB (torchreid, layumi) and SA-PCB layouts: checkpoint → `python -m conversion convert` → preset,
compared with PyTorch references written from the specs (random weights, eval mode, fresh inputs)."""

import keras
import numpy as np
import pytest

import keras_reid
from conversion import ConversionError, convert_checkpoint, get_layout
from conversion.__main__ import main as cli_main
from tests.conversion import torch_reference as T
from tests.conversion import torch_reference_pcb as P
from tests.test_case import assert_max_abs_close

TOL = 1e-4
PCB_SHAPE = (96, 32, 3)  # stage-4 height 6: torchreid's adaptive bins = the stripe formula


def _fresh(shape, n=2):
    return T.numpy_images((n,) + tuple(shape), seed=int(np.random.default_rng().integers(1 << 30)))


def _convert_cli(checkpoint, out, arch, image_shape, *extra):
    argv = ["convert", "--arch", arch, "--checkpoint", str(checkpoint), "--output", str(out),
            "--image-size", str(image_shape[0]), str(image_shape[1]), "--license", "mit",
            "--source", "unit test", *map(str, extra)]
    assert cli_main(argv) == 0
    return keras_reid.load(str(out))


def _check(name, got, want, tol=TOL):
    got, want = assert_max_abs_close(name, got, want, tol)
    assert np.abs(want[0] - want[-1]).max() > 1e-3  # samples differ: a non-trivial output


def _eval_outputs(model, x):
    out = model.network(x, training=False)
    return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}


def _hacnn_reference(align_corners, seed):
    from tests.models.hacnn.torch_reference import build_reference, calibration_forward

    ref = build_reference(7, align_corners=align_corners)
    return T.randomize(ref, seed=seed, batch_shape=(8, 3, 160, 64), forward=calibration_forward(seed))


@pytest.mark.parametrize("align_corners", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_hacnn_cli(tmp_path, align_corners):
    ref = _hacnn_reference(align_corners, seed=17)
    assert len(ref.state_dict()) == get_layout("hacnn").expected_num_keys == 535
    # torchreid's zoo files: {'state_dict': ...}, DataParallel prefix.
    ckpt = T.save_checkpoint(ref, tmp_path / "hacnn_market.pth.tar", wrap=True, prefix="module.")
    extra = ["--option", "align_corners=true"] if align_corners else []
    model = _convert_cli(ckpt, tmp_path / "hacnn", "hacnn", (160, 64), *extra)
    assert model.align_corners is align_corners and model.get_config()["align_corners"] is align_corners
    conversion = model.preset_metadata["conversion"]
    assert conversion["assigned"] == 460 and not conversion["missing"] and not conversion["unexpected"]
    assert model.num_classes == 7
    x = _fresh((160, 64, 3))
    out = _eval_outputs(model, x)
    _check("hacnn embedding", out["embedding"], T.run(ref, x))


def test_hacnn_strict_catches_renamed_missing_misshaped():
    ref = _hacnn_reference(False, seed=3)
    state = {k: v.numpy() for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    renamed = dict(state)
    renamed["ha2.soft_attn.conv.conv.wieght"] = renamed.pop("ha2.soft_attn.conv.conv.weight")
    missing = dict(state)
    del missing["local_conv3.stream2.2.bn.running_var"]
    misshaped = dict(state)
    misshaped["fc_local.0.weight"] = misshaped["fc_local.0.weight"][:, :1024]
    expectations = [
        (renamed, ["ha2.soft_attn.conv.conv.wieght", "ha2/soft_attn/conv_conv/kernel"]),
        (missing, ["1 missing", "local_conv3/stream2_2_bn/moving_variance"]),
        (misshaped, ["1 shape mismatches", "fc_local.0.weight -> fc_local_dense/kernel"]),
    ]
    for broken, words in expectations:
        with pytest.raises(ConversionError) as info:
            convert_checkpoint(broken, "hacnn", strict=True)
        for w in words:
            assert w in str(info.value), (w, str(info.value))
    # Non-strict: the consistent part is assigned and the report lists the rest.
    model, report = convert_checkpoint(misshaped, "hacnn", strict=False)
    assert [k for k, *_ in report.mismatched] == ["fc_local.0.weight"] and len(report.assigned) == 459


def test_pcb_torchreid_cli(tmp_path):
    ref = P.TorchreidPCB(num_classes=9)
    T.randomize(ref, seed=23, batch_shape=(16, 3) + PCB_SHAPE[:2], forward=lambda m, x: m.logits(x))
    assert len(ref.state_dict()) == get_layout("pcb_torchreid").expected_num_keys
    ckpt = T.save_checkpoint(ref, tmp_path / "pcb_p6.pth.tar", wrap=True)
    model = _convert_cli(ckpt, tmp_path / "pcb", "pcb", PCB_SHAPE[:2])
    assert model.preset_metadata["layout"] == "pcb_torchreid" and model.num_classes == 9
    x = _fresh(PCB_SHAPE)
    out = _eval_outputs(model, x)
    _check("pcb_p6 embedding", out["embedding"], T.run(ref, x))
    import torch

    with torch.no_grad():
        logits = ref.logits(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    for i in range(6):
        _check(f"pcb_p6 part {i} logits", out[f"part_{i}"], logits[i].numpy())


def test_pcb_layumi(tmp_path):
    ref = P.LayumiPCB(class_num=9)
    T.randomize(ref, seed=29, batch_shape=(16, 3) + PCB_SHAPE[:2])
    layout = get_layout("pcb_layumi")
    assert len(ref.state_dict()) == layout.expected_num_keys
    ckpt = T.save_checkpoint(ref, tmp_path / "net_last.pth")
    model = _convert_cli(ckpt, tmp_path / "pcb_layumi", "pcb", PCB_SHAPE[:2], "--layout", "pcb_layumi")
    conversion = model.preset_metadata["conversion"]
    assert model.num_classes is None and conversion["assigned"] == 267 - 2
    assert len(conversion["ignored"]) == 2 + 6 * 8  # model.fc + the per-part ClassBlocks
    assert {p.split("/")[0] for p in conversion["left_at_init"]} == {"local_conv", "feat_bn2d"}
    x = _fresh(PCB_SHAPE)
    # layumi divides each unit part by a further √6 (a constant: same ranking).
    _check("layumi PCB embedding / √6", _eval_outputs(model, x)["embedding"] / np.sqrt(6), T.run(ref, x))


def test_sa_pcb_cli(tmp_path):
    ref = P.SAPCB(num_classes=9)
    T.randomize(ref, seed=31, batch_shape=(16, 3) + PCB_SHAPE[:2], forward=lambda m, x: m.logits(x))
    layout = get_layout("sa_pcb_hranwang")
    assert len(ref.state_dict()) == layout.expected_num_keys == 350
    ckpt = T.save_checkpoint(ref, tmp_path / "checkpoint.pth.tar", wrap=True)
    model = _convert_cli(ckpt, tmp_path / "sa_pcb", "sa_pcb", PCB_SHAPE[:2])
    assert model.attention_mode == "upstream" and model.num_classes == 9
    conversion = model.preset_metadata["conversion"]
    assert sorted(conversion["ignored"]) == ["base.fc.bias", "base.fc.weight", "fusion_conv.weight"]
    assert not conversion["missing"] and not conversion["left_at_init"]
    x = _fresh(PCB_SHAPE)
    out = _eval_outputs(model, x)
    _check("sa_pcb out0", out["embedding"], T.run(ref, x))
    import torch

    with torch.no_grad():
        parts, glob, ds = ref.logits(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    for i in range(6):
        _check(f"sa_pcb part {i} logits", out[f"part_{i}"], parts[i].numpy())
    _check("sa_pcb global logits", out["global"], glob.numpy())
    for k in (1, 2, 3):  # the deep-supervision branches: code-mode spatial attention
        _check(f"sa_pcb DS{k} logits", out[f"aux_{k}"], ds[k - 1].numpy())
