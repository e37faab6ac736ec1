"""Top-level conftest: the soak plugin is loaded through its pytest11 entry point."""

# pytester drives the DoD suite in the judge-only tests (tests/soak/test_judge_only.py)
pytest_plugins = ["pytester"]
