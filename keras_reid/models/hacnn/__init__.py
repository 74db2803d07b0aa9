"""The HA-CNN family: harmonious attention CNN, its from-scratch recipe and the torchreid layout."""

from keras_reid.models.hacnn import recipes  # noqa: F401  (registers the family's recipes)
from keras_reid.models.hacnn.hacnn import HACNN
from keras_reid.models.registry import register_architecture, register_layout

__all__ = ["HACNN"]

register_architecture("hacnn", HACNN, "HA-CNN: harmonious attention CNN (1024-D).")

register_layout("hacnn", f"{__name__}.layouts.hacnn", default_for=("hacnn",))
