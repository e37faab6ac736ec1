"""A small per-minute VWAP pipeline: plain asyncio processes under their own supervisor.

    python -m examples.asyncio_pipeline --run-dir DIR --feed-ws-url ws://HOST:PORT ...

Stages (each its own OS process, `python -m examples.asyncio_pipeline.stage NAME ...`):
ingest (Binance USD-M combined aggTrade streams) -> compute (per symbol and minute: trade
count, volume, VWAP) -> publish (appends the bars to <run_dir>/out/bars.jsonl). Work passes as
JSON lines over the stages' stdin/stdout pipes, relayed by the supervisor. See README.md.
It shares no code with orchestrator/ and never imports pytest_soak.
"""
