"""Validate many small documents against one schema on every core.

jsonschema spends ~0.5 ms per executor_contract_v1 event; a 60-minute soak publishes ~45 000,
so D12's "every line validates" costs half a minute on one core. Chunks go to a process pool
(spawn-safe: the worker is a module-level function) once there are enough to pay for it.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from pytest_soak_evidence.schemas import violations

MIN_PARALLEL = 4000
CHUNK = 2500


def _chunk_violations(args: tuple[str, int, list[dict]]) -> list[tuple[int, list[str]]]:
    kind, offset, docs = args
    out = []
    for i, doc in enumerate(docs):
        found = violations(doc, kind)
        if found:
            out.append((offset + i, found))
    return out


def all_violations(docs: list[dict], kind: str) -> list[tuple[int, list[str]]]:
    """(index, violations) of every document that breaks schemas/<kind>.schema.json."""
    workers = min(os.cpu_count() or 1, 4)
    chunks = [(kind, start, docs[start:start + CHUNK]) for start in range(0, len(docs), CHUNK)]
    if len(docs) < MIN_PARALLEL or workers < 2:
        return [hit for chunk in chunks for hit in _chunk_violations(chunk)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [hit for part in pool.map(_chunk_violations, chunks) for hit in part]
