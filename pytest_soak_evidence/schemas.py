"""Load the JSON Schemas in `schemas/` and validate documents, naming the offending JSON path."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from pytest_soak_evidence.atomic import write_json_atomic
from pytest_soak_evidence.carried import carried

SCHEMA_DIR = carried(__file__, "schemas")


class SchemaViolation(ValueError):
    """A document does not match its schema; the message names the JSON path and the file."""

    def __init__(self, kind: str, errors: list[str], source: str | None = None) -> None:
        self.kind = kind
        self.errors = errors
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"{kind} schema violation{where}: " + "; ".join(errors[:5]))


def _schema_files() -> list[Path]:
    return sorted(SCHEMA_DIR.rglob("*.schema.json"))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in _schema_files():
        doc = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(doc)
        resources.append((path.relative_to(SCHEMA_DIR).as_posix(), resource))
        if "$id" in doc:
            resources.append((doc["$id"], resource))
    return Registry().with_resources(resources)


@cache
def validator(kind: str) -> Draft202012Validator:
    """The validator for `schemas/<kind>.schema.json` (kind may contain a sub-folder)."""
    path = SCHEMA_DIR / f"{kind}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def json_path(error: Any) -> str:
    """`$.a.b[3]` for a jsonschema error's location."""
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def violations(doc: Any, kind: str) -> list[str]:
    """Every violation of `doc` against schema `kind`, as '<json path>: <message>'."""
    errors = sorted(validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{json_path(e)}: {e.message}" for e in errors]


def _external_refs(node: Any) -> bool:
    """Whether a schema refers to another file (its `$ref`s are not all '#...')."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_external_refs(v) for v in node.values())
    if isinstance(node, list):
        return any(_external_refs(v) for v in node)
    return False


@cache
def _compiled(kind: str) -> Callable[[Any], bool] | None:
    """A compiled is-valid test (jsonschema-rs, ~1.6 us an outbox event against jsonschema's
    ~220 us) for a self-contained schema; None for one that refers to other files."""
    import jsonschema_rs

    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    if _external_refs(schema):
        return None
    # formats are annotations, as for the jsonschema validator above (no format checker)
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=False).is_valid


def violations_many(docs: list[Any], kind: str) -> list[tuple[int, list[str]]]:
    """(index, violations) of each of `docs` that breaks schema `kind`. Many documents: a
    compiled validator passes the valid ones and jsonschema names what is wrong with the
    others (a document both call valid is valid; jsonschema has the last word)."""
    is_valid = _compiled(kind)
    out = []
    for index, doc in enumerate(docs):
        if is_valid is not None and is_valid(doc):
            continue
        found = violations(doc, kind)
        if found:
            out.append((index, found))
    return out


def validate(doc: Any, kind: str, source: str | None = None) -> None:
    """Raise SchemaViolation naming each bad JSON path, or return quietly."""
    found = violations(doc, kind)
    if found:
        raise SchemaViolation(kind, found, source)


def write_validated(path: Path | str, doc: Any, kind: str) -> Path:
    """Validate `doc` against schema `kind` (SchemaViolation: nothing written), then write it
    atomically to `path`."""
    validate(doc, kind, source=str(path))
    write_json_atomic(path, doc)
    return Path(path)


def load_validated(path: Path | str, kind: str) -> Any:
    """Read a JSON evidence file and validate it; errors name the file and the JSON path."""
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    validate(doc, kind, source=str(path))
    return doc
