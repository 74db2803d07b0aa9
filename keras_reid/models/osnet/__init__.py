"""The OSNet family (torchreid's omni-scale networks, plain, IBN and AIN) and its layouts.

No recipe of its own: OSNet trains with the generic `default` recipe."""

from keras_reid.models.osnet.osnet import OSNet
from keras_reid.models.registry import register_architecture, register_layout

__all__ = ["OSNet"]

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

register_layout(
    "osnet_torchreid",
    f"{__name__}.layouts.osnet:TORCHREID",
    default_for=(*(f"osnet_{w}" for w in ("x1_0", "x0_75", "x0_5", "x0_25")), "osnet_ibn_x1_0"),
)
register_layout("osnet_ain_torchreid", f"{__name__}.layouts.osnet:AIN", default_for=("osnet_ain_x1_0",))
