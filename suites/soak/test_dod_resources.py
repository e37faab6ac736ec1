"""Memory and open files, measured and reported (D8)."""

from pytest_soak.suite import test_D8_resources  # noqa: F401
