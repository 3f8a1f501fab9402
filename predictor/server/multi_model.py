"""SageMaker's multi-model routes, served when SAGEMAKER_MULTI_MODEL=true.

`POST /models` loads a model from the directory its `url` names, `GET /models` lists them a page
at a time, `GET /models/{name}` describes one, `DELETE /models/{name}` unloads it, and
`POST /models/{name}/invoke` is that model's /invocations: the same content types, Accept,
problems and time bound, with a batcher of its own. `GET /ping` answers as on any endpoint.
Names are opaque: SageMaker generates them, and they are only ever keys.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, unquote

from pydantic import BaseModel, Field, ValidationError

from predictor import problems
from predictor._loading import load_predictor_class
from predictor._log import logger
from predictor.codec import JSON, Codec
from predictor.contract import check_contract
from predictor.limits import Limits
from predictor.problems import Problem
from predictor.server import memory
from predictor.server.model_registry import Model, ModelRegistry
from predictor.server.sagemaker import READY_BODY, ASGIApp, Receive, Scope, Send, _problem, _read_body, _send
from predictor.server.settings import MULTI_MODEL_ENV, ServeSettings

ROUTES = (
    "GET /ping, POST /models, GET /models, GET /models/{name}, DELETE /models/{name}, "
    "POST /models/{name}/invoke"
)
#: MMS's page size, also its largest.
PAGE_SIZE = 100
TARGET_MODEL = b"x-amzn-sagemaker-target-model"
#: Target-model values logged per model at most: a client choosing a new one per request cannot grow memory.
TARGETS_LOGGED = 100


# A name is a directory SageMaker made (a file name: 255 bytes), a url a path (Linux's PATH_MAX);
# both go back in answers and log lines, so a hostile megabyte of either is refused first.
class LoadRequest(BaseModel):
    model_name: str = Field(min_length=1, max_length=1024)
    url: str = Field(min_length=1, max_length=4096)


class MultiModelRoutes:
    def __init__(self, predictor_class: Any, settings: ServeSettings, limits: Limits) -> None:
        budget = memory.budget_bytes(settings.models.memory_budget_bytes, memory.cgroup_limit_bytes())
        self.registry = ModelRegistry(predictor_class, settings, limits, self.not_found, budget_bytes=budget)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        if scope["type"] != "http":
            return
        method, segments = scope["method"], _segments(scope)
        reading = method in ("GET", "HEAD")
        if segments == ["ping"] and reading:
            return await self.ping(send)
        if segments == ["models"]:
            if method == "POST":
                return await self.load(receive, send)
            if reading:
                return await self.list_models(scope, send)
        elif len(segments) == 2 and segments[0] == "models":
            if reading:
                return await self.describe(segments[1], send)
            if method == "DELETE":
                return await self.unload(segments[1], send)
        elif len(segments) == 3 and segments[0] == "models" and segments[2] == "invoke":
            if method == "POST":
                return await self.invoke(segments[1], scope, receive, send)
        else:
            return await self.not_found(scope, receive, send)
        await _problem(send, problems.problem(405, f"{method} is not allowed on {scope['path']}"))

    async def ping(self, send: Send) -> None:
        # Healthy with no model loaded, as MMS is: SageMaker loads models once the endpoint is up.
        if self.registry.draining:
            return await _problem(send, problems.not_ready("the server is shutting down"))
        await _send(send, 200, JSON, READY_BODY)

    async def load(self, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            return
        try:
            request = LoadRequest.model_validate_json(body)
        except ValidationError as exc:
            status = 400 if any(error["type"] == "json_invalid" for error in exc.errors()) else 422
            detail = 'send {"model_name": "...", "url": "/opt/ml/models/.../model"} as JSON'
            failure = problems.problem(status, detail, errors=problems.field_errors(exc.errors()))
            return await _problem(send, failure)
        refused = await self.registry.load(request.model_name, request.url)
        if refused is not None:
            return await _problem(send, refused)
        await _json(send, 200, {"status": f"Model {request.model_name!r} loaded"})

    async def list_models(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            limit = int(query.get("limit", [PAGE_SIZE])[-1])
            offset = int(query.get("next_page_token", [0])[-1])
            if offset < 0:
                raise ValueError
        except ValueError:
            detail = (
                "limit and next_page_token must be whole numbers; pass back the nextPageToken a list gave"
            )
            return await _problem(send, problems.problem(400, detail))
        page, following = self.registry.page(limit if 0 < limit <= PAGE_SIZE else PAGE_SIZE, offset)
        answer: dict[str, Any] = {"models": [model.described() for model in page]}
        if following is not None:
            answer["nextPageToken"] = str(following)
        await _json(send, 200, answer)

    async def describe(self, name: str, send: Send) -> None:
        model = self.registry.models.get(name)
        if model is None:
            return await _problem(send, _not_loaded(name))
        await _json(send, 200, {**model.described(), "status": model.state.value})

    async def unload(self, name: str, send: Send) -> None:
        if not await self.registry.unload(name):
            return await _problem(send, _not_loaded(name))
        await _json(send, 200, {"status": f"Model {name!r} unloaded"})

    async def invoke(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        model = await self.registry.ready_model(name)
        if model is None:
            return await _problem(send, _not_loaded(name))
        _log_target(model, scope)
        # Counted before any await, so an unload that finds the model idle has no invoke to wait for.
        model.in_flight += 1
        model.idle.clear()
        try:
            assert model.invoke is not None
            await model.invoke(scope, receive, send)
        finally:
            model.in_flight -= 1
            if not model.in_flight:
                model.idle.set()

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/invocations":
            detail = (
                f"This server hosts several models ({MULTI_MODEL_ENV}=true): "
                "invoke one with POST /models/{name}/invoke"
            )
        else:
            detail = f"No route {scope['path']}; the routes are {ROUTES}"
        await _problem(send, problems.problem(404, detail))

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.registry.close()  # every model's teardown runs
                await send({"type": "lifespan.shutdown.complete"})
                return


def build_multi_model_app(settings: ServeSettings) -> ASGIApp:
    """The ASGI app of a multi-model server, behind the body limits, draining on SIGTERM."""
    from predictor.server.serve import _drain_on_sigterm, guarded

    predictor_class = load_predictor_class(settings.function)
    check_contract(predictor_class)
    limits = Limits.from_environ()
    routes = MultiModelRoutes(predictor_class, settings, limits)
    _drain_on_sigterm(routes.registry.drain)
    budget = routes.registry.budget_bytes
    logging.getLogger("uvicorn.error").info(
        "serving %s as a multi-model endpoint: memory budget %s",
        predictor_class.name,
        memory.mib(budget) if budget else "none",
    )
    # Only the size limits of the codec are used here: each model decodes with its own.
    codec = Codec(predictor_class.input_model, predictor_class.output_model, limits)
    return guarded(routes, codec, settings.server)


def _segments(scope: Scope) -> list[str]:
    """The path's segments, each percent-decoded on its own: a name may hold an encoded '/'."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    return [unquote(segment) for segment in path.strip("/").split("/")]


def _not_loaded(name: str) -> Problem:
    return problems.problem(404, f"Model {name!r} is not loaded; load it with POST /models")


def _log_target(model: Model, scope: Scope) -> None:
    """Log the client's TargetModel once per value: for the logs only, never a path or a key."""
    for header, value in scope["headers"]:
        if header == TARGET_MODEL:
            target = value.decode("latin-1")
            if target not in model.targets and len(model.targets) < TARGETS_LOGGED:
                model.targets.add(target)
                logger().info("invoked by target model", extra={"model": model.name, "target_model": target})
            return


async def _json(send: Send, status: int, value: dict[str, Any]) -> None:
    await _send(send, status, JSON, json.dumps(value).encode())
