"""The Definition of Done as data: each DoD item is one `DodItem` spec (spec.py), declared as
`ITEM` beside its check in pytest_soak/checks/<theme>.py and collected, D1..Dn, into the
registry (`pytest_soak.checks.REGISTRY`). The dod.json schema and the docs' item table are
generated from the registry (`python -m pytest_soak.generated --write`); tests hold the
suite, README and docs to it.

Kept empty on purpose: the check modules import `pytest_soak.dod.spec`.
"""
