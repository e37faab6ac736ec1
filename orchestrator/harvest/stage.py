"""Placeholder harvest stage: heartbeats and stops cleanly. Replaced by the real stage."""

from __future__ import annotations

from orchestrator.stage import HeartbeatOnlyStage


class HarvestStage(HeartbeatOnlyStage):
    name = "harvest"
