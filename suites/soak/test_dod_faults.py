"""Fault injection: a SIGKILLed stage comes back (D9)."""

from pytest_soak.suite import test_D9_fault_injection_restart  # noqa: F401
