"""What the event-source tests share: a handler with its own settings, the moto server's S3 and SQS."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from predictor import Limits
from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda._settings import EventSettings
from predictor.runtime import Runtime
from support.paths import FIXTURES, REPO


def handler_for(predictor: str, environ: Mapping[str, str], limits: Limits | None = None) -> LambdaHandler:
    """A handler for functions/iris ("iris") or a fixture predictor, reading settings from `environ` only."""
    path = REPO / "functions" / "iris" if predictor == "iris" else FIXTURES / f"{predictor}.py"
    runtime = Runtime(load_predictor_class(str(path)), environ=dict(environ), limits=limits)
    runtime.start()
    return LambdaHandler(runtime, EventSettings.from_environ(runtime.environ))


def read(s3: Any, bucket: str, key: str) -> bytes:
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def read_lines(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(s3, bucket, key).splitlines()]


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def jsonl(*records: Any) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def item(name: str, x: float = 1.5) -> dict[str, Any]:
    return {"x": x, "name": name}
