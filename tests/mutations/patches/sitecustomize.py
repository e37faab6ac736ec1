"""Imported by every Python process of a behavioural mutation's pipeline (it is first on the
PYTHONPATH tests/mutations/soaks.py sets): installs the patches SOAK_TEST_PATCHES names."""

import os

if os.environ.get("SOAK_TEST_PATCHES"):
    from soak_patches import install

    install(os.environ["SOAK_TEST_PATCHES"].split(","))
