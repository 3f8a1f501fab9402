"""S3 access for artifacts: one transport per process and one bounded retry policy."""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from predictor import _aws_clients
from predictor.artifacts._errors import ArtifactsError, RetryableFetchError
from predictor.artifacts._settings import CLIENT_ENV, SESSION_TOKEN_ENV, FetchSettings
from predictor.artifacts._sigv4 import Credentials
from predictor.artifacts._transport import (
    CREDENTIALS_ADVICE,
    MissingCredentials,
    ObjectInfo,
    S3ResponseError,
    S3Transport,
)
from predictor.artifacts._uri import S3Location

T = TypeVar("T")

FINAL_CODES = {
    "NoSuchKey": "check the key exists (aws s3 ls {uri})",
    "NoSuchBucket": "check the bucket name and the region",
    "NoSuchVersion": "check the versionId still exists",
    "AccessDenied": "grant the function's role s3:GetObject and s3:ListBucket on it",
    "InvalidAccessKeyId": "check the function's AWS credentials",
    "SignatureDoesNotMatch": "check the function's AWS credentials",
    "ExpiredToken": f"{SESSION_TOKEN_ENV} has expired; refresh the function's AWS credentials",
    "InvalidToken": (
        f"check {SESSION_TOKEN_ENV}: it must be the session token issued with AWS_ACCESS_KEY_ID "
        "(or unset it for long-term keys)"
    ),
    "PreconditionFailed": "the object changed while it was downloaded; start again",
}
RETRYABLE_STATUSES = (408, 429)
MAX_BACKOFF_SECONDS = 2.0

_transports: dict[tuple[object, ...], S3Transport] = {}
_transports_lock = threading.Lock()


def transport(settings: FetchSettings) -> S3Transport:
    """One per distinct settings and AWS environment: reused only while what shaped it holds."""
    key = (settings.timeout, settings.concurrency, settings.aws)
    with _transports_lock:
        if key not in _transports:
            _transports[key] = _new_transport(settings)
        return _transports[key]


def _new_transport(settings: FetchSettings) -> S3Transport:
    """Standard library when the environment carries credentials and a region, as on
    Lambda; boto3 for every other credential source (profiles, roles, SnapStart)."""
    environ = dict(settings.aws)
    access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if environ.get(CLIENT_ENV) != "boto3" and access_key and secret_key and region:
        from predictor.artifacts._s3_http import HttpS3

        credentials = Credentials(access_key, secret_key, environ.get(SESSION_TOKEN_ENV))
        endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
        return HttpS3(credentials, region, endpoint, settings.timeout)
    from predictor.artifacts._s3_boto import BotoS3

    return BotoS3(settings.timeout, settings.concurrency, environ)


def _forget_transports() -> None:
    """After a SnapStart restore: new transports read fresh credentials."""
    with _transports_lock:
        _transports.clear()


_aws_clients.on_renew(_forget_transports)


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
    if isinstance(exc, ArtifactsError):
        raise exc
    if isinstance(exc, MissingCredentials):
        raise ArtifactsError(f"{location}: {exc}; {CREDENTIALS_ADVICE}") from exc
    if isinstance(exc, S3ResponseError):
        final = exc.code in FINAL_CODES or (400 <= exc.status < 500 and exc.status not in RETRYABLE_STATUSES)
        if final:
            advice = FINAL_CODES.get(exc.code, "check the URI and the function's permissions")
            raise ArtifactsError(f"{location}: {exc}; {advice.format(uri=location)}") from exc
        return str(exc)
    if isinstance(exc, RetryableFetchError):
        return str(exc)
    if isinstance(exc, OSError | http.client.HTTPException):  # resets, timeouts, cut-off bodies
        return f"{type(exc).__name__}: {exc}"
    raise exc


def head(location: S3Location, settings: FetchSettings) -> ObjectInfo:
    s3 = transport(settings)

    def call() -> ObjectInfo:
        try:
            return s3.head(location.bucket, location.key, location.version_id)
        except S3ResponseError as exc:
            if exc.code or exc.status not in (400, 403, 404):
                raise
            # HEAD errors carry no body, so no code: a 1-byte GET names the cause.
            s3.get(location.bucket, location.key, location.version_id, (0, 0), None).close()
            raise

    return with_retries("read the metadata of", location, settings, call)


def list_prefix(location: S3Location, settings: FetchSettings) -> list[ObjectInfo]:
    s3 = transport(settings)

    def call() -> list[ObjectInfo]:
        return [info for info in s3.list_objects(location.bucket, location.key) if not info.key.endswith("/")]

    objects = with_retries("list", location, settings, call)
    if not objects:
        raise ArtifactsError(
            f"{location}: no objects under this prefix; check the URI and that upload finished"
        )
    return objects
