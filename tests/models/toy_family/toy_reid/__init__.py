"""A toy architecture family: what `docs/CONTRIBUTING.md` walks through.

Everything a family brings is in this folder: the backbone and the model (one public class per
file), their registration, a training recipe and the layout of an upstream PyTorch state dict.
Copied into `keras_reid/models/`, `keras_reid.models` finds it; kept elsewhere, it is loaded
through `KERAS_REID_FAMILIES=toy_reid` (tests/models/test_family_folder.py does that).
"""

from keras_reid.models.registry import register_architecture, register_layout
from . import recipes  # noqa: F401  (registers the family's recipe)
from .toy_backbone import ToyBackbone
from .toy_net import ToyNet

__all__ = ["ToyBackbone", "ToyNet"]

register_architecture("toy_net", ToyNet, "Toy family: two conv blocks, GAP-embedding-BN head (64-D).")
register_layout("toy_torch", f"{__name__}.layouts.toy_torch", default_for=("toy_net",))
