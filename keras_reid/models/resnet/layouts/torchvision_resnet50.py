"""torchvision ResNet-50 (v1.5) ImageNet state dict → `ResNetBackbone` / a ResNet-50 ReID body.

Keys: `conv1`, `bn1`, `layer{1-4}.{b}.conv{1-3}|bn{1-3}|downsample.{0,1}`, `fc` (320 keys
with `num_batches_tracked`; 267 tensors without, of which `fc.weight`/`fc.bias` are
ignored: ReID models replace the ImageNet classifier). Into a `resnet50` ReID model the
head (`head_conv`, `head_bn`) and classifier keep their initialisation.
"""

from keras_reid.utils.state_dict_mapping import Layout, bn, conv


def resnet_body_rules(stages="1-4"):
    s = f"[{stages}]"
    return [
        *conv(r"conv1", "conv1"),
        *bn(r"bn1", "bn1"),
        *conv(rf"layer({s})\.(\d+)\.conv([1-3])", r"layer\1_\2_conv\3"),
        *bn(rf"layer({s})\.(\d+)\.bn([1-3])", r"layer\1_\2_bn\3"),
        *conv(rf"layer({s})\.(\d+)\.downsample\.0", r"layer\1_\2_downsample_conv"),
        *bn(rf"layer({s})\.(\d+)\.downsample\.1", r"layer\1_\2_downsample_bn"),
    ]


LAYOUT = Layout(
    name="torchvision_resnet50",
    description="torchvision resnet50 ImageNet state dict (e.g. resnet50-19c8e357.pth / -0676ba61.pth)",
    rules=resnet_body_rules(),
    ignored_keys=(r"fc\.(weight|bias)",),
    optional_targets=(r"(head_conv|head_bn)/.*", r"classifier/.*"),
    expected_num_keys=320,
    architectures=("resnet50",),
    source="https://download.pytorch.org/models/resnet50-19c8e357.pth (BSD-3-Clause, torchvision)",
)
