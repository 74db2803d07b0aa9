"""The PCB family: PCB, PCB-RPP and their CSA / full self-attention variants, with their
recipes and the torchreid / layumi layouts."""

from keras_reid.models.pcb import recipes  # noqa: F401  (registers the family's recipes)
from keras_reid.models.pcb.pcb import PCB
from keras_reid.models.pcb.pcb_rpp import PCBRPP
from keras_reid.models.registry import register_architecture, register_layout

__all__ = ["PCB", "PCBRPP"]

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

register_layout("pcb_torchreid", f"{__name__}.layouts.pcb:TORCHREID", default_for=("pcb",))
register_layout("pcb_layumi", f"{__name__}.layouts.pcb:LAYUMI")
