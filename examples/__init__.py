"""Example pipelines soaked by pytest-soak through configuration only (never imported by the
plugin, and never importing it): each is "another team's pipeline"."""
