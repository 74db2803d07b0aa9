"""Architecture registry: `keras_reid.build(name, ...)` and `keras_reid.list_architectures()`."""

import difflib

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
