"""The Python example in docs/data-sources.md runs as written (so it cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-sources.md"


def test_python_example_in_data_sources_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/data-sources.md lost its Python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)        # noqa: S102
    feed = namespace["feed"]
    assert feed._thread is not None and not feed._thread.is_alive()   # the example stops it
    assert feed.faults.history[0]["fault"] == "gap"
