"""pytest-soak: soak-test a market-data pipeline and judge its Definition of Done."""
