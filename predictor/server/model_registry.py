"""The models a multi-model server holds, by SageMaker's opaque model name.

A model is set up once however many loads of it race, is invoked only once ready, and is
unloaded only after the invocations it already accepted have finished; its teardown and the
return of its memory happen before the unload is answered. Loads stay within a memory budget.
A name is only ever a key here: it never becomes part of a path.
"""

from __future__ import annotations

import asyncio
import enum
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from predictor import problems
from predictor._log import logger
from predictor.contract import Predictor
from predictor.limits import Limits
from predictor.observability.asgi import ObservedRequests
from predictor.problems import Problem
from predictor.runtime import Runtime
from predictor.server import memory
from predictor.server.batcher import Batcher
from predictor.server.sagemaker import ASGIApp, SageMakerRoutes
from predictor.server.settings import ServeSettings


class State(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    UNLOADING = "unloading"


@dataclass(eq=False)
class Model:
    name: str
    url: str
    state: State = State.LOADING
    #: Done once the load has ended: `failure` then says whether it failed.
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    failure: Problem | None = None
    #: /invocations for this model alone: its own runtime and batcher (a batch never mixes models).
    routes: SageMakerRoutes | None = None
    #: `routes.invocations` with its log line, metrics and X-Request-Id, as /invocations has them.
    invoke: ASGIApp | None = None
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    #: The X-Amzn-SageMaker-Target-Model values seen, each logged once.
    targets: set[str] = field(default_factory=set)

    def described(self) -> dict[str, str]:
        return {"modelName": self.name, "modelUrl": self.url}


class ModelRegistry:
    def __init__(
        self,
        predictor_class: type[Predictor[Any, Any]],
        settings: ServeSettings,
        limits: Limits,
        fallback: ASGIApp,
        *,
        budget_bytes: int | None,
    ) -> None:
        self.predictor_class = predictor_class
        self.settings = settings
        self.limits = limits
        self.fallback = fallback
        self.budget_bytes = budget_bytes
        self.models: dict[str, Model] = {}
        self.draining = False
        # Every model's predict runs on this one thread, as one model's does in a one-model server:
        # while one model predicts, the others' requests gather into larger batches, and the cores
        # go to the model's own threads (ONNX Runtime's) rather than to threads taking turns.
        self._predict_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")

    async def load(self, name: str, url: str) -> Problem | None:
        """None once `name` is set up from `url`; else why not (409, 507, 500, 503)."""
        if self.draining:
            return problems.not_ready("the server is shutting down")
        known = self.models.get(name)
        if known is not None:
            await known.settled.wait()  # a load racing this one: it sets the model up, once
            return known.failure or problems.problem(409, f"Model {name!r} is already loaded")
        over = self._over_budget(name, "before loading it")
        if over is not None:
            return over
        model = self.models[name] = Model(name, url)
        try:
            runtime = await asyncio.to_thread(self._set_up, url)
            model.failure = self._refusal(name, runtime)
            if model.failure is None:
                batcher = Batcher(
                    runtime,
                    self.settings.batch,
                    timeout_s=self.settings.timeout_s,
                    predict_thread=self._predict_thread,
                )
                model.routes = SageMakerRoutes(runtime, self.fallback, batcher, workers=1)
                model.invoke = ObservedRequests(model.routes.invocations, runtime, server=True)
                model.state = State.READY
                logger().info("model loaded", extra={"model": name, "model_url": url})
            else:
                del self.models[name]
                if runtime.ready:
                    await asyncio.to_thread(runtime.stop)
                del runtime
                memory.release_freed_memory()
        except BaseException:
            self.models.pop(name, None)
            model.failure = problems.problem(500, f"Loading model {name!r} was interrupted")
            raise
        finally:
            model.settled.set()
        return model.failure

    async def ready_model(self, name: str) -> Model | None:
        """The model, once ready (a load in progress is waited for); None when it is not loaded."""
        model = self.models.get(name)
        if model is None:
            return None
        if model.state is State.LOADING:
            await model.settled.wait()
        return model if model.state is State.READY else None

    async def unload(self, name: str) -> bool:
        """Tear `name` down once its invocations in flight have finished; False if not loaded."""
        model = await self.ready_model(name)
        if model is None:
            return False
        model.state = State.UNLOADING  # from now on an invoke finds it gone: 404
        del self.models[name]
        if model.in_flight:
            await model.idle.wait()
        routes, model.routes = model.routes, None
        assert routes is not None
        routes.batcher.stop_worker()
        # On the predict thread: after a predict still running (one that timed out), never beside it.
        await asyncio.get_running_loop().run_in_executor(self._predict_thread, routes.runtime.stop)
        logger().info("model unloaded", extra={"model": name, "batches": routes.batcher.summary()})
        del routes
        memory.release_freed_memory()
        return True

    def page(self, limit: int, offset: int) -> tuple[list[Model], int | None]:
        """Models sorted by name from `offset`; the next page's offset when more remain."""
        names = sorted(self.models)
        end = offset + limit
        return [self.models[name] for name in names[offset:end]], end if end < len(names) else None

    async def close(self) -> None:
        """Unload every model (the server is stopping)."""
        self.draining = True
        for name in list(self.models):
            await self.unload(name)
        await asyncio.to_thread(self._predict_thread.shutdown, wait=True)

    def drain(self) -> None:
        """SIGTERM: refuse new loads, and new invocations on every model (503)."""
        self.draining = True
        for model in self.models.values():
            if model.routes is not None:
                model.routes.runtime.drain()

    def _set_up(self, url: str) -> Runtime:
        runtime = Runtime(self.predictor_class, artifacts=url, limits=self.limits)
        runtime.start()
        return runtime

    def _refusal(self, name: str, runtime: Runtime) -> Problem | None:
        if runtime.setup_error is MemoryError:
            return problems.problem(507, f"Model {name!r} ran out of memory in setup; unload a model first")
        if not runtime.ready:
            return problems.problem(500, f"Model {name!r} could not be loaded: {runtime.failure}")
        return self._over_budget(name, "once loaded")

    def _over_budget(self, name: str, when: str) -> Problem | None:
        budget = self.budget_bytes
        resident = memory.resident_bytes() if budget is not None else None
        if budget is None or resident is None or resident <= budget:
            return None
        return problems.problem(
            507,
            f"Model {name!r} does not fit: the server holds {memory.mib(resident)} {when}, "
            f"over its memory budget of {memory.mib(budget)}; unload a model first",
        )
