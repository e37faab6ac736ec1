"""The harvest stage (see docs/architecture.md)."""
