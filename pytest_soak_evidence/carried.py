"""Where the repository's top-level data folders are, installed or in a checkout.

The repository keeps `schemas/` and `fixtures/` at its top level (the design card); the wheel's
build carries the parts an installed plugin needs into the packages (setup.py, `_data/`). One
resolver serves both: the carried copy when there is one, else the checkout's own folder.
"""

from __future__ import annotations

from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = "_data"


def carried(package_file: str, folder: str) -> Path:
    """`folder` (e.g. "schemas", "fixtures/faults") as carried beside `package_file`'s package,
    else the checkout's top-level one."""
    packaged = Path(package_file).resolve().parent / DATA_DIR / folder
    return packaged if packaged.is_dir() else CHECKOUT_ROOT / folder
