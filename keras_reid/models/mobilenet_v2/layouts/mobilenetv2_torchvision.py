"""MobileNetV2, torchvision layout (`features.N.conv.0.0` ...) → `mobilenetv2` (width 1.0).

torchvision wraps conv+BN+ReLU6 in `Conv2dNormActivation`: `features.0.{0,1}` stem;
`features.1.conv`: `0.0` depthwise, `0.1` BN, `1` project, `2` BN; `features.2–17.conv`:
`0.0` expand, `0.1` BN, `1.0` depthwise, `1.1` BN, `2` project, `3` BN;
`features.18.{0,1}`; ImageNet `classifier.1` ignored. torchvision rounds widths
differently from tonylins at width ≠ 1.0 (stem 48 channels at 1.4), so only width 1.0
converts (a 1.4 file fails with shape mismatches in strict mode).
"""

from keras_reid.models.mobilenet_v2.layouts.mobilenetv2_tonylins import mobilenetv2_rules
from keras_reid.utils.state_dict_mapping import Layout

RULES = mobilenetv2_rules(
    {"depthwise_conv": "0.0", "depthwise_bn": "0.1", "project_conv": "1", "project_bn": "2"},
    {"expand_conv": "0.0", "expand_bn": "0.1", "depthwise_conv": "1.0", "depthwise_bn": "1.1", "project_conv": "2",
     "project_bn": "3"},
)

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
