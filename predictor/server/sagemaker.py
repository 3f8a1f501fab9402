"""SageMaker's container routes, served ahead of the FastAPI app on a lean ASGI path.

`POST /invocations` (every request type, Accept negotiation, dynamic batching, a time
bound), `GET /ping` and `GET /execution-parameters`; every other request goes on to
the FastAPI app. /invocations is the hot route of a busy endpoint, so it skips
FastAPI's routing and dependency machinery: one request costs parse, queue, encode.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from predictor import problems
from predictor.codec import JSON
from predictor.problems import PROBLEM_JSON, Problem, ProblemError
from predictor.runtime import Runtime
from predictor.server.batcher import Batcher
from predictor.server.request_context import context_from_scope

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

READY_BODY = b'{"status":"ready"}'


class SageMakerRoutes:
    """An ASGI app answering SageMaker's routes and passing everything else to `app`."""

    def __init__(self, runtime: Runtime, app: ASGIApp, batcher: Batcher, *, workers: int) -> None:
        self.runtime = runtime
        self.app = app
        self.batcher = batcher
        runtime.codec.answer_types()  # built now, not on the first request
        self.execution_parameters = json.dumps(
            {
                "MaxConcurrentTransforms": workers,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": math.ceil(runtime.codec.limits.max_body_bytes / 1024 / 1024),
            }
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == "/invocations":
                if method == "POST":
                    return await self.invocations(scope, receive, send)
                return await _problem(send, problems.problem(405, f"{method} is not allowed on {path}"))
            if path == "/ping" and method in ("GET", "HEAD"):
                return await self.ping(send)
            if path == "/execution-parameters" and method in ("GET", "HEAD"):
                return await _send(send, 200, JSON, self.execution_parameters)
        elif scope["type"] == "lifespan":
            return await self.app(scope, receive, self._summary_on_shutdown(send))
        await self.app(scope, receive, send)

    def _summary_on_shutdown(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                logging.getLogger("uvicorn.error").info(self.batcher.summary())
            await send(message)

        return sending

    async def ping(self, send: Send) -> None:
        # uvicorn drops the body of an answer to HEAD and keeps its length.
        reason = self.runtime.not_ready_reason()
        if reason is None:
            return await _send(send, 200, JSON, READY_BODY)
        await _problem(send, problems.not_ready(reason))

    async def invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        runtime = self.runtime
        # A new id only when something reads it (a failure, a timeout, a predictor's context):
        # uuid4 costs a tenth of what answering a request costs here.
        given = headers.get(b"x-request-id")
        request_id = given.decode("latin-1") if given else uuid.uuid4().hex if runtime.wants_context else None
        try:
            if not runtime.ready:
                raise ProblemError(problems.not_ready(runtime.failure))
            codec = runtime.codec
            answer_type = codec.choose(_text(headers.get(b"accept")))
            body = await _read_body(receive)
            if body is None:
                return  # the client left; nobody to answer
            instances = codec.decode(body, _text(headers.get(b"content-type")) or JSON, tables=True)
            context = context_from_scope(scope, request_id) if request_id and runtime.wants_context else None
            predictions = await self.batcher.predict(instances, context, request_id)
            answer_headers = context.answer_headers() if context else {}
            answer = codec.encode(predictions, answer_type)
            await _send(send, 200, answer_type, answer, answer_headers)
        except Exception as exc:
            await _problem(send, runtime.problem_for(exc, request_id or uuid.uuid4().hex))


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client left (or `BodyLimit` refused it and answered)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _send(
    send: Send, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if extra:
        headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Send, value: Problem) -> None:
    await _send(send, value.status, PROBLEM_JSON, problems.encode(value))
