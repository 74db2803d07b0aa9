"""The SA-PCB family: PCB with parameter-free spatial attention on deep supervision, its recipe
and the HRanWang/Spatial-Attention layout."""

from keras_reid.models.registry import register_architecture, register_layout
from keras_reid.models.sa_pcb import recipes  # noqa: F401  (registers the family's recipes)
from keras_reid.models.sa_pcb.sa_pcb import SAPCB

__all__ = ["SAPCB"]

register_architecture("sa_pcb", SAPCB, "SA-PCB: parameter-free spatial attention on deep supervision (12,288-D).")

register_layout("sa_pcb_hranwang", f"{__name__}.layouts.sa_pcb", default_for=("sa_pcb",))
