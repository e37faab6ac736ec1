"""Top-level conftest: the soak plugin is loaded through its pytest11 entry point."""
