"""The soak's signals against its fault-free model, by row (D13, --soak-model)."""

from pytest_soak.suite import test_D13_fault_free_model  # noqa: F401
