"""S3 access for artifacts: one client per process and one bounded retry policy.

botocore's own retries are off (max_attempts=1) so that a request and the read of
its body are retried together, and attempts never multiply across two layers.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from predictor.artifacts._errors import ArtifactsError, RetryableFetchError
from predictor.artifacts._settings import FetchSettings
from predictor.artifacts._uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

FINAL_CODES = {
    "NoSuchKey": "check the key exists (aws s3 ls {uri})",
    "NoSuchBucket": "check the bucket name and the region",
    "NoSuchVersion": "check the versionId still exists",
    "AccessDenied": "grant the function's role s3:GetObject and s3:ListBucket on it",
    "Forbidden": "grant the function's role s3:GetObject and s3:ListBucket on it",
    "InvalidAccessKeyId": "check the function's AWS credentials",
    "SignatureDoesNotMatch": "check the function's AWS credentials",
    "ExpiredToken": "refresh the function's AWS credentials",
    "PreconditionFailed": "the object changed while it was downloaded; start again",
}
MAX_BACKOFF_SECONDS = 2.0

# A client is reused only while the settings and environment that shaped it hold.
CLIENT_ENV = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
_clients: dict[tuple[object, ...], Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version_id: str | None


def client(settings: FetchSettings) -> S3Client:
    key = (settings.timeout, settings.concurrency, *(os.environ.get(name) for name in CLIENT_ENV))
    with _clients_lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=settings.timeout,
                read_timeout=settings.timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=settings.concurrency + 2,
            )
            _clients[key] = boto3.session.Session().client("s3", config=config)
        return _clients[key]  # type: ignore[no-any-return]


def reset_clients() -> None:
    """Forget clients, e.g. after a SnapStart restore, so new ones get fresh credentials."""
    with _clients_lock:
        _clients.clear()


def with_retries(what: str, location: S3Location, settings: FetchSettings, call: Callable[[], T]) -> T:
    """Run `call`, retrying transient faults with capped exponential backoff and jitter."""
    for attempt in range(1, settings.attempts + 1):
        try:
            return call()
        except Exception as exc:
            fault = classify(exc, location)
            if attempt == settings.attempts:
                raise ArtifactsError(
                    f"could not {what} {location} after {attempt} attempts: {fault}; "
                    "check the S3 endpoint is reachable, then start again"
                ) from exc
            delay = min(MAX_BACKOFF_SECONDS, 0.1 * 2 ** (attempt - 1))
            time.sleep(delay * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


def classify(exc: Exception, location: S3Location) -> str:
    """Describe a transient fault, or raise ArtifactsError at once for a final one."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ArtifactsError):
        raise exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if code in FINAL_CODES or (400 <= status < 500 and status not in (408, 429)):
            advice = FINAL_CODES.get(code, "check the URI and the function's permissions")
            raise ArtifactsError(
                f"{location}: {code or status} {error.get('Message', '')}".rstrip()
                + f"; {advice.format(uri=location)}"
            ) from exc
        return f"{code or status} {error.get('Message', '')}".strip()
    if isinstance(exc, BotoCoreError | RetryableFetchError | OSError):
        return f"{type(exc).__name__}: {exc}"
    try:
        from urllib3.exceptions import HTTPError
    except ImportError:  # pragma: no cover - botocore always brings urllib3
        raise exc from None
    if isinstance(exc, HTTPError):
        return f"{type(exc).__name__}: {exc}"
    raise exc


def head(location: S3Location, settings: FetchSettings) -> ObjectInfo:
    s3 = client(settings)
    extra: dict[str, Any] = {"VersionId": location.version_id} if location.version_id else {}

    def call() -> ObjectInfo:
        try:
            response = s3.head_object(Bucket=location.bucket, Key=location.key, **extra)
        except Exception as exc:
            _explain_bare_status(exc, s3, location, extra)
            raise
        return ObjectInfo(
            location.key,
            response["ContentLength"],
            response["ETag"].strip('"'),
            response.get("VersionId"),
        )

    return with_retries("read the metadata of", location, settings, call)


def _explain_bare_status(exc: Exception, s3: S3Client, location: S3Location, extra: dict[str, Any]) -> None:
    """HEAD errors carry no code (404 or 403 only); a 1-byte GET names the cause."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("404", "403"):
        s3.get_object(Bucket=location.bucket, Key=location.key, Range="bytes=0-0", **extra)


def list_prefix(location: S3Location, settings: FetchSettings) -> list[ObjectInfo]:
    s3 = client(settings)

    def call() -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.key):
            found.extend(
                ObjectInfo(item["Key"], item["Size"], item["ETag"].strip('"'), None)
                for item in page.get("Contents", [])
                if not item["Key"].endswith("/")
            )
        return found

    objects = with_retries("list", location, settings, call)
    if not objects:
        raise ArtifactsError(
            f"{location}: no objects under this prefix; check the URI and that upload finished"
        )
    return objects
