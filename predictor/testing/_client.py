"""`PredictorClient`: a predictor driven in process through the handler Lambda runs, with events in
the shapes AWS sends, so a test sees exactly what the deployed function answers."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from predictor._aws_clients import client
from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda._settings import EventSettings, S3Prefix
from predictor.contract import Predictor
from predictor.testing import events
from predictor.testing._context import LambdaContext

Target = LambdaHandler | type[Predictor[Any, Any]] | str | Path


@dataclass(frozen=True)
class HttpResponse:
    """What an HTTP event got back: status, headers (names in lower case) and the body's bytes."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    raw: dict[str, Any] = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True)
class SqsResult:
    """An SQS batch's answer: the message ids SQS would redeliver, and each answered message's reply
    (read back from the S3 prefix OUTPUT_URI names; empty when replies go to a queue)."""

    failed: list[str]
    replies: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class S3FileResult:
    """An S3 file's results: one line per input record, `{"prediction": ...}` or `{"problem": ...}`,
    and the manifest written last."""

    lines: list[dict[str, Any]]
    manifest: dict[str, Any]
    output_key: str


class PredictorClient:
    """Calls a predictor the ways AWS calls the deployed function.

    `app` is the handler app.py exports (`handler = lambda_handler(MyPredictor)`), a predictor class,
    or a path as `predictor serve` takes it (a directory holding app.py, `app.py`, `app.py:Class`).
    `output_uri` (`s3://bucket/prefix/`) is where S3 files' results and SQS replies go, as
    OUTPUT_URI says on Lambda; `shape` is the HTTP event shape `request` sends by default.
    """

    def __init__(
        self,
        app: Target,
        *,
        output_uri: str | None = None,
        shape: str = "http-api-v2",
        context: LambdaContext | None = None,
    ) -> None:
        if shape not in events.SHAPES:
            raise ValueError(f"unknown HTTP event shape {shape!r}; choose one of {', '.join(events.SHAPES)}")
        handler = _handler(app)
        if output_uri is not None:
            settings = EventSettings.from_environ(handler.runtime.environ, output_uri=output_uri)
            handler = LambdaHandler(handler.runtime, settings)
        self.handler = handler
        self.shape = shape
        self.context = context or LambdaContext()

    @property
    def examples(self) -> list[Any]:
        """The instances the input schema's `examples` hold (what /docs shows)."""
        return schema_examples(self.handler.runtime.predictor_class)

    def invoke(self, event: Any) -> Any:
        """Any event, answered as the deployed handler answers it (an exception it raises is raised)."""
        return self.handler(event, self.context)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        shape: str | None = None,
        b64: bool = False,
    ) -> HttpResponse:
        """An HTTP request in one of the shapes API Gateway, ALB or a Function URL sends."""
        sent = dict(headers or {})
        if json is not None:
            content = _dumps(json)
            sent = {"Content-Type": "application/json", **sent}
        event = events.http_event(shape or self.shape, method, path, headers=sent, body=content, b64=b64)
        answer = self.invoke(event)
        body = answer.get("body") or ""
        raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
        return HttpResponse(answer["statusCode"], events.response_headers(answer), raw, answer)

    def get(self, path: str, **options: Any) -> HttpResponse:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> HttpResponse:
        return self.request("POST", path, **options)

    def predict(self, instances: list[Any], *, shape: str | None = None) -> HttpResponse:
        """`POST /predict` with `{"instances": instances}`."""
        return self.post("/predict", json={"instances": instances}, shape=shape)

    def invoke_direct(self, instances: list[Any]) -> Any:
        """A direct invocation (`aws lambda invoke`) with `{"instances": instances}`."""
        return self.invoke({"instances": instances})

    def sqs(self, bodies: list[Any], *, groups: list[str] | None = None) -> SqsResult:
        """An SQS batch, one message per body (ids msg-0, msg-1, ...); `groups` makes it a FIFO batch."""
        answer = self.invoke(events.sqs_batch(bodies, groups=groups))
        failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
        replies: dict[str, Any] = {}
        output = self.handler.settings.output
        if isinstance(output, S3Prefix):
            s3 = client("s3")
            for number in range(len(bodies)):
                message_id = f"msg-{number}"
                if message_id not in failed:
                    key = f"{output.prefix}{message_id}.json"
                    replies[message_id] = json.loads(_read(s3, output.bucket, key))
        return SqsResult(failed, replies, answer)

    def s3_file(self, bucket: str, key: str, body: bytes | None = None) -> S3FileResult:
        """An S3 upload notification for `bucket`/`key` (put there first when `body` is given, in the
        S3 that AWS_ENDPOINT_URL_S3 names), and the results the function wrote under OUTPUT_URI."""
        output = self.handler.settings.output
        if not isinstance(output, S3Prefix):
            raise ValueError(
                "S3 files write their results under an S3 prefix: "
                "PredictorClient(app, output_uri='s3://bucket/results/')"
            )
        s3 = client("s3")
        if body is not None:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.invoke(events.s3_put(bucket, key))
        out = f"{output.prefix}{key}.out"
        lines = [json.loads(line) for line in _read(s3, output.bucket, out).splitlines()]
        manifest = json.loads(_read(s3, output.bucket, f"{output.prefix}{key}.manifest.json"))
        return S3FileResult(lines, manifest, out)


def schema_examples(predictor_class: type[Predictor[Any, Any]]) -> list[Any]:
    """The `examples` of the predictor's input model's JSON schema (pydantic's `json_schema_extra`)."""
    found = predictor_class.input_model.model_json_schema().get("examples", [])
    return list(found) if isinstance(found, list) else []


def _handler(app: Target) -> LambdaHandler:
    if isinstance(app, LambdaHandler):
        return app
    predictor_class = load_predictor_class(str(app)) if isinstance(app, str | Path) else app
    # The handler app.py made at import is the one Lambda calls: use it, so setup runs once.
    exported = getattr(sys.modules.get(predictor_class.__module__), "handler", None)
    if isinstance(exported, LambdaHandler) and exported.runtime.predictor_class is predictor_class:
        return exported
    return LambdaHandler.for_predictor(predictor_class)


def _read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _dumps(value: Any) -> str:
    return json.dumps(value)
