"""One boto3 client per AWS service per process: made at init for an event function, else on first use.

boto3 rather than the artifacts package's standard-library transport: the event
paths need multipart uploads and SQS batch sends, and boto3 already honours
AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SQS itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from predictor._log import logger
from predictor.aws_lambda._settings import Output, QueueUrl

# A boto3 client pools 10 connections by default; replies are written from a few threads.
MAX_CONNECTIONS = 16


@functools.cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=MAX_CONNECTIONS)
    made = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    for operation in WRITES.get(service, ()):
        made.meta.events.register(f"before-parameter-build.{service}.{operation}", _report_write)
    return made


def prepare_clients(output: Output | None) -> None:
    """With OUTPUT_URI set the function answers events: import boto3 and make the clients its
    results need now, at init, as AWS advises, instead of in the first invocation's time.
    A failure here is left for that first use to report where it happens."""
    if output is None:
        return
    try:
        client("s3")
        if isinstance(output, QueueUrl):
            client("sqs")
    except Exception as exc:
        logger().warning(
            "could not make the AWS clients at init; the first event will try again",
            extra={"error": f"{type(exc).__name__}: {exc}"},
        )


# What `predictor invoke` reports: every object and message the event paths write.
WRITES = {"s3": ("PutObject", "CompleteMultipartUpload"), "sqs": ("SendMessageBatch",)}
write_listeners: list[Callable[[str], None]] = []


def _report_write(params: dict[str, Any], model: Any, **_: Any) -> None:
    if model.name == "SendMessageBatch":
        lines = [f"sent to {params['QueueUrl']}: {entry['MessageBody']}" for entry in params["Entries"]]
    else:
        lines = [f"wrote s3://{params['Bucket']}/{params['Key']}"]
    for listener in write_listeners:
        for line in lines:
            listener(line)


def reset_clients() -> None:
    """Forget clients, e.g. after a SnapStart restore, so new ones get fresh credentials."""
    client.cache_clear()
