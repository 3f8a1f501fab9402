"""Request bodies within bounds: refused from Content-Length at once, cut off when a stream passes
the limit, and given up on when they stall.

Refusing before the app reads anything also means uvicorn never grants `Expect: 100-continue`
to an oversized body. The refusal closes the connection (`Connection: close`); the protocol
(`connections.py`) reads and drops the rest of the upload for a bounded time first, so the
client gets to read the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predictor import problems
from predictor._log import logger
from predictor.codec import Codec
from predictor.problems import PROBLEM_JSON, ProblemError

#: Set in the scope when this middleware has answered, so the app does not log the
#: disconnect its body read then sees as the client's doing.
ANSWERED = "predictor.body_limit.answered"


class BodyLimit:
    def __init__(self, app: ASGIApp, codec: Codec, *, body_timeout_s: float) -> None:
        self.app = app
        self.codec = codec
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            try:
                self.codec.check_size(declared)
            except ProblemError as exc:
                await _refuse(send, exc.problem, scope)
                return
        await _Guarded(self, scope, receive, send).run()


class _Guarded:
    """One request's body reads, counted and timed; the app sees a disconnect once it is refused."""

    def __init__(self, limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit, self.scope, self._receive, self._send = limit, scope, receive, send
        self.received = 0
        self.answered = False
        self.stalled = False

    async def run(self) -> None:
        await self.limit.app(self.scope, self.receive, self.send)

    async def receive(self) -> Message:
        if self.answered:
            return {"type": "http.disconnect"}
        # One timer that cancels this task, not wait_for (a task of its own per read) nor
        # asyncio.timeout (pure Python around the same timer): every request reads its body.
        task = asyncio.current_task()
        assert task is not None
        timer = asyncio.get_running_loop().call_later(self.limit.body_timeout_s, self._stall, task)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.stalled:
                raise
            task.uncancel()
            seconds = self.limit.body_timeout_s
            logger().info("request body stalled; closing the connection", extra=_where(self.scope))
            detail = f"No part of the body arrived for {seconds:g} s; send the whole body without pausing"
            return await self._answer(problems.problem(408, detail))
        finally:
            timer.cancel()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            try:
                self.limit.codec.check_size(self.received, at_least=True)
            except ProblemError as exc:
                return await self._answer(exc.problem)
        return message

    def _stall(self, task: asyncio.Task[Any]) -> None:
        self.stalled = True
        task.cancel()

    async def send(self, message: Message) -> None:
        if not self.answered:
            await self._send(message)

    async def _answer(self, problem: problems.Problem) -> Message:
        self.answered = True
        await _refuse(self._send, problem, self.scope)
        return {"type": "http.disconnect"}


async def _refuse(send: Send, problem: problems.Problem, scope: Scope) -> None:
    scope[ANSWERED] = True
    body = problems.encode(problem)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is only read to be dropped
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser has refused it already
    return None


def _where(scope: Scope) -> dict[str, Any]:
    client = scope.get("client")
    return {"client": f"{client[0]}:{client[1]}" if client else None, "path": scope.get("path")}
