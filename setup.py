"""The build step pyproject.toml cannot declare: the wheel carries the repository's top-level
data folders into the packages that read them (pytest_soak_evidence/carried.py finds them)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# package -> top-level folders of the repository it reads when installed
CARRIED = {
    "pytest_soak_evidence": ["schemas"],
    "pytest_soak": ["fixtures/faults", "fixtures/prometheus"],
}


class BuildWithCarriedData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:          # an editable install reads the checkout's folders
            return
        for package, folders in CARRIED.items():
            for folder in folders:
                target = Path(self.build_lib, package, "_data", folder)
                shutil.copytree(folder, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithCarriedData})
