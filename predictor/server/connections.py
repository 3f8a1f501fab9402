"""Connections that cannot pile up: a deadline for each request's headers, and a cap on open connections.

uvicorn closes idle keep-alive connections but leaves a connection that never sends a
request, or stops halfway through its headers, open for ever; enough of them exhaust the
file descriptors and nothing answers any more, /health included.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from predictor._log import logger


class GuardedH11Protocol(H11Protocol):
    header_timeout_s = 10.0
    max_connections = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.busy():
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.busy():
            self._await_headers()

    def busy(self) -> bool:
        """A request is in the app's hands (its headers arrived, its response is not finished)."""
        return self.cycle is not None and not self.cycle.response_complete

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _await_headers(self) -> None:
        self._cancel_header_deadline()
        self.idle_since = self.loop.time()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if not self.busy():
            self.close()

    def _make_room(self) -> None:
        idle = [
            other
            for other in self.connections
            if isinstance(other, GuardedH11Protocol) and other is not self and not other.busy()
        ]
        if idle:
            min(idle, key=lambda other: other.idle_since).close()
            return
        logger().warning(
            "connection limit reached: every open connection has a request in flight; closing a new one",
            extra={"max_connections": self.max_connections},
        )
        self.transport.close()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's `http=` option, with these limits."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "max_connections": max_connections},
    )
