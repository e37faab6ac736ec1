"""Patch registry for behavioural mutations: each `patch_*.py` module beside this one holds
`PATCHES = {name: (module_name, apply)}`; `apply(module)` changes the module once it has been
imported (by the stage, the supervisor or the feed in its own process), so the pipeline
behaves broken for real. `install(names)` arms the named patches (an unknown name is an
error: a mistyped patch must not run the intact pipeline)."""

from __future__ import annotations

import importlib
import importlib.abc
import pkgutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

Apply = Callable[[ModuleType], None]
_PENDING: dict[str, list[Apply]] = {}


def registry() -> dict[str, tuple[str, Apply]]:
    here = Path(__file__).parent
    found: dict[str, tuple[str, Apply]] = {}
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("patch_"):
            found.update(importlib.import_module(info.name).PATCHES)
    return found


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of a patched module so the patch runs right
    after the module's own code."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001 -- the finder protocol
        if name not in _PENDING:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def patched_exec(module: ModuleType) -> None:
            exec_module(module)
            for apply in _PENDING.pop(name, []):
                apply(module)

        spec.loader.exec_module = patched_exec
        return spec


def install(names: list[str]) -> None:
    known = registry()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"SOAK_TEST_PATCHES: unknown patch(es) {unknown}; known: "
                         f"{sorted(known)}")
    for name in names:
        module_name, apply = known[name]
        if module_name in sys.modules:
            apply(sys.modules[module_name])
        else:
            _PENDING.setdefault(module_name, []).append(apply)
    sys.meta_path.insert(0, _AfterImport())
