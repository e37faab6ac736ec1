"""REST as the exchange serves it (/fapi/v1/...) and the control API (/control/...), on one
loopback HTTP port. Handlers run on server threads; anything that touches the feed's state
runs on the feed's event loop (run_coroutine_threadsafe)."""

from __future__ import annotations

import asyncio
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pytest_soak.replay_feed.engine import FeedEngine
from pytest_soak.replay_feed.faults import FaultController, FaultError

log = logging.getLogger("replay_feed")
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


class FeedHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], engine: FeedEngine, faults: FaultController,
                 loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(address, _Handler)
        self.engine, self.faults, self.loop = engine, faults, loop

    def on_loop(self, func: Any, *args: Any) -> Any:
        async def call() -> Any:
            return func(*args)
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    server: FeedHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:      # noqa: A002
        log.debug("http: " + format, *args)

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:          # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        routes = {"/fapi/v1/ping": lambda q: (200, {}),
                  "/fapi/v1/time": lambda q: (200, {"serverTime": self.server.engine.market_ms()}),
                  "/fapi/v1/exchangeInfo": self._exchange_info,
                  "/fapi/v1/depth": self._depth,
                  "/control/state": lambda q: (200, self.server.on_loop(_state, self.server)),
                  "/control/history": lambda q: (200, list(self.server.faults.history)),
                  "/control/stats": lambda q: (200, self.server.on_loop(
                      self.server.engine.accounting.as_json))}
        route = routes.get(url.path)
        if route is None:
            self._send(404, {"code": -1000, "msg": f"Unknown path {url.path}"})
            return
        self._send(*route(query))

    def do_POST(self) -> None:         # noqa: N802
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) not in (2, 3) or parts[0] != "control":
            self._send(404, {"error": f"unknown path {self.path}; POST /control/<fault>[/end]"})
            return
        action = parts[2] if len(parts) == 3 else "start"
        try:
            length = int(self.headers.get("Content-Length") or 0)
            params = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if not isinstance(params, dict):
                raise FaultError("the body must be a JSON object of parameters")
            record = self.server.on_loop(self.server.faults.handle, parts[1], action, params)
        except FaultError as exc:
            self._send(exc.status, {"error": str(exc)})
            return
        except ValueError as exc:
            self._send(400, {"error": f"bad request body: {exc}"})
            return
        self._send(200, record)

    def _exchange_info(self, query: dict) -> tuple[int, dict]:
        engine = self.server.engine
        return 200, {"timezone": "UTC", "serverTime": engine.market_ms(), "rateLimits": [],
                     "exchangeFilters": [], "assets": [],
                     "symbols": [_symbol_info(spec) for spec in engine.source.specs]}

    def _depth(self, query: dict) -> tuple[int, dict]:
        symbol = (query.get("symbol") or "").upper()
        if not symbol:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent, "
                                               "was empty/null, or malformed."}
        book = self.server.engine.books.get(symbol)
        if book is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit_text = query.get("limit") or "500"
        limit = int(limit_text) if limit_text.isdigit() else -1
        if limit not in DEPTH_LIMITS:
            return 400, {"code": -1100, "msg": f"Illegal characters found in parameter 'limit'; "
                                               f"legal values are {DEPTH_LIMITS}."}
        faults = self.server.faults
        if faults.rest_failures_left > 0:
            faults.rest_failures_left -= 1
            return 503, {"code": -1001, "msg": "Internal error; unable to process your request."}
        engine = self.server.engine
        return 200, book.snapshot(limit, engine.market_ms(), engine.id_offset.get(symbol, 0))


def _symbol_info(spec: Any) -> dict:
    tick = f"{spec.tick:.{spec.price_decimals}f}"
    lot = f"{spec.lot:.{spec.qty_decimals}f}"
    return {"symbol": spec.symbol, "pair": spec.symbol, "contractType": "PERPETUAL",
            "status": "TRADING", "baseAsset": spec.symbol.removesuffix("USDT"),
            "quoteAsset": "USDT", "marginAsset": "USDT",
            "pricePrecision": spec.price_decimals, "quantityPrecision": spec.qty_decimals,
            "filters": [{"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000",
                         "tickSize": tick},
                        {"filterType": "LOT_SIZE", "minQty": lot, "maxQty": "1000",
                         "stepSize": lot},
                        {"filterType": "MARKET_LOT_SIZE", "minQty": lot, "maxQty": "120",
                         "stepSize": lot}]}


def _state(server: FeedHttpServer) -> dict:
    engine = server.engine
    return {"started": engine.started.is_set(), "finished": engine.finished,
            "speed": engine.clock.speed, "rate": engine.clock.rate(),
            "burst_factor": engine.stamps.factor,
            "market_ms": engine.market_ms(), "session_start_wall_ms": engine.session_start_wall_ms,
            "session_start_ms": engine.session_start_ms,
            "delivered": engine.delivered, "skipped": engine.skipped,
            "paused_all": engine.paused_all or not engine.resumed.is_set(),
            "paused_streams": sorted(engine.paused_streams),
            "regimes": engine.source.regimes(), "source": engine.source.describe(),
            "connections": [{"id": c.id, "route": c.route, "combined": c.combined,
                             "streams": sorted(c.streams), "stalled": sorted(c.stalled),
                             "queued": c.queue.qsize()} for c in engine.clients.values()],
            "books": {s: b.last_update_id for s, b in engine.books.items()},
            "faults_known": server.faults.known(), **server.faults.state()}
