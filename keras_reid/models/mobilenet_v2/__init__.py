"""The MobileNetV2 family: the MobileNetV2 ReID baseline and MobileNetV2_StRA (widths 1.0 and
1.4), with their recipes (StRA paper setting, multi-source DG) and upstream layouts."""

from keras_reid.models.mobilenet_v2 import recipes  # noqa: F401  (registers the family's recipes)
from keras_reid.models.mobilenet_v2.mobilenet_v2_reid import MobileNetV2ReID
from keras_reid.models.mobilenet_v2.mobilenet_v2_stra import MobileNetV2StRA
from keras_reid.models.registry import register_architecture, register_layout

__all__ = ["MobileNetV2ReID", "MobileNetV2StRA"]

register_architecture("mobilenetv2", MobileNetV2ReID, "MobileNetV2 1.0 ReID baseline (512-D).")
register_architecture("mobilenetv2_1.4", MobileNetV2ReID, "MobileNetV2 1.4 ReID baseline (512-D).", width=1.4)
register_architecture("mobilenetv2_stra", MobileNetV2StRA, "MobileNetV2 1.0 with StRA in its last stage.")
register_architecture(
    "mobilenetv2_1.4_stra", MobileNetV2StRA, "MobileNetV2 1.4 with StRA in its last stage.", width=1.4
)

register_layout(
    "mobilenetv2_tonylins", f"{__name__}.layouts.mobilenetv2_tonylins", default_for=("mobilenetv2", "mobilenetv2_1.4")
)
register_layout("mobilenetv2_torchvision", f"{__name__}.layouts.mobilenetv2_torchvision")
