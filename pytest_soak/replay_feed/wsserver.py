"""The WebSocket side: paths, the JSON methods (SUBSCRIBE, ...), writer tasks, pings."""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pytest_soak.replay_feed.clock import wall_ms
from pytest_soak.replay_feed.engine import Client, CloseAfterQueued, FeedEngine
from pytest_soak.replay_feed.faults import FaultController
from pytest_soak.replay_feed.streams import parse_path

log = logging.getLogger("replay_feed")
BATCH = 256


async def _send_batch(ws: ServerConnection, frames: list) -> None:
    async with ws.send_context():
        for frame in frames:
            if isinstance(frame, str):
                ws.protocol.send_text(frame.encode())
            else:
                ws.protocol.send_binary(frame)
        chunks = ws.protocol.data_to_send()
        if all(chunks):                          # only frame bytes (no end-of-stream marker)
            ws.transport.write(b"".join(chunks))
        else:                                    # pragma: no cover - defensive
            for chunk in chunks:
                if chunk:
                    ws.transport.write(chunk)
    await ws.drain()


class WsFrontend:
    def __init__(self, engine: FeedEngine, faults: FaultController) -> None:
        self.engine = engine
        self.faults = faults

    def process_request(self, connection: ServerConnection, request: Any) -> Any:
        """Refuse paths the exchange does not serve (404) and refused periods (503)."""
        try:
            parse_path(request.path)
        except ValueError:
            self.engine.accounting.refuse(request.path, HTTPStatus.NOT_FOUND)
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if wall_ms() < self.faults.refuse_until_wall_ms:
            self.engine.accounting.refuse(request.path, HTTPStatus.SERVICE_UNAVAILABLE)
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return None

    async def handle(self, ws: ServerConnection) -> None:
        path = parse_path(ws.request.path)
        client = Client(ws, path.route, path.combined)
        self.engine.subscribe(client, list(path.streams))
        self.engine.add_client(client)
        writer = asyncio.ensure_future(self._write(client))
        try:
            async for message in ws:
                reply = self._method(client, message)
                if reply is not None:
                    client.queue.put_nowait(json.dumps(reply, separators=(",", ":")))
        except ConnectionClosed:
            pass
        finally:
            self.engine.remove_client(client)
            writer.cancel()

    async def _write(self, client: Client) -> None:
        """Send what is queued in batches: one socket write for up to BATCH frames.

        Per-frame `ws.send()` costs a syscall each and capped the feed near 12 000 frames/s;
        batching through the library's own send context (same framing) removes that."""
        queue, ws = client.queue, client.ws
        batched = hasattr(ws, "send_context") and hasattr(ws, "protocol")
        try:
            while True:
                batch = [await queue.get()]
                while not queue.empty() and len(batch) < BATCH:
                    batch.append(queue.get_nowait())
                last = batch[-1] if isinstance(batch[-1], CloseAfterQueued) else None
                frames = batch[:-1] if last else batch
                if batched:
                    await _send_batch(ws, frames)
                else:                                    # pragma: no cover - other versions
                    for frame in frames:
                        await ws.send(frame)
                if last is not None:                     # nothing is queued after it
                    self.engine.remove_client(client, client.closing or "drop")
                    last.close()
                    return
        except ConnectionClosed:
            pass

    def _method(self, client: Client, message: str | bytes) -> dict | None:
        try:
            request = json.loads(message)
            method, params, req_id = request["method"], request.get("params", []), request.get("id")
        except (ValueError, TypeError, KeyError):
            return {"error": {"code": 3, "msg": "Invalid JSON: expected a method request"}}
        if method == "SUBSCRIBE":
            refused = self.engine.subscribe(client, list(params))
            if refused:
                log.info("client %d: %s not served on /%s", client.id, refused, client.route)
            return {"result": None, "id": req_id}
        if method == "UNSUBSCRIBE":
            self.engine.unsubscribe(client, list(params))
            return {"result": None, "id": req_id}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": sorted(client.streams), "id": req_id}
        if method == "SET_PROPERTY" and params[:1] == ["combined"] and len(params) == 2:
            client.combined = bool(params[1])
            return {"result": None, "id": req_id}
        if method == "GET_PROPERTY" and params == ["combined"]:
            return {"result": client.combined, "id": req_id}
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                "id": req_id}
