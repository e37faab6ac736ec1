"""Dependencies point one way (DEVELOPERS.md): the reference pipeline never imports the
harness, the evidence formats import neither, and the example pipeline (another team's)
imports nothing of this repository. Read from the sources' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OURS = ("orchestrator", "pytest_soak", "pytest_soak_evidence", "examples", "tests")
# package -> the packages of this repository it may import
ALLOWED = {
    "orchestrator": {"orchestrator", "pytest_soak_evidence"},
    "pytest_soak_evidence": {"pytest_soak_evidence"},
    "pytest_soak": {"pytest_soak", "pytest_soak_evidence"},
    "examples": {"examples"},
}


def imported_roots(package: Path) -> dict[str, set[str]]:
    """Per source file, the top-level names of this repository it imports."""
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO))] = names & set(OURS)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    if not (REPO / package).is_dir():
        pytest.fail(f"{package}/ is missing")
    strays = {f: sorted(names - ALLOWED[package])
              for f, names in imported_roots(REPO / package).items() if names - ALLOWED[package]}
    assert not strays, strays
