"""torchreid OSNet state dicts → `osnet_*` (deep-person-reid `torchreid/models/osnet.py`, `osnet_ain.py`).

* `osnet_torchreid` (`osnet.py`: `osnet_x1_0`, `osnet_x0_75`, `osnet_x0_5`, `osnet_x0_25`,
  `osnet_ibn_x1_0`): `conv1.conv`/`conv1.bn` (an `InstanceNorm2d`, weight and bias only,
  in osnet_ibn), blocks `conv{2,3,4}.{0,1}` with `conv1.{conv,bn}`, streams `conv2a.*`
  (one LightConv3x3) and `conv2{b,c,d}.{i}.*` (`conv1` 1×1, `conv2` depthwise 3×3, `bn`),
  `gate.fc{1,2}` (1×1 convs with bias → Dense), `conv3.{conv,bn}`, `downsample.{conv,bn}`,
  `IN` (osnet_ibn's `conv2` blocks); transitions `conv{2,3}.2.0.{conv,bn}` → `pool{2,3}_*`;
  `conv5.{conv,bn}`; `fc.0` (Linear) → `fc_dense`, `fc.1` (BatchNorm1d) → `fc_bn`;
  `classifier`. 567 keys with 80 `num_batches_tracked` (osnet_ibn_x1_0: 568 and 79).
* `osnet_ain_torchreid` (`osnet_ain.py`: `osnet_ain_x1_0`): the same, except streams
  `conv2.{t}.layers.{i}.*` → `conv2{"abcd"[t]}_{i}_*`, transitions `pool{2,3}.0.*`, and
  the `OSBlockINin` blocks have `conv3.conv` without `conv3.bn` plus `IN`. 552 keys (75
  `num_batches_tracked`).

The same files load torchreid's ImageNet weights (`*_imagenet.pth`, 1000-class
classifier; convert with `--num-classes 0` to drop it) and its ReID checkpoints
(`{'state_dict': ...}`, `module.` prefixes stripped by the reader). An instance
normalisation with running statistics (`IN.running_mean`) is refused, not ignored: it
would normalise differently at inference from what keras_reid computes.
"""

from keras_reid.utils.state_dict_mapping import Layout, bn, conv, dense, depthwise

BLOCK = r"conv([234])\.([01])"
KERAS_BLOCK = r"conv\1_\2"


def _light_conv(torch_prefix, keras_prefix):
    """LightConv3x3: `conv1` (1×1), `conv2` (depthwise 3×3), `bn`."""
    return [
        *conv(rf"{torch_prefix}\.conv1", f"{keras_prefix}_conv1"),
        *depthwise(rf"{torch_prefix}\.conv2", f"{keras_prefix}_conv2"),
        *bn(rf"{torch_prefix}\.bn", f"{keras_prefix}_bn"),
    ]


def _block_common():
    """The keys both layouts share in every block: conv1, gate, conv3, downsample, IN."""
    rules = []
    for part in ("conv1", "conv3", "downsample"):
        rules += conv(rf"{BLOCK}\.{part}\.conv", rf"{KERAS_BLOCK}_{part}_conv")
        rules += bn(rf"{BLOCK}\.{part}\.bn", rf"{KERAS_BLOCK}_{part}_bn")
    for fc in ("fc1", "fc2"):
        rules += dense(rf"{BLOCK}\.gate\.{fc}", rf"{KERAS_BLOCK}_gate/{fc}", transform="conv1x1_to_dense")
    rules += bn(rf"{BLOCK}\.IN", rf"{KERAS_BLOCK}_in")  # weight/bias → gamma/beta (no running stats)
    return rules


def _stem_and_head():
    return [
        *conv(r"conv1\.conv", "conv1_conv"),
        *bn(r"conv1\.bn", "conv1_bn"),  # BatchNorm2d, or InstanceNorm2d (weight/bias) in IBN/AIN
        *conv(r"conv5\.conv", "conv5_conv"),
        *bn(r"conv5\.bn", "conv5_bn"),
        *dense(r"fc\.0", "fc_dense"),
        *bn(r"fc\.1", "fc_bn"),
        *dense(r"classifier", "classifier"),
    ]


def osnet_rules():
    """`torchreid/models/osnet.py`."""
    rules = _stem_and_head() + _block_common()
    rules += _light_conv(rf"{BLOCK}\.conv2a", rf"{KERAS_BLOCK}_conv2a_0")
    rules += _light_conv(rf"{BLOCK}\.conv2([bcd])\.([0-3])", rf"{KERAS_BLOCK}_conv2\3_\4")
    rules += conv(r"conv([23])\.2\.0\.conv", r"pool\1_conv") + bn(r"conv([23])\.2\.0\.bn", r"pool\1_bn")
    return rules


def osnet_ain_rules():
    """`torchreid/models/osnet_ain.py`."""
    rules = _stem_and_head() + _block_common()
    for t, letter in enumerate("abcd"):
        rules += _light_conv(rf"{BLOCK}\.conv2\.{t}\.layers\.([0-3])", rf"{KERAS_BLOCK}_conv2{letter}_\3")
    rules += conv(r"pool([23])\.0\.conv", r"pool\1_conv") + bn(r"pool([23])\.0\.bn", r"pool\1_bn")
    return rules


SOURCE = "torchreid MODEL_ZOO / osnet.py pretrained_urls (Google Drive; ImageNet and ReID weights); MIT"

TORCHREID = Layout(
    name="osnet_torchreid",
    description="torchreid osnet.py: osnet_x1_0/x0_75/x0_5/x0_25 and osnet_ibn_x1_0 (conv2a..conv2d streams)",
    rules=osnet_rules(),
    expected_num_keys=567,
    architectures=("osnet_x1_0", "osnet_x0_75", "osnet_x0_5", "osnet_x0_25", "osnet_ibn_x1_0"),
    classifier_key="classifier.weight",
    source=SOURCE,
)

AIN = Layout(
    name="osnet_ain_torchreid",
    description="torchreid osnet_ain.py: osnet_ain_x1_0 (conv2.{t}.layers streams, pool2/pool3, OSBlockINin)",
    rules=osnet_ain_rules(),
    expected_num_keys=552,
    architectures=("osnet_ain_x1_0",),
    classifier_key="classifier.weight",
    source=SOURCE,
)

LAYOUT = TORCHREID
