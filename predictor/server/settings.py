"""Settings that keep `predictor serve` answering under hostile clients, and the uvicorn options they make."""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from predictor._environ import positive_number

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from predictor.schema import Schema

HEADER_TIMEOUT_ENV = "PREDICTOR_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "PREDICTOR_BODY_TIMEOUT_S"
KEEP_ALIVE_ENV = "PREDICTOR_KEEP_ALIVE_S"
MAX_CONNECTIONS_ENV = "PREDICTOR_MAX_CONNECTIONS"
LINGER_ENV = "PREDICTOR_LINGER_S"
LINGER_TIMEOUT_ENV = "PREDICTOR_LINGER_TIMEOUT_S"
LINGER_MAX_BYTES_ENV = "PREDICTOR_LINGER_MAX_BYTES"
ACCEPT_BACKLOG = 128
# asyncio accepts a batch of up to `backlog` sockets per loop turn and a connection is seen
# (and room made for it) a few turns later: this many batches may be open but not yet seen.
UNSEEN_BATCHES = 4
RESERVED_DESCRIPTORS = 64


@dataclass(frozen=True)
class ServerSettings:
    #: From connecting (or the previous response) to a request's complete headers.
    header_timeout_s: float = 10.0
    #: Longest wait for the next piece of a request body.
    body_timeout_s: float = 30.0
    #: An idle keep-alive connection is closed after this long.
    keep_alive_s: float = 5.0
    #: Open connections at most; the longest-idle one makes room for a new one.
    max_connections: int = 1000
    #: After refusing a body that is still arriving (413, 408), the rest is read and dropped for at
    #: most this long before the connection closes, so the client gets to read the answer (nginx's
    #: lingering_time). Closing with unread bytes would make the kernel reset the connection.
    linger_s: float = 30.0
    #: ...or until nothing more arrives for this long (nginx's lingering_timeout)...
    linger_timeout_s: float = 5.0
    #: ...or until this many bytes have been dropped.
    linger_max_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        environ = os.environ if environ is None else environ
        return cls(
            header_timeout_s=positive_number(environ, HEADER_TIMEOUT_ENV, cls.header_timeout_s),
            body_timeout_s=positive_number(environ, BODY_TIMEOUT_ENV, cls.body_timeout_s),
            keep_alive_s=positive_number(environ, KEEP_ALIVE_ENV, cls.keep_alive_s),
            max_connections=positive_number(environ, MAX_CONNECTIONS_ENV, cls.max_connections),
            linger_s=positive_number(environ, LINGER_ENV, cls.linger_s),
            linger_timeout_s=positive_number(environ, LINGER_TIMEOUT_ENV, cls.linger_timeout_s),
            linger_max_bytes=positive_number(environ, LINGER_MAX_BYTES_ENV, cls.linger_max_bytes),
        )


def guarded(app: ASGIApp, schema: Schema, settings: ServerSettings) -> ASGIApp:
    """`app` behind the body limits: the ASGI app to hand uvicorn."""
    from predictor.server.body_limit import BodyLimit

    return BodyLimit(app, schema, body_timeout_s=settings.body_timeout_s)


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` that apply `settings`."""
    from predictor.server.connections import GUARDED_PROTOCOL

    return {
        # The protocol reads its header timeout, connection cap and lingering from the environment, as
        # each worker process must: `settings` here is what that environment says.
        "http": GUARDED_PROTOCOL,
        "timeout_keep_alive": settings.keep_alive_s,
        # asyncio accepts up to `backlog` sockets before any of them is seen: keep that bounded too.
        "backlog": ACCEPT_BACKLOG,
    }


def connection_cap(max_connections: int, descriptors: int | None = None) -> int:
    """`max_connections`, lowered to leave room under the file descriptor limit for a burst of
    accepts and the process's own files, so the server never runs out while it makes room."""
    if descriptors is None:
        descriptors = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if descriptors == resource.RLIM_INFINITY:
        return max_connections
    room = descriptors - UNSEEN_BATCHES * ACCEPT_BACKLOG - RESERVED_DESCRIPTORS
    return max(1, min(max_connections, room))
