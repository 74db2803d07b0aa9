"""Built-in preset names, backed by the `zoo/` folders of the repository.

Each `zoo/<name>/zoo.json` describes one named preset (in an installed wheel the entries and
the embedded presets are under `keras_reid/zoo_data/`, copied there by `setup.py`):
`{"name", "architecture", "description", "status", "hub_repo", "instructions", ...}` with
status `embedded` (weights shipped in `zoo/<name>/preset/`), `hub` (served from the
Hugging Face Hub) or `unavailable` (weights the user must produce: `instructions` says how).
`keras_reid/presets/zoo_index.json` is a copy of all of them for installs without the
repository (a test keeps it in sync: `python -m keras_reid.presets.registry` rewrites it).
"""

import json
import os
import pathlib

PACKAGE_DIR = pathlib.Path(__file__).resolve().parents[1]
INDEX_PATH = pathlib.Path(__file__).resolve().parent / "zoo_index.json"
DEFAULT_HUB_ORG = "keras-reid"


def zoo_dir():
    """Where the zoo entries are: `$KERAS_REID_ZOO`, else the repository's `zoo/` (a checkout),
    else `keras_reid/zoo_data/` (an installed wheel: setup.py copies the embedded presets
    there); None when there is none."""
    env = os.environ.get("KERAS_REID_ZOO")
    if env:
        path = pathlib.Path(env)
        return path if path.is_dir() else None
    for path in (PACKAGE_DIR.parent / "zoo", PACKAGE_DIR / "zoo_data"):
        if path.is_dir() and any(path.glob("*/zoo.json")):
            return path
    return None


def hub_org():
    """The Hub organisation built-in names resolve to (`$KERAS_REID_HUB_ORG`, default keras-reid)."""
    return os.environ.get("KERAS_REID_HUB_ORG", DEFAULT_HUB_ORG)


def _read_zoo(root):
    entries = {}
    for path in sorted(root.glob("*/zoo.json")):
        with open(path) as f:
            entry = json.load(f)
        if entry.get("name") != path.parent.name:
            raise ValueError(f"{path}: name {entry.get('name')!r} differs from its folder name.")
        entries[entry["name"]] = entry
    return entries


def builtin_presets():
    """`{name: entry}` of every built-in preset."""
    root = zoo_dir()
    if root is not None:
        return _read_zoo(root)
    if INDEX_PATH.exists():
        with open(INDEX_PATH) as f:
            return json.load(f)
    return {}


def list_presets():
    """Names of the built-in presets, sorted."""
    return sorted(builtin_presets())


def embedded_preset_dir(name):
    root = zoo_dir()
    if root is None:
        return None
    path = root / name / "preset"
    return path if path.is_dir() else None


def first_embedded(names):
    """The first of `names` that is an embedded preset with its files present, else None.

    Example:
    >>> first_embedded(["no_such_preset"]) is None
    True
    """
    presets = builtin_presets()
    for name in names:
        entry = presets.get(name)
        if entry and entry.get("status") == "embedded" and embedded_preset_dir(name):
            return name
    return None


def write_index():
    """Regenerates `zoo_index.json` from `zoo/` (run after editing a zoo entry)."""
    entries = _read_zoo(zoo_dir())
    with open(INDEX_PATH, "w") as f:
        json.dump(entries, f, indent=2, sort_keys=True)
        f.write("\n")
    return entries


if __name__ == "__main__":
    print(f"wrote {len(write_index())} entries to {INDEX_PATH}")
