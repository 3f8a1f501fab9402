"""Connections that cannot pile up: a deadline for each request's headers, and a cap on open connections.

uvicorn closes idle keep-alive connections but leaves a connection that never sends a
request, or stops halfway through its headers, open for ever; enough of them exhaust the
file descriptors and nothing answers any more, /health included.

The guard is a mixin over either of uvicorn's HTTP parsers (httptools when installed, else
h11). Its settings come from the environment, so worker processes, which uvicorn starts by
importing these classes by name, apply the same ones.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from predictor._log import logger
from predictor.server.settings import ServerSettings, connection_cap


@functools.cache
def _limits() -> tuple[float, int]:
    settings = ServerSettings.from_environ()
    return settings.header_timeout_s, connection_cap(settings.max_connections)


class ConnectionGuard:
    """Mixed in ahead of a uvicorn HTTP protocol class."""

    connections: set[Any]
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s, self.max_connections = _limits()
        self._header_deadline: asyncio.TimerHandle | None = None
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._await_headers()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and not self.busy():
            self._await_headers()

    def busy(self) -> bool:
        """A request is in the app's hands (its headers arrived, its response is not finished)."""
        return self.cycle is not None and not self.cycle.response_complete

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _headers_arrived(self) -> None:
        if self.busy():
            self._cancel_header_deadline()

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
            if isinstance(other, ConnectionGuard) and other is not self and not other.busy()
        ]
        if idle:
            min(idle, key=lambda other: other.idle_since).close()
            return
        logger().warning(
            "connection limit reached: every open connection has a request in flight; closing a new one",
            extra={"max_connections": self.max_connections},
        )
        self.transport.close()


class GuardedH11Protocol(ConnectionGuard, H11Protocol):
    def handle_events(self) -> None:
        super().handle_events()
        self._headers_arrived()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional: h11 parses instead
    GUARDED_PROTOCOL: type[Any] = GuardedH11Protocol
else:

    class GuardedHttpToolsProtocol(ConnectionGuard, HttpToolsProtocol):
        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._headers_arrived()

    GUARDED_PROTOCOL = GuardedHttpToolsProtocol
