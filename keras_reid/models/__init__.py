"""ReID architectures and their registry."""

from keras_reid.models.global_pooling_reid import GlobalPoolingReID
from keras_reid.models.hacnn.hacnn import HACNN
from keras_reid.models.mobilenet_v2.mobilenet_v2_reid import MobileNetV2ReID
from keras_reid.models.mobilenet_v2.mobilenet_v2_stra import MobileNetV2StRA
from keras_reid.models.registry import build, list_architectures, register_architecture
from keras_reid.models.reid_model import ReIDModel
from keras_reid.models.resnet.resnet50_reid import ResNet50ReID
from keras_reid.models.resnet.resnet50_stra import ResNet50StRA

register_architecture("resnet50", ResNet50ReID, "ResNet-50 ReID baseline (last stride 1, 512-D).")
register_architecture("resnet50_stra", ResNet50StRA, "ResNet50_StRA: StRA attention in layer4 (512-D).")
register_architecture("mobilenetv2", MobileNetV2ReID, "MobileNetV2 1.0 ReID baseline (512-D).")
register_architecture(
    "mobilenetv2_1.4", MobileNetV2ReID, "MobileNetV2 1.4 ReID baseline (512-D).", width=1.4
)
register_architecture("mobilenetv2_stra", MobileNetV2StRA, "MobileNetV2 1.0 with StRA in its last stage.")
register_architecture(
    "mobilenetv2_1.4_stra", MobileNetV2StRA, "MobileNetV2 1.4 with StRA in its last stage.", width=1.4
)

from keras_reid.models.pcb.pcb import PCB  # noqa: E402
from keras_reid.models.pcb.pcb_rpp import PCBRPP  # noqa: E402
from keras_reid.models.sa_pcb.sa_pcb import SAPCB  # noqa: E402

register_architecture("pcb", PCB, "PCB: ResNet-50, 6 stripes, per-part classifiers (12,288-D).")
register_architecture("pcb_rpp", PCBRPP, "PCB-RPP: refined part pooling (rpp_stage 1/2/3 training switch).")
register_architecture(
    "pcb_csa", PCB, "PCB+CSA: compressed self-attention (D=32, G=2) after stages 1-3, deep supervision.",
    attention="csa",
)
register_architecture(
    "pcb_sa", PCB, "PCB+SA: full (non-local) self-attention after stages 1-3, deep supervision.",
    attention="sa",
)
register_architecture("pcb_rpp_csa", PCBRPP, "PCB-RPP+CSA: CSA after stages 1-3 with RPP.", attention="csa")
register_architecture("sa_pcb", SAPCB, "SA-PCB: parameter-free spatial attention on deep supervision (12,288-D).")
register_architecture("hacnn", HACNN, "HA-CNN: harmonious attention CNN (1024-D).")

from keras_reid.models.osnet.osnet import OSNet  # noqa: E402

for _width, _suffix in ((1.0, "x1_0"), (0.75, "x0_75"), (0.5, "x0_5"), (0.25, "x0_25")):
    register_architecture(
        f"osnet_{_suffix}", OSNet, f"OSNet {_suffix.replace('_', '.')}: omni-scale network (512-D).", width=_width
    )
register_architecture(
    "osnet_ibn_x1_0", OSNet, "OSNet-IBN x1.0: instance normalisation in the stem and conv2 (512-D).",
    instance_norm="ibn",
)
register_architecture(
    "osnet_ain_x1_0", OSNet, "OSNet-AIN x1.0: searched instance normalisation placement (512-D).",
    instance_norm="ain",
)
