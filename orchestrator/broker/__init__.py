"""The broker stage (see docs/architecture.md)."""
