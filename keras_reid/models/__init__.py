"""ReID architectures, one folder per family, and their registry.

Every sub-package here is an architecture family (`resnet/`, `mobilenet_v2/`, `pcb/`, ...):
its `__init__.py` registers the family's architectures, recipes and upstream layouts, and
lists its public classes in `__all__`, which are re-exported here. Importing this package
imports every family found in the folder, then the modules named in the environment
variable `KERAS_REID_FAMILIES` (comma-separated, importable: families kept outside the
package). Adding a family is adding a folder: see `docs/CONTRIBUTING.md`.
"""

import importlib
import os
import pkgutil
import sys

from keras_reid.models.global_pooling_reid import GlobalPoolingReID
from keras_reid.models.registry import build, list_architectures, register_architecture
from keras_reid.models.reid_model import ReIDModel

__all__ = ["GlobalPoolingReID", "ReIDModel", "build", "list_architectures", "register_architecture"]
FAMILIES_VARIABLE = "KERAS_REID_FAMILIES"
_FAMILIES = []  # module names of the imported families


def _import_family(module_name):
    _FAMILIES.append(module_name)
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", ()):
        globals()[name] = getattr(module, name)
        if name not in __all__:
            __all__.append(name)
    return module


def _import_families():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            _import_family(f"{__name__}.{info.name}")
    for name in filter(None, (n.strip() for n in os.environ.get(FAMILIES_VARIABLE, "").split(","))):
        try:
            _import_family(name)
        except ImportError as e:
            raise ImportError(
                f"{FAMILIES_VARIABLE} names the family {name!r}, which cannot be imported ({e}); "
                "put its folder on PYTHONPATH or remove it from the variable."
            ) from e


_import_families()


def __getattr__(name):
    # A family that imported keras_reid first (`import my_family` before `keras_reid.models`)
    # was still initialising when it was found; its public classes are looked up here.
    for module_name in _FAMILIES:
        module = sys.modules.get(module_name)
        if module is not None and name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
