"""What every feed fault handler shares: its error and its parameter helper.

A handler is a module of this package defining `handle(ctl, action, params) -> dict`:
`action` is "start" or "end", the dict holds extra fields for the call's record (an
"action" key renames the record's action, e.g. "inject" for a fault with no end).
"""

from __future__ import annotations

from typing import Any


class FaultError(ValueError):
    """A control call with bad parameters (HTTP 400) or impossible here (HTTP 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def require(params: dict, key: str) -> Any:
    if not params.get(key):
        raise FaultError(f"parameter {key!r} is required")
    return params[key]
