"""The rows of `predictor check`: each a function of the probe that answers one Row.

A new row is one more function and one more entry in ROWS. Rows run in order in one fresh
process: those that use FastAPI (the server's routes, the OpenAPI document) come after the row
that checks the event path never imported it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from predictor.check._asgi import Answer, call
from predictor.check._size import UNZIPPED_LIMIT_BYTES, largest_function_and_layer
from predictor.check._template import missing_files

Status = Literal["ok", "warn", "fail", "skip"]
EXAMPLE_HINT = (
    "add an example to the input model: model_config = ConfigDict(json_schema_extra="
    '{"examples": [{...one instance...}]}); /docs shows it and check sends it'
)


@dataclass(frozen=True)
class Row:
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Probe:
    """What the rows share: the function, its handler once set up, and the server app on first use."""

    function: str
    started_at: float
    build_dir: Path | None
    handler: Any = None
    examples: list[Any] = field(default_factory=list)

    @property
    def root(self) -> Path:
        """The directory holding app.py (and, in a project, template.yaml)."""
        location = Path(self.function.partition(":")[0])
        return location if location.is_dir() else location.parent

    @cached_property
    def server(self) -> Any:
        """SageMaker's routes ahead of the FastAPI app, as `predictor serve` builds them, on the
        runtime the handler set up (setup runs once)."""
        from predictor.server.app import create_app
        from predictor.server.batcher import Batcher
        from predictor.server.sagemaker import SageMakerRoutes
        from predictor.server.serve import guarded
        from predictor.server.settings import BatchSettings, ServerSettings

        runtime = self.handler.runtime
        batcher = Batcher(runtime, BatchSettings.from_environ())
        routes = SageMakerRoutes(runtime, create_app(runtime, batcher), batcher, workers=1)
        return guarded(routes, runtime.codec, ServerSettings.from_environ())

    def request(self, method: str, path: str, body: bytes = b"", content_type: str | None = None) -> Answer:
        return asyncio.run(call(self.server, method, path, body, content_type))


def import_and_setup(probe: Probe) -> Row:
    from predictor._loading import load_predictor_class
    from predictor.testing import PredictorClient

    name = "import and setup"
    try:
        predictor_class = load_predictor_class(probe.function)
        client = PredictorClient(predictor_class)
    except Exception as exc:
        return Row(name, "fail", f"{type(exc).__name__}: {exc}", "fix the import error above in app.py")
    ready_s = time.time() - probe.started_at
    failure = client.handler.runtime.failure
    if failure is not None:
        return Row(name, "fail", failure, "make setup() succeed: it loads the model from model/ or MODEL_URI")
    probe.handler = client.handler
    probe.examples = client.examples
    return Row(name, "ok", f"{predictor_class.__name__} ready {ready_s:.2f} s after the process started")


def schema_example(probe: Probe) -> Row:
    name = "schema example"
    if probe.handler is None:
        return Row(name, "skip", "needs setup")
    if not probe.examples:
        return Row(name, "warn", "the input model has no example: nothing to send", EXAMPLE_HINT)
    return Row(name, "ok", f"{len(probe.examples)} example(s) in the input model")


def http_events(probe: Probe) -> Row:
    from predictor.testing import events

    name = "HTTP events"
    if not _can_send(probe):
        return Row(name, "skip", _why_not(probe))
    failed = []
    for shape in events.SHAPES:
        answer = probe.handler(events.predict_event(shape, {"instances": probe.examples}), None)
        body = _body(answer)
        if answer["statusCode"] != 200 or len(body.get("predictions", [])) != len(probe.examples):
            failed.append(f"{shape}: {answer['statusCode']} {body.get('detail', body)}")
    if failed:
        return Row(name, "fail", "; ".join(failed), "make predict() answer the schema's example")
    return Row(name, "ok", f"POST /predict answered 200 on {len(events.SHAPES)} event shapes")


def direct_invoke(probe: Probe) -> Row:
    name = "direct invoke"
    if not _can_send(probe):
        return Row(name, "skip", _why_not(probe))
    try:
        answer = probe.handler({"instances": probe.examples}, None)
    except Exception as exc:
        return Row(name, "fail", f"{type(exc).__name__}: {exc}", "make predict() answer the schema's example")
    count = len(answer.get("predictions", []))
    if count != len(probe.examples):
        return Row(name, "fail", f"{count} predictions for {len(probe.examples)} instances", None)
    return Row(name, "ok", f'{{"instances": [...]}} answered {count} prediction(s)')


def fastapi_on_event_path(probe: Probe) -> Row:
    name = "FastAPI on the event path"
    if probe.handler is None:
        return Row(name, "skip", "needs setup")
    if "fastapi" in sys.modules:
        return Row(
            name,
            "warn",
            "importing app.py or answering an event loaded FastAPI (about 0.3 s of every cold start)",
            "import FastAPI, or what imports it, inside the function that needs it, not at module level",
        )
    return Row(name, "ok", "not imported: events and POST /predict skip the ASGI stack")


def invocations_json(probe: Probe) -> Row:
    name = "/invocations JSON"
    if not _can_send(probe):
        return Row(name, "skip", _why_not(probe))
    body = json.dumps({"instances": probe.examples}).encode()
    return _invocations(probe, name, body, "application/json")


def invocations_csv(probe: Probe) -> Row:
    name = "/invocations CSV"
    if not _can_send(probe):
        return Row(name, "skip", _why_not(probe))
    names = list(probe.examples[0])
    if not all(isinstance(e, dict) and list(e) == names for e in probe.examples) or any(
        isinstance(value, dict | list) for e in probe.examples for value in e.values()
    ):
        return Row(name, "skip", "the input has nested fields: CSV rows cannot carry it")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(names)
    writer.writerows([e[n] for n in names] for e in probe.examples)
    return _invocations(probe, name, text.getvalue().encode(), "text/csv")


def openapi_document(probe: Probe) -> Row:
    name = "OpenAPI document"
    if probe.handler is None:
        return Row(name, "skip", "needs setup")
    answer = probe.request("GET", "/openapi.json")
    try:
        document = json.loads(answer.body)
        operation = document["paths"]["/predict"]["post"]
        media = operation["requestBody"]["content"]["application/json"]
    except (ValueError, KeyError, TypeError) as exc:
        return Row(name, "fail", f"GET /openapi.json answered {answer.status} without {exc}", None)
    problems = _spec_problems(document)
    example = media.get("example")
    if example is not None:
        try:
            probe.handler.runtime.codec.decode_envelope(example)
        except Exception as exc:
            problems.append(f"its /predict example does not validate: {exc}")
    if problems:
        return Row(name, "fail", "; ".join(problems), "make the input and output models JSON-serialisable")
    shown = "with" if example is not None else "without"
    return Row(name, "ok", f"OpenAPI {document.get('openapi')}, /predict {shown} an example")


def unzipped_size(probe: Probe) -> Row:
    name = "unzipped size"
    build_dir = probe.build_dir
    if build_dir is None or not build_dir.is_dir():
        return Row(name, "skip", "no .aws-sam/build: run sam build, then check again to measure")
    try:
        function, function_bytes, layer, layer_bytes = largest_function_and_layer(build_dir)
    except FileNotFoundError as exc:
        return Row(name, "skip", str(exc))
    total = function_bytes + layer_bytes
    detail = f"{function} {_mb(function_bytes)} + layer {layer or 'none'} {_mb(layer_bytes)} = {_mb(total)}"
    if total > UNZIPPED_LIMIT_BYTES:
        return Row(
            name,
            "fail",
            f"{detail}, over Lambda's 250 MB",
            "leave packages out of layer/requirements.txt, load the model from MODEL_URI, or use an image",
        )
    return Row(name, "ok", f"{detail} of Lambda's 250 MB")


def response_size(probe: Probe) -> Row:
    name = "response size"
    if not _can_send(probe):
        return Row(name, "skip", _why_not(probe))
    from predictor.payload_limits import example_fit

    bounded = probe.handler.large_payloads
    try:
        fit = example_fit(probe.handler.runtime, instances=probe.examples, limit_bytes=bounded.limit)
    except ValueError as exc:
        return Row(name, "fail", str(exc), "make predict() answer the schema's example")
    allowed = probe.handler.runtime.codec.limits.max_instances
    detail = (
        f"{fit.per_instance_bytes:,} bytes per instance at most: {fit.instances:,} instances fit in one "
        f"synchronous answer of {fit.limit_bytes:,} bytes"
    )
    if fit.instances >= allowed or bounded.claim_check is not None:
        return Row(name, "ok", detail)
    return Row(
        name,
        "warn",
        f"{detail}, fewer than the {allowed:,} a request may hold",
        f"a full request would be answered 413: set PREDICTOR_MAX_INSTANCES={fit.instances} or "
        "PREDICTOR_LARGE_PAYLOAD_URI=s3://bucket/prefix/ for a presigned URL",
    )


def template_files(probe: Probe) -> Row:
    name = "template.yaml"
    template = probe.root / "template.yaml"
    if not template.is_file():
        return Row(name, "skip", f"no template.yaml in {probe.root}")
    missing = missing_files(template)
    if missing:
        return Row(name, "fail", "; ".join(missing), "make template.yaml name the files the project has")
    return Row(name, "ok", "every CodeUri, ContentUri and Handler it names is there")


ROWS: list[Callable[[Probe], Row]] = [
    import_and_setup,
    schema_example,
    http_events,
    direct_invoke,
    fastapi_on_event_path,
    invocations_json,
    invocations_csv,
    openapi_document,
    response_size,
    template_files,
    unzipped_size,
]


def _can_send(probe: Probe) -> bool:
    return probe.handler is not None and bool(probe.examples)


def _why_not(probe: Probe) -> str:
    return "needs setup" if probe.handler is None else "no schema example to send"


def _invocations(probe: Probe, name: str, body: bytes, content_type: str) -> Row:
    answer = probe.request("POST", "/invocations", body, content_type)
    try:
        count = len(json.loads(answer.body)["predictions"])
    except (ValueError, KeyError, TypeError):
        count = -1
    if answer.status != 200 or count != len(probe.examples):
        detail = f"{answer.status} {answer.body[:300].decode(errors='replace')}"
        return Row(name, "fail", detail, "make predict() answer the schema's example")
    return Row(name, "ok", f"answered {count} prediction(s)")


def _spec_problems(document: dict[str, Any]) -> list[str]:
    """What openapi-spec-validator finds wrong, when it is installed; else the version's shape."""
    if not str(document.get("openapi", "")).startswith("3."):
        return [f"openapi is {document.get('openapi')!r}, not 3.x"]
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return []
    try:
        validate(document)
    except Exception as exc:
        return [f"{type(exc).__name__}: {str(exc).splitlines()[0]}"]
    return []


def _body(answer: dict[str, Any]) -> dict[str, Any]:
    import base64

    raw = answer.get("body") or ""
    text = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw
    try:
        body = json.loads(text)
    except ValueError:
        return {"detail": str(text)[:200]}
    return body if isinstance(body, dict) else {"detail": body}


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
