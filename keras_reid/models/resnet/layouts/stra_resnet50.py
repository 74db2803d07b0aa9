"""StRA `stru_resnet50` (shenao-zhang/StRA, `models/stru_mask_value.py`) → `resnet50_stra`.

Spec: shared/specs/upstream_stra_hacnn.md §1.7. 440 keys in the bare model (the released
checkpoint wraps them in `{'state_dict': ...}` with DataParallel's `module.` prefix,
both removed by `conversion.checkpoint`). `layer1`–`layer3` are torchvision's; in
`layer4` each `conv2` is `LocalAttn` (`mask_conv.{0,1,3,4}`, `value_conv`) holding the
`MoE` mode attention (`moe.gap_weight.{0,1,3,4}`, `moe.bn`, `moe.bn2`).
"""

from keras_reid.models.resnet.layouts.resnet50_reid import reid_head_rules
from keras_reid.models.resnet.layouts.torchvision_resnet50 import resnet_body_rules
from keras_reid.utils.state_dict_mapping import Layout, bn, conv, grouped_pointwise

B = r"layer4\.(\d)"
K = r"layer4_\1"

LAYER4_RULES = [
    *conv(rf"{B}\.conv([13])", rf"{K}/conv\2"),
    *bn(rf"{B}\.bn([123])", rf"{K}/bn\2"),
    *conv(rf"{B}\.downsample\.0", f"{K}/downsample_conv"),
    *bn(rf"{B}\.downsample\.1", f"{K}/downsample_bn"),
    # LocalAttn (the replaced conv2)
    *grouped_pointwise(rf"{B}\.conv2\.mask_conv\.0", f"{K}/local_attention/mask_conv1"),
    *bn(rf"{B}\.conv2\.mask_conv\.1", f"{K}/local_attention/mask_bn1"),
    *grouped_pointwise(rf"{B}\.conv2\.mask_conv\.3", f"{K}/local_attention/mask_conv2"),
    *bn(rf"{B}\.conv2\.mask_conv\.4", f"{K}/local_attention/mask_bn2"),
    *grouped_pointwise(rf"{B}\.conv2\.value_conv", f"{K}/local_attention/value_conv", bias=False),
    # MoE (mode attention)
    *grouped_pointwise(rf"{B}\.conv2\.moe\.gap_weight\.0", f"{K}/mode_attention/pool_conv1"),
    *bn(rf"{B}\.conv2\.moe\.gap_weight\.1", f"{K}/mode_attention/pool_bn1"),
    *grouped_pointwise(rf"{B}\.conv2\.moe\.gap_weight\.3", f"{K}/mode_attention/pool_conv2"),
    *bn(rf"{B}\.conv2\.moe\.gap_weight\.4", f"{K}/mode_attention/pool_bn2"),
    *bn(rf"{B}\.conv2\.moe\.bn", f"{K}/mode_attention/gate_bn1"),
    *bn(rf"{B}\.conv2\.moe\.bn2", f"{K}/mode_attention/gate_bn2"),
]

LAYOUT = Layout(
    name="stra_resnet50",
    description="StRA stru_resnet50 (shenao-zhang/StRA @21cc7c3), Market-1501 checkpoint model.pth.tar-100",
    rules=resnet_body_rules("1-3") + LAYER4_RULES + reid_head_rules(),
    expected_num_keys=440,
    architectures=("resnet50_stra",),
    classifier_key="classifier.weight",
    source="Google Drive file id 1oXLY60iX8Vkbp-iTlrrzzkrFjME1Esun (README 'Pre-trained Model'); no licence",
)
