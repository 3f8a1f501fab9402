"""The FastAPI app: the same runtime behind /predict, /health, /metadata, /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from predictor import problems
from predictor._log import logger
from predictor.observability import count_request
from predictor.observability.asgi import request_id_of
from predictor.problems import PROBLEM_JSON, Problem
from predictor.runtime import Reply, Runtime
from predictor.server.body_limit import ANSWERED
from predictor.server.head import HeadAsGet
from predictor.server.request_context import context_from_scope

if TYPE_CHECKING:
    from predictor.server.batcher import Batcher

ROUTES = "POST /predict, GET /health, GET /metadata, GET /docs, GET /openapi.json"


def create_app(runtime: Runtime, batcher: Batcher | None = None) -> FastAPI:
    """With a `batcher` (the server), /predict queues like /invocations: predict runs on the
    batcher's one thread, so calls never overlap, /health answers during a long predict, and
    the batcher's timeout applies. Without one (Lambda: one request at a time) predict runs inline."""
    predictor_class = runtime.predictor_class

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Setup ran before the server started; Mangum (lifespan="off") never gets here.
        yield
        runtime.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=predictor_class.name,
        version=predictor_class.version,
        description=(predictor_class.__doc__ or "").strip(),
    )

    @app.post("/predict", openapi_extra=_predict_openapi(runtime), response_model=None)
    async def predict(request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:
            # Nobody is left to answer: one line, no traceback (it is the client's doing, not ours),
            # unless the body limits answered and logged already.
            if not request.scope.get(ANSWERED):
                logger().info("client disconnected before sending the whole body", extra=_client(request))
            return Response(status_code=400)
        content_type = request.headers.get("content-type")
        request_id = _request_id(request)
        context = context_from_scope(request.scope, request_id) if runtime.wants_context else None
        if batcher is None:
            return _response(runtime.predict_body(body, content_type, request_id, context))
        try:
            instances = runtime.parse_body(body, content_type)
            predictions = await batcher.predict(instances, context, request_id)
            count_request(len(instances), context)
            return _response(runtime.answer(predictions, context))
        except Exception as exc:
            return _response(runtime.failure_reply(exc, request_id))

    problem_content = {PROBLEM_JSON: {"schema": {"$ref": _ref("Problem")}}}
    not_ready_response = {"description": "Not ready", "content": problem_content}

    @app.get("/health", responses={503: not_ready_response})
    async def health() -> Response:
        reason = runtime.not_ready_reason()
        if reason is None:
            return Response(b'{"status":"ready"}', media_type="application/json")
        return _problem(problems.not_ready(reason))

    @app.get("/metadata", responses={500: {"description": "metadata() failed", "content": problem_content}})
    async def metadata(request: Request) -> Any:
        try:
            return runtime.metadata()
        except Exception as exc:  # answered here, so it is logged once, as what it is
            return _problem(runtime.problem_for(exc, _request_id(request), action="metadata"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = str(exc.detail) if exc.detail else ""
        if exc.status_code == 404:
            detail = f"No route {request.url.path}; the routes are {ROUTES}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        response = _problem(problems.problem(exc.status_code, detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _problem(problems.problem(422, str(exc)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return _problem(runtime.problem_for(exc, _request_id(request)))

    app.openapi = lambda: _openapi(app, runtime)  # type: ignore[method-assign]
    app.add_middleware(HeadAsGet)
    return app


def _response(reply: Reply) -> Response:
    return Response(reply.body, reply.status, reply.headers or None, reply.content_type)


def _problem(value: Problem) -> Response:
    return Response(problems.encode(value), status_code=value.status, media_type=PROBLEM_JSON)


def _client(request: Request) -> dict[str, Any]:
    client = request.client
    return {"client": f"{client.host}:{client.port}" if client else None, "path": request.url.path}


def _request_id(request: Request) -> str:
    return request_id_of(request.scope)


def _predict_openapi(runtime: Runtime) -> dict[str, Any]:
    request_name = runtime.codec.schema.request_model.__name__
    response_name = runtime.codec.schema.response_model.__name__
    media: dict[str, Any] = {"schema": {"$ref": _ref(request_name)}}
    example = runtime.codec.schema.example_request()
    if example is not None:
        media["example"] = example
    problem_ref = {PROBLEM_JSON: {"schema": {"$ref": _ref("Problem")}}}
    return {
        "requestBody": {"required": True, "content": {"application/json": media}},
        "responses": {
            "200": {
                "description": "One prediction per instance, in order",
                "content": {"application/json": {"schema": {"$ref": _ref(response_name)}}},
            },
            **{
                str(status): {"description": description, "content": problem_ref}
                for status, description in (
                    (400, "The body is not valid JSON"),
                    (413, "Too many bytes or instances"),
                    (415, "Unsupported Content-Type"),
                    (422, "Instances violate the schema; every failing field is listed"),
                    (500, "The predictor failed; the problem carries a request id"),
                    (503, "Setup has not succeeded"),
                )
            },
        },
    }


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _openapi(app: FastAPI, runtime: Runtime) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        template = "#/components/schemas/{model}"
        for model in (runtime.codec.schema.request_model, runtime.codec.schema.response_model, Problem):
            model_schema = model.model_json_schema(ref_template=template)
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
    return app.openapi_schema
