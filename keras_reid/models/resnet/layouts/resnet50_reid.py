"""ResNet-50 ReID baseline state dict → `resnet50`.

The torchvision body (`conv1` … `layer4`, last stride 1: strides are not stored) plus
the StRA-style head `global_avg_pool` = [AdaptiveAvgPool2d(1), Conv2d(2048, 512, 1,
bias=False), BatchNorm2d(512)] and `classifier` = Linear(512, num_classes).
"""

from keras_reid.models.resnet.layouts.torchvision_resnet50 import resnet_body_rules
from keras_reid.utils.state_dict_mapping import Layout, bn, dense


def reid_head_rules():
    return [
        *dense(r"global_avg_pool\.1", "head_conv", bias=False, transform="conv1x1_to_dense"),
        *bn(r"global_avg_pool\.2", "head_bn"),
        *dense(r"classifier", "classifier"),
    ]


LAYOUT = Layout(
    name="resnet50_reid",
    description="ResNet-50 ReID baseline: torchvision body + global_avg_pool.{1,2} head + classifier",
    rules=resnet_body_rules() + reid_head_rules(),
    expected_num_keys=1 + 5 + (3 + 4 + 6 + 3) * 15 + 4 * 5 + 1 + 5 + 2,
    architectures=("resnet50",),
    classifier_key="classifier.weight",
)
