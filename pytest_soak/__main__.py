"""`python -m pytest_soak`: the plugin's commands (pytest_soak/cli.py)."""

from pytest_soak.cli import main

raise SystemExit(main())
