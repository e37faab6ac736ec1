"""Top-level conftest: the soak plugin is loaded through its pytest11 entry point."""

# pytester drives the DoD suite in the soak honesty tests (tests/soak/test_honesty.py)
pytest_plugins = ["pytester"]
