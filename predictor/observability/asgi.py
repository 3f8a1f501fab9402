"""Every HTTP answer names its request and the model's version; on the server, each request is observed.

Wraps the ASGI app of both HTTP transports: `predictor serve` (outermost, so the body limits'
own answers are covered too) and the Mangum path on Lambda, where the Lambda handler has begun
the observation already and this only adds the headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from predictor.observability._observation import CURRENT
from predictor.observability.request_ids import for_http_event, from_headers, made_up

if TYPE_CHECKING:
    from predictor.runtime import Runtime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the routes find the request's id in the ASGI scope.
REQUEST_ID_KEY = "predictor.request_id"
PROMETHEUS_TEXT = b"text/plain; version=0.0.4; charset=utf-8"
PAYLOAD_BYTES = 4096
#: The status of a request whose client left before it was answered (nginx's convention).
CLIENT_LEFT = 499
#: The most of a request's path its log line holds: the client chooses it, up to the parser's limit.
LOGGED_PATH_CHARS = 1024


class ObservedRequests:
    def __init__(self, app: ASGIApp, runtime: Runtime, *, server: bool = False) -> None:
        """`server`: this process is a server, whose requests' metrics are gathered into few EMF
        lines (the runtime's `stop` writes what is left); on Lambda each invocation writes its own."""
        self.app = app
        self.observer = runtime.observer
        if server and self.observer is not None:
            self.observer.gather_metrics()
        self.version = str(runtime.predictor_class.version).encode("latin-1", "replace")
        self.prometheus = self.observer.prometheus if self.observer else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.prometheus is not None and scope["path"] == "/metrics" and scope["method"] in ("GET", "HEAD"):
            return await _send_metrics(send, self.prometheus.render())
        observation = CURRENT.get()
        on_lambda = "aws.event" in scope
        # On Lambda the handler named the request already when it observes it.
        request_id = observation.request_id if observation is not None else request_id_of(scope)
        scope[REQUEST_ID_KEY] = request_id
        identity = [(b"x-request-id", request_id.encode("latin-1")), (b"x-model-version", self.version)]
        own = None
        if observation is None and not on_lambda and self.observer is not None:
            own = self.observer.begin("server", request_id)
            path: str = scope["path"]
            own.method = scope["method"]
            own.path = path if len(path) <= LOGGED_PATH_CHARS else path[:LOGGED_PATH_CHARS] + "..."
            if own.sample_payload:
                receive = _keeping_body(receive, own.keep_payload)

        left = False

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *identity]
                if own is not None:
                    own.status = CLIENT_LEFT if left else message["status"]
            await send(message)

        if own is None or self.observer is None:
            return await self.app(scope, receive, sending)

        async def receiving() -> Message:
            nonlocal left
            message = await receive()
            left = left or message["type"] == "http.disconnect"
            return message

        token = CURRENT.set(own)
        own.status = CLIENT_LEFT  # until an answer starts
        try:
            await self.app(scope, receiving, sending)
        except BaseException:
            own.status = 500
            raise
        finally:
            CURRENT.reset(token)
            self.observer.finish(own)


def request_id_of(scope: Scope) -> str:
    """The request's id: set by ObservedRequests; otherwise (an app composed without it) found
    as it would find it."""
    found = scope.get(REQUEST_ID_KEY)
    if found:
        return str(found)
    if "aws.event" in scope:
        return for_http_event(scope["aws.event"], scope.get("aws.context"))
    return from_headers(_header_lookup(scope)) or made_up()


def _header_lookup(scope: Scope) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        wanted = name.encode()
        for key, value in scope.get("headers", ()):
            if key.lower() == wanted:
                return str(value.decode("latin-1"))
        return None

    return get


def _keeping_body(receive: Receive, keep: Callable[[bytes], None]) -> Receive:
    """`receive`, handing the body's first bytes to `keep` once it has all come (or stopped coming)."""
    seen: list[bytes] = []

    async def receiving() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            if sum(map(len, seen)) < PAYLOAD_BYTES:
                seen.append(message.get("body", b""))
            if not message.get("more_body", False):
                keep(b"".join(seen)[:PAYLOAD_BYTES])
        return message

    return receiving


async def _send_metrics(send: Send, body: bytes) -> None:
    headers = [(b"content-type", PROMETHEUS_TEXT), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
