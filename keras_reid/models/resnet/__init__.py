"""The ResNet family: the ResNet-50 ReID baseline and ResNet50_StRA, with their recipes and
upstream layouts (torchvision ImageNet, a ReID head, shenao-zhang/StRA)."""

from keras_reid.models.registry import register_architecture, register_layout
from keras_reid.models.resnet import recipes  # noqa: F401  (registers the family's recipes)
from keras_reid.models.resnet.resnet50_reid import ResNet50ReID
from keras_reid.models.resnet.resnet50_stra import ResNet50StRA

__all__ = ["ResNet50ReID", "ResNet50StRA"]

register_architecture("resnet50", ResNet50ReID, "ResNet-50 ReID baseline (last stride 1, 512-D).")
register_architecture("resnet50_stra", ResNet50StRA, "ResNet50_StRA: StRA attention in layer4 (512-D).")

register_layout("torchvision_resnet50", f"{__name__}.layouts.torchvision_resnet50")
register_layout("resnet50_reid", f"{__name__}.layouts.resnet50_reid", default_for=("resnet50",))
register_layout("stra_resnet50", f"{__name__}.layouts.stra_resnet50", default_for=("resnet50_stra",))
