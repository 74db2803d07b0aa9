"""Build hook: the presets embedded in `zoo/` travel inside the package.

`pyproject.toml` holds the project metadata; this file adds the package layout and one build step. The
repository keeps each embedded preset once, in `zoo/<name>/preset/` next to its card and
build script; when a wheel is built, `build_py` copies every embedded zoo entry
(`zoo.json`, `README.md`, `preset/`) to `keras_reid/zoo_data/<name>/`, where
`keras_reid.presets.registry` finds them in an installed package. An sdist carries `zoo/`
(MANIFEST.in), so a wheel built from it has them too.
"""

import json
import pathlib
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent


class BuildPyWithZoo(build_py):
    def run(self):
        super().run()
        zoo = HERE / "zoo"
        if not zoo.is_dir():
            return
        target = pathlib.Path(self.build_lib) / "keras_reid" / "zoo_data"
        shutil.rmtree(target, ignore_errors=True)
        for entry in sorted(zoo.glob("*/zoo.json")):
            folder = entry.parent
            info = json.loads(entry.read_text())
            dest = target / folder.name
            dest.mkdir(parents=True)
            shutil.copy2(entry, dest / "zoo.json")
            if (folder / "README.md").is_file():
                shutil.copy2(folder / "README.md", dest / "README.md")
            if info.get("status") == "embedded":
                shutil.copytree(folder / "preset", dest / "preset")


setup(
    # The repository's conversion/ folder installs as keras_reid.conversion: a top-level
    # "conversion" module is too generic a name to own. `python -m conversion` keeps
    # working in a checkout; `python -m keras_reid.conversion` works everywhere.
    packages=find_packages(include=["keras_reid", "keras_reid.*"])
    + ["keras_reid.conversion"]
    + ["keras_reid.conversion." + p for p in find_packages("conversion")],
    package_dir={"keras_reid.conversion": "conversion"},
    cmdclass={"build_py": BuildPyWithZoo},
)
