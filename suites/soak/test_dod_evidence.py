"""The evidence files: manifest (D6) and the whole bundle (D11)."""

from pytest_soak.suite import test_D6_manifest, test_D11_evidence_bundle  # noqa: F401
