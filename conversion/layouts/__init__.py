"""Upstream state-dict layouts, one module per layout (each a table of rules)."""

import difflib
import importlib

_MODULES = {
    "torchvision_resnet50": ".torchvision_resnet50",
    "resnet50_reid": ".resnet50_reid",
    "stra_resnet50": ".stra_resnet50",
    "mobilenetv2_tonylins": ".mobilenetv2_tonylins",
    "mobilenetv2_torchvision": ".mobilenetv2_torchvision",
    "hacnn": ".hacnn",
    "pcb_torchreid": ".pcb:TORCHREID",
    "pcb_layumi": ".pcb:LAYUMI",
    "sa_pcb_hranwang": ".sa_pcb",
    "osnet_torchreid": ".osnet:TORCHREID",
    "osnet_ain_torchreid": ".osnet:AIN",
}

# Layout used when `--layout` is not given.
DEFAULT_LAYOUTS = {
    "resnet50": "resnet50_reid",
    "resnet50_stra": "stra_resnet50",
    "mobilenetv2": "mobilenetv2_tonylins",
    "mobilenetv2_1.4": "mobilenetv2_tonylins",
    "hacnn": "hacnn",
    "pcb": "pcb_torchreid",
    "sa_pcb": "sa_pcb_hranwang",
    **{f"osnet_{w}": "osnet_torchreid" for w in ("x1_0", "x0_75", "x0_5", "x0_25")},
    "osnet_ibn_x1_0": "osnet_torchreid",
    "osnet_ain_x1_0": "osnet_ain_torchreid",
}


def list_layouts():
    return sorted(_MODULES)


def get_layout(name):
    if name not in _MODULES:
        close = difflib.get_close_matches(str(name), _MODULES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown layout {name!r}.{hint} Valid layouts: {', '.join(list_layouts())}.")
    module, _, attribute = _MODULES[name].partition(":")  # "module[:ATTRIBUTE]" (default LAYOUT)
    return getattr(importlib.import_module(module, __name__), attribute or "LAYOUT")


def default_layout(architecture):
    if architecture not in DEFAULT_LAYOUTS:
        raise ValueError(
            f"No default layout for architecture {architecture!r}; pass --layout "
            f"({', '.join(list_layouts())}). Architectures with a default: {', '.join(sorted(DEFAULT_LAYOUTS))}."
        )
    return DEFAULT_LAYOUTS[architecture]
