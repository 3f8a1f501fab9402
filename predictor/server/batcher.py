"""Dynamic batching: concurrent requests' instances gathered into one `predict` call.

Requests queue their validated instances; one worker takes everything queued (up to
`max_instances`, waiting up to `max_wait_s` for more), runs one predict on a dedicated
thread so the event loop keeps answering, and hands each caller its own slice, in order.
While a batch runs, the next one gathers: under load batches grow without any wait.
Every predict route of the server (/predict and /invocations) goes through here, so
`predict` is never called concurrently and every route has the same time bound.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from predictor import problems
from predictor.context import RequestContext
from predictor.problems import ProblemError
from predictor.runtime import Runtime
from predictor.server.settings import BatchSettings

__all__ = ["BatchSettings", "Batcher"]


@dataclass(slots=True)
class _Queued:
    instances: list[Any]
    context: RequestContext | None
    future: asyncio.Future[list[Any]]


class Batcher:
    def __init__(
        self,
        runtime: Runtime,
        settings: BatchSettings,
        *,
        timeout_s: float | None = None,
        predict_thread: ThreadPoolExecutor | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        #: How long a caller waits for its predictions (SAGEMAKER_MODEL_SERVER_TIMEOUT); None: no bound.
        self.timeout_s = timeout_s
        self.batches = self.requests = self.instances = 0
        self._queue: deque[_Queued] = deque()
        self._queued_instances = 0
        self._arrived: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        # One thread: predict calls never overlap, and never run on the event loop. Several
        # batchers (a multi-model server's) may share one; its owner shuts it down, not close().
        self._owns_executor = predict_thread is None
        self._executor = predict_thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")

    def submit(self, instances: list[Any], context: RequestContext | None) -> asyncio.Future[list[Any]]:
        """Queue one request's instances; the future holds its predictions or the batch's exception."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done():
            self._arrived = asyncio.Event()
            self._worker = loop.create_task(self._work())
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._queue.append(_Queued(instances, context, future))
        self._queued_instances += len(instances)
        assert self._arrived is not None
        self._arrived.set()
        return future

    async def predict(
        self, instances: list[Any], context: RequestContext | None, request_id: str | None
    ) -> list[Any]:
        """One request's predictions; a ProblemError (504) once it has waited `timeout_s`
        (`request_id` names it, a new one if None). A timed-out predict cannot be stopped: it
        runs to its end, holding the predict thread."""
        future = self.submit(instances, context)
        # A timer that fails this request's own future: no task, no shield, no second future per
        # request, as asyncio.wait_for and shield would make. A caller that leaves cancels its
        # future; the batch skips a future that is done, so neither gets predictions.
        timer = (
            None if self.timeout_s is None else future.get_loop().call_later(self.timeout_s, _expire, future)
        )
        try:
            return await future
        except _Expired:
            request_id = request_id or uuid.uuid4().hex
            detail = (
                f"The prediction took longer than SAGEMAKER_MODEL_SERVER_TIMEOUT={self.timeout_s:g} s; "
                f"send fewer instances or raise the timeout (request id {request_id})"
            )
            raise ProblemError(problems.problem(504, detail, request_id=request_id)) from None
        finally:
            if timer is not None:
                timer.cancel()
            if future.done() and not future.cancelled():
                future.exception()  # read, so an outcome nobody awaits any more is never logged

    def summary(self) -> str:
        mean = self.instances / self.batches if self.batches else 0.0
        return (
            f"batched {self.requests} requests ({self.instances} instances) into {self.batches} "
            f"predict calls, {mean:.1f} instances per call"
        )

    def close(self) -> None:
        if self._owns_executor:
            self._executor.shutdown(wait=True)

    def stop_worker(self) -> None:
        """Cancel the worker, so nothing is left holding the runtime: for a model being unloaded,
        with no caller waiting. A predict still running (one that timed out) runs to its end."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    async def _work(self) -> None:
        arrived = self._arrived
        assert arrived is not None
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                arrived.clear()
                await arrived.wait()
            await self._gather(arrived, loop)
            batch = self._take()
            if not batch:
                continue
            size = sum(len(queued.instances) for queued in batch)
            self.batches += 1
            self.requests += len(batch)
            self.instances += size
            try:
                predictions, seconds = await loop.run_in_executor(self._executor, self._run, batch)
            except Exception as exc:
                for queued in batch:
                    if not queued.future.done():
                        queued.future.set_exception(exc)
                continue
            if self.runtime.observer is not None:
                self.runtime.observer.batch_predicted(size, seconds)
            start = 0
            for queued in batch:
                end = start + len(queued.instances)
                if not queued.future.done():
                    queued.future.set_result(predictions[start:end])
                start = end

    async def _gather(self, arrived: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
        """Wait up to max_wait_s for the batch to fill; returns at once when it is full."""
        wait = self.settings.max_wait_s
        if not wait or self.runtime.wants_context:
            return
        deadline = loop.time() + wait
        while self._queued_instances < self.settings.max_instances:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[_Queued]:
        """The next batch: whole requests up to max_instances (one request even if bigger);
        a predictor reading its request context gets one request at a time."""
        batch: list[_Queued] = []
        size = 0
        limit = 1 if self.runtime.wants_context else self.settings.max_instances
        while self._queue:
            queued = self._queue[0]
            count = len(queued.instances)
            if batch and size + count > limit:
                break
            self._queue.popleft()
            self._queued_instances -= count
            if queued.future.done():  # its caller left before the batch formed
                continue
            batch.append(queued)
            size += count
            if self.runtime.wants_context:
                break
        return batch

    def _run(self, batch: list[_Queued]) -> tuple[list[Any], float]:
        """The batch's predictions, and the seconds predict took."""
        started = time.perf_counter()
        if len(batch) == 1:
            predictions = self.runtime.run(batch[0].instances, batch[0].context)
        else:
            predictions = self.runtime.run([instance for queued in batch for instance in queued.instances])
        return predictions, time.perf_counter() - started


class _Expired(Exception):
    """The request waited `timeout_s` for its predictions."""


def _expire(future: asyncio.Future[list[Any]]) -> None:
    if not future.done():
        future.set_exception(_Expired())
