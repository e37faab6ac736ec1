"""Validate many small documents against one schema on every core.

jsonschema spends ~0.5 ms per executor_contract_v1 event; a 60-minute soak publishes ~45 000,
so D12's "every line validates" costs half a minute on one core. Chunks go to a process pool
(spawn-safe: the worker is a module-level function) once there are enough to pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
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
    return start_violations(docs, kind)()


def start_violations(docs: list[dict], kind: str
                     ) -> Callable[[], list[tuple[int, list[str]]]]:
    """Start validating now, on the pool; the returned call waits for the answer. The
    judgement starts the outbox's validation before the other checks, so they run while the
    pool works (a real-rate soak's ~100 000 events take ~11 s of two cores)."""
    workers = min(os.cpu_count() or 1, 4)
    chunks = [(kind, start, docs[start:start + CHUNK]) for start in range(0, len(docs), CHUNK)]
    if len(docs) < MIN_PARALLEL or workers < 2:
        return lambda: [hit for chunk in chunks for hit in _chunk_violations(chunk)]
    pool = ProcessPoolExecutor(max_workers=workers)
    futures = [pool.submit(_chunk_violations, chunk) for chunk in chunks]

    def collect() -> list[tuple[int, list[str]]]:
        try:
            return [hit for future in futures for hit in future.result()]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return collect
