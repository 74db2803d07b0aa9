"""The registries the architecture families fill: architectures (`keras_reid.build(name)`,
`keras_reid.list_architectures()`) and upstream state-dict layouts (`python -m conversion`).

Each family folder (`keras_reid/models/<family>/__init__.py`) registers its own entries when
`keras_reid.models` imports it; recipes register in `keras_reid.training.recipes`.
"""

import difflib
import importlib

_ARCHITECTURES = {}


def register_architecture(name, cls, description, **defaults):
    """Registers `cls` under `name`; `defaults` are constructor arguments for that name."""
    if name in _ARCHITECTURES:
        raise ValueError(f"Architecture {name!r} is already registered.")
    _ARCHITECTURES[name] = {"cls": cls, "description": description, "defaults": defaults}


def list_architectures():
    """Names accepted by `keras_reid.build`, sorted."""
    return sorted(_ARCHITECTURES)


def architecture_info(name):
    """`{"cls", "description", "defaults"}` of a registered architecture."""
    return _ARCHITECTURES[_check_name(name)]


def _check_name(name):
    if name not in _ARCHITECTURES:
        close = difflib.get_close_matches(str(name), _ARCHITECTURES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown architecture {name!r}.{hint} Valid names: {', '.join(list_architectures())}."
        )
    return name


def build(name, num_classes=None, **options):
    """Builds a registered ReID architecture with fresh (random) weights.

    Args:
        name: an architecture name from `keras_reid.list_architectures()`.
        num_classes: identities of the classifier(s); None builds an embedding-only model.
        **options: constructor arguments of the architecture's class (e.g. `image_shape`).

    Example:
    >>> import keras_reid
    >>> model = keras_reid.build("resnet50_stra", num_classes=751)
    """
    info = architecture_info(name)
    kwargs = {**info["defaults"], **options}
    return info["cls"](num_classes=num_classes, **kwargs)


# -- upstream state-dict layouts (python -m conversion) ------------------------------------
_LAYOUTS = {}  # name -> "package.module[:ATTRIBUTE]" (default attribute LAYOUT), imported on use
_DEFAULT_LAYOUTS = {}  # architecture -> layout name


def register_layout(name, target, default_for=()):
    """Registers an upstream layout (a `keras_reid.utils.state_dict_mapping.Layout`).

    Args:
        name: the layout name (`python -m conversion convert --layout NAME`).
        target: `"package.module"` or `"package.module:ATTRIBUTE"` holding it (`LAYOUT` by
            default); imported only when the layout is used.
        default_for: architectures converted with this layout when no `--layout` is given.
    """
    if name in _LAYOUTS:
        raise ValueError(f"Layout {name!r} is already registered.")
    _LAYOUTS[name] = target
    for architecture in default_for:
        if architecture in _DEFAULT_LAYOUTS:
            raise ValueError(f"Architecture {architecture!r} already has the default layout {_DEFAULT_LAYOUTS[architecture]!r}.")
        _DEFAULT_LAYOUTS[architecture] = name


def list_layouts():
    """Registered layout names, sorted."""
    return sorted(_LAYOUTS)


def get_layout(name):
    """The `Layout` registered as `name`."""
    if name not in _LAYOUTS:
        close = difflib.get_close_matches(str(name), _LAYOUTS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown layout {name!r}.{hint} Valid layouts: {', '.join(list_layouts())}.")
    module, _, attribute = _LAYOUTS[name].partition(":")
    return getattr(importlib.import_module(module), attribute or "LAYOUT")


def default_layouts():
    """`{architecture: layout name}` of the architectures with a default layout."""
    return dict(_DEFAULT_LAYOUTS)


def default_layout(architecture):
    """The layout converting `architecture` when none is named."""
    if architecture not in _DEFAULT_LAYOUTS:
        raise ValueError(
            f"No default layout for architecture {architecture!r}; pass --layout "
            f"({', '.join(list_layouts())}). Architectures with a default: {', '.join(sorted(_DEFAULT_LAYOUTS))}."
        )
    return _DEFAULT_LAYOUTS[architecture]
