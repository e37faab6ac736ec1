"""The reference pipeline (the system under test).

Where things are:
- `run.py`         the CLI, `python -m orchestrator.run` (argument and config errors -> exit 2)
- `supervisor.py`  starts/watches/restarts/stops the stage processes; `stage_process.py` is one
                   supervised process; `restart.py` the backoff policy; `health.py` /health;
                   `resources.py` the RSS/open-files sampler; `manifest.py` the run manifests;
                   `post_run.py` broker + report finalisers and parity after all stages stop
- `id_ranges.py`   per-symbol aggTrade id ranges that harvest and signal publish
- `stage.py`       the Stage base (run loop, heartbeat, stop request, flush);
                   `stage_main.py` the entry point of one stage process
- `handoff.py`     the durable append-only log between stages; `config.py` config loading
- `harvest/`, `signal/`, `broker/`, `report/`   the four stages (`<name>/stage.py`)
"""
