"""torchreid `hacnn` (deep-person-reid `torchreid/models/hacnn.py`) → `hacnn`.

Spec: shared/specs/upstream_stra_hacnn.md §2.4. 535 keys (460 tensors + 75
`num_batches_tracked`). Every conv is a `ConvBlock` (`<prefix>.conv` with bias,
`<prefix>.bn`); InceptionA's `stream4.0` and InceptionB's `stream3.0` are the
parameter-free pools. Keras names: `inception{k}.{i}` → layer `inception{k}_{i}`,
`stream{s}.{j}.conv|bn` → sublayer `stream{s}_{j}_conv|bn`, the attention modules
nest as upstream (`ha{k}/soft_attn/spatial_attn/conv1_conv`), `fc_*.0|1` →
`fc_*_dense|bn`. torchreid's zoo checkpoints are `{'state_dict': ...}` dicts.

The zoo weights were trained with PyTorch < 1.3, whose `affine_grid`/`grid_sample`
behaved as `align_corners=True`; convert them with `--option align_corners=true`
(recorded in the preset config). Today's torchreid computes `align_corners=False`.
"""

from keras_reid.utils.state_dict_mapping import Layout, bn, conv, dense


def _conv_block(torch_prefix, keras_prefix):
    """A torchreid ConvBlock: `<p>.conv` (with bias) + `<p>.bn`."""
    return [*conv(rf"{torch_prefix}\.conv", f"{keras_prefix}_conv", bias=True), *bn(rf"{torch_prefix}\.bn", f"{keras_prefix}_bn")]


RULES = [
    *conv(r"conv\.conv", "conv/conv", bias=True),
    *bn(r"conv\.bn", "conv/bn"),
    # Inception-A/B of the global branch and the shared local Inception-B's.
    *_conv_block(r"inception([1-3])\.([01])\.stream([1-4])\.([0-2])", r"inception\1_\2/stream\3_\4"),
    *_conv_block(r"local_conv([1-3])\.stream([1-3])\.([0-2])", r"local_conv\1/stream\2_\3"),
    # Harmonious attention.
    *_conv_block(r"ha([1-3])\.soft_attn\.(spatial_attn|channel_attn)\.conv([12])", r"ha\1/soft_attn/\2/conv\3"),
    *_conv_block(r"ha([1-3])\.soft_attn\.conv", r"ha\1/soft_attn/conv"),
    *dense(r"ha([1-3])\.hard_attn\.fc", r"ha\1/hard_attn/fc"),
    # Heads: Linear → BatchNorm1d (→ ReLU), classifiers.
    *dense(r"(fc_global|fc_local)\.0", r"\1_dense"),
    *bn(r"(fc_global|fc_local)\.1", r"\1_bn"),
    *dense(r"(classifier_global|classifier_local)", r"\1"),
]

LAYOUT = Layout(
    name="hacnn",
    description="torchreid hacnn (deep-person-reid torchreid/models/hacnn.py), zoo hacnn_market/duke/msmt",
    rules=RULES,
    expected_num_keys=535,
    architectures=("hacnn",),
    classifier_key="classifier_global.weight",
    source="torchreid MODEL_ZOO 'hacnn' (Market-1501: Google Drive 1LRKIQduThwGxMDQMiVkTScBwR7WidmYF); MIT",
)
