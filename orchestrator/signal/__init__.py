"""The signal stage (see docs/architecture.md)."""
