"""Connections that cannot pile up: a deadline for each request's headers, and a cap on open connections.

uvicorn closes idle keep-alive connections but leaves a connection that never sends a
request, or stops halfway through its headers, open for ever; enough of them exhaust the
file descriptors and nothing answers any more, /health included.

A connection closed while its request body is still arriving (a 413 or 408 refusal) closes
lingering, as nginx does: the response goes out, the write side is shut, and what the client
still sends is read and dropped until it stops or a bound passes. Closing the socket with
unread bytes in it would make the kernel answer with a reset, which destroys the response in
the client's receive buffer; clients that write the whole body before reading (http.client,
requests, most SDKs) would see `ConnectionResetError` instead of the 413.

The guard is a mixin over either of uvicorn's HTTP parsers (httptools when installed, else
h11). uvicorn makes each connection's protocol by calling the class it is given: `uvicorn_options`
gives it the class bound to the settings (a `functools.partial`, which pickles, so the worker
processes uvicorn spawns apply the same ones).
"""

from __future__ import annotations

import asyncio
import functools
import math
import resource
from collections.abc import Callable
from typing import Any, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

from predictor._log import logger
from predictor.server.settings import ServerSettings

ACCEPT_BACKLOG = 128
# asyncio accepts a batch of up to `backlog` sockets per loop turn and a connection is seen
# (and room made for it) a few turns later: this many batches may be open but not yet seen.
UNSEEN_BATCHES = 4
RESERVED_DESCRIPTORS = 64
# Event loops may run a timer up to a millisecond before its time (uvloop counts in ms).
TIMER_SLACK_S = 0.001


def connection_cap(max_connections: int, descriptors: int | None = None) -> int:
    """`max_connections`, lowered to leave room under the file descriptor limit for a burst of
    accepts and the process's own files, so the server never runs out while it makes room."""
    if descriptors is None:
        descriptors = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if descriptors == resource.RLIM_INFINITY:
        return max_connections
    room = descriptors - UNSEEN_BATCHES * ACCEPT_BACKLOG - RESERVED_DESCRIPTORS
    return max(1, min(max_connections, room))


@functools.cache
def _cap(max_connections: int) -> int:
    return connection_cap(max_connections)


class ConnectionGuard:
    """Mixed in ahead of a uvicorn HTTP protocol class."""

    connections: set[Any]
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, guard: ServerSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = ServerSettings() if guard is None else guard
        self.max_connections = _cap(self.settings.max_connections)
        self.header_timeout_s = self.settings.header_timeout_s
        self._header_deadline: asyncio.TimerHandle | None = None
        self._headers_due: float | None = None
        self.idle_since = 0.0
        self._socket: asyncio.Transport | None = None
        self._lingering: _Lingering | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._socket = cast(asyncio.Transport, transport)
        # uvicorn closes through this wrapper, which lingers when a body is still arriving.
        super().connection_made(_LingeringClose(self._socket, self))  # type: ignore[misc]
        self._await_headers()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            self._lingering.drop(data)
        else:
            super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: a lingering connection has nothing left to finish."""
        if self._lingering is not None:
            self._lingering.end()
        else:
            super().shutdown()  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and not self.busy():
            self._await_headers()

    def busy(self) -> bool:
        """A request is in the app's hands (its headers arrived, its response is not finished)."""
        return self.cycle is not None and not self.cycle.response_complete

    def close(self) -> None:
        """Close now: for a lingering connection, stop lingering."""
        if self._lingering is not None:
            self._lingering.end()
        elif not self.transport.is_closing():
            self.transport.close()

    def lingering(self) -> bool:
        return self._lingering is not None

    def close_or_linger(self) -> None:
        """What closing the transport does: linger if the request body may still be on its way."""
        sock = self._socket
        if sock is None or self._lingering is not None:
            return
        body_arriving = self.cycle is not None and self.cycle.more_body
        if not body_arriving or sock.is_closing() or not sock.can_write_eof():
            sock.close()
            return
        self._cancel_header_deadline()
        self.idle_since = -math.inf  # the first to go when room is needed
        self._lingering = _Lingering(sock, self.loop, self.settings)

    def _headers_arrived(self) -> None:
        if self.busy():
            self._headers_due = None  # the pending timer, when it fires, finds nothing due

    def _await_headers(self) -> None:
        # One timer per connection, moved on lazily: a keep-alive connection answers request
        # after request, and a timer made and cancelled for each cost more than the check.
        self.idle_since = self.loop.time()
        self._headers_due = self.idle_since + self.header_timeout_s
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_at(self._headers_due, self._headers_too_late)

    def _cancel_header_deadline(self) -> None:
        self._headers_due = None
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        due = self._headers_due
        if due is None:
            return
        if due > self.loop.time() + TIMER_SLACK_S:  # a later request moved the deadline on
            self._header_deadline = self.loop.call_at(due, self._headers_too_late)
            return
        self._headers_due = None
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


class _LingeringClose:
    """The transport as uvicorn sees it: `close()` may linger, and a lingering one is closing."""

    def __init__(self, transport: asyncio.Transport, guard: ConnectionGuard) -> None:
        self._transport = transport
        self._guard = guard
        # Called twice a response: bound here rather than found through __getattr__ each time.
        self.write = transport.write

    def close(self) -> None:
        self._guard.close_or_linger()

    def is_closing(self) -> bool:
        return self._guard.lingering() or self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Lingering:
    """The response is out and the write side is shut; what the client still sends is dropped
    as it arrives, until it closes its side or a bound passes, and then the socket is closed."""

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, settings: ServerSettings
    ) -> None:
        self.transport, self.loop = transport, loop
        self.idle_timeout_s = settings.linger_timeout_s
        self.bytes_left = settings.linger_max_bytes
        self.last_read = loop.time()
        self.ends = self.last_read + settings.linger_s
        # The FIN follows the response once the write buffer drains; the client's EOF then
        # closes the transport (uvicorn's protocols do not keep a half-closed connection open).
        transport.write_eof()
        transport.resume_reading()
        self._when = self._deadline()
        self._timer = loop.call_at(self._when, self._check)

    def drop(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        self.bytes_left -= len(data)
        if self.bytes_left < 0:
            self.end()

    def end(self) -> None:
        self.cancel()
        self.transport.abort()

    def cancel(self) -> None:
        self._timer.cancel()

    def _deadline(self) -> float:
        return min(self.ends, self.last_read + self.idle_timeout_s)

    def _check(self) -> None:
        # Data that arrived since the timer was set moved the deadline on: wait for the new one.
        if self._deadline() > self._when:
            self._when = self._deadline()
            self._timer = self.loop.call_at(self._when, self._check)
        else:
            self.end()


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


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` that apply `settings`."""
    protocol: Callable[..., Any] = GUARDED_PROTOCOL
    return {
        # A partial, not a subclass: it pickles, so the workers uvicorn spawns get the settings too.
        "http": functools.partial(protocol, guard=settings),
        "timeout_keep_alive": settings.keep_alive_s,
        # asyncio accepts up to `backlog` sockets before any of them is seen: keep that bounded too.
        "backlog": ACCEPT_BACKLOG,
    }
