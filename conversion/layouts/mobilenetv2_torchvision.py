"""MobileNetV2, torchvision layout (`features.N.conv.0.0` ...) → `mobilenetv2` (width 1.0).

torchvision wraps conv+BN+ReLU6 in `Conv2dNormActivation`: `features.0.{0,1}` stem;
`features.1.conv`: `0.0` depthwise, `0.1` BN, `1` project, `2` BN; `features.2–17.conv`:
`0.0` expand, `0.1` BN, `1.0` depthwise, `1.1` BN, `2` project, `3` BN;
`features.18.{0,1}`; ImageNet `classifier.1` ignored. torchvision rounds widths
differently from tonylins at width ≠ 1.0 (stem 48 channels at 1.4), so only width 1.0
converts (a 1.4 file fails with shape mismatches in strict mode).
"""

from conversion.layouts.resnet50_reid import reid_head_rules
from conversion.mapping import Layout, bn, conv, depthwise

N = r"features\.([2-9]|1[0-7])\.conv"
K = r"features_\1"

RULES = [
    *conv(r"features\.0\.0", "features_0_conv"),
    *bn(r"features\.0\.1", "features_0_bn"),
    *depthwise(r"features\.1\.conv\.0\.0", "features_1_depthwise_conv"),
    *bn(r"features\.1\.conv\.0\.1", "features_1_depthwise_bn"),
    *conv(r"features\.1\.conv\.1", "features_1_project_conv"),
    *bn(r"features\.1\.conv\.2", "features_1_project_bn"),
    *conv(rf"{N}\.0\.0", f"{K}_expand_conv"),
    *bn(rf"{N}\.0\.1", f"{K}_expand_bn"),
    *depthwise(rf"{N}\.1\.0", f"{K}_depthwise_conv"),
    *bn(rf"{N}\.1\.1", f"{K}_depthwise_bn"),
    *conv(rf"{N}\.2", f"{K}_project_conv"),
    *bn(rf"{N}\.3", f"{K}_project_bn"),
    *conv(r"features\.18\.0", "features_18_conv"),
    *bn(r"features\.18\.1", "features_18_bn"),
] + reid_head_rules()

LAYOUT = Layout(
    name="mobilenetv2_torchvision",
    description="torchvision mobilenet_v2 (width 1.0) state dict (features.N.conv.0.0 ...)",
    rules=RULES,
    ignored_keys=(r"classifier\.1\.(weight|bias)",),
    optional_targets=(r"(head_conv|head_bn)/.*", r"classifier/.*"),
    expected_num_keys=314,
    architectures=("mobilenetv2",),
    classifier_key="classifier.weight",
    source="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth (BSD-3-Clause, torchvision)",
)
