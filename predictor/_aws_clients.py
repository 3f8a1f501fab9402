"""The one owner of the package's AWS clients: one retry policy per service, the clients made so
far, and the one list of what a SnapStart restore renews.

A restored environment shares the snapshot's memory, so a client made before the snapshot
would keep its connections and the credentials it read then. Every boto3 client the package
makes is made here and recorded; anything else holding credentials (the artifacts'
standard-library transport) registers with `on_renew`. `renew()`, called after a restore,
drops them all, so the next use makes fresh ones.

boto3 is imported when the first client is made, never at import: an HTTP-only function and
the standard-library S3 transport never load it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Policy:
    """botocore's standard retry mode (exponential backoff with jitter; throttles, 5xx and
    connection faults retried) with this many attempts in all per call."""

    attempts: int
    # A boto3 client pools 10 connections by default; the event paths write from a few threads.
    max_connections: int = 16


# Four attempts: the first and three retries.
POLICIES = {"s3": Policy(attempts=4), "sqs": Policy(attempts=4)}
# The artifact fetch retries a ranged GET together with reading its body (the usual fault is
# a body cut off mid-way), with PREDICTOR_S3_ATTEMPTS and its own backoff, so its S3 client
# makes one attempt per call and leaves the retrying to the fetch.
FETCH_ATTEMPTS = 1

# What `predictor invoke` reports: every object and message the event paths write.
WRITES = {"s3": ("PutObject", "CompleteMultipartUpload"), "sqs": ("SendMessageBatch",)}

_made: dict[tuple[object, ...], Any] = {}
_renewers: list[Callable[[], None]] = []
_before_first: list[Callable[[], None]] = []
_write_listeners: list[Callable[[str], None]] = []
# Reentrant: what runs before the first client may itself ask how many clients there are.
_lock = threading.RLock()


def client(service: str) -> Any:
    """This process's client for `service`, with boto3's own credential chain, region and
    endpoint settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS): made on first use."""
    return _cached((service,), lambda: _new_client(service))


def fetch_s3_client(timeout: float, concurrency: int, environ: Mapping[str, str]) -> Any:
    """The artifact fetch's S3 client: `environ`'s AWS settings win, what it lacks boto3 finds
    where it always looks. Raises botocore's credential errors as boto3 does."""
    key = ("s3-fetch", timeout, concurrency, tuple(sorted(environ.items())))
    return _cached(key, lambda: _new_fetch_client(timeout, concurrency, environ))


def before_first_client(prepare: Callable[[], None]) -> None:
    """Have `prepare` run once before this process makes its first client (tracing patches botocore
    then, not at init), or now if one is made already."""
    with _lock:
        if not _made:
            _before_first.append(prepare)
            return
    prepare()


def made() -> int:
    """How many clients this process holds now."""
    with _lock:
        return len(_made)


def on_renew(renewer: Callable[[], None]) -> None:
    """Have `renew()` also call `renewer`: for whatever else caches connections or credentials."""
    with _lock:
        if renewer not in _renewers:
            _renewers.append(renewer)


def renew() -> None:
    """Forget every client and run every registered renewer, e.g. after a SnapStart restore,
    so the next use makes new ones with fresh credentials."""
    with _lock:
        _made.clear()
        renewers = list(_renewers)
    for renewer in renewers:
        renewer()


@contextmanager
def reporting_writes(listener: Callable[[str], None]) -> Iterator[None]:
    """Within the block, `listener` gets one line per object and message the clients write."""
    _write_listeners.append(listener)
    try:
        yield
    finally:
        _write_listeners.remove(listener)


def _cached(key: tuple[object, ...], make: Callable[[], Any]) -> Any:
    with _lock:  # made once even when a few threads ask at once
        if key not in _made:
            while _before_first:
                _before_first.pop(0)()
            _made[key] = make()
        return _made[key]


def _config(
    service: str, *, attempts: int | None = None, connections: int | None = None, timeout: float | None = None
) -> Any:
    """botocore's Config for `service`'s policy; a timeout, if given, for connecting and each read."""
    from botocore.config import Config

    policy = POLICIES[service]
    config = Config(
        retries={"mode": "standard", "total_max_attempts": policy.attempts if attempts is None else attempts},
        max_pool_connections=policy.max_connections if connections is None else connections,
    )
    if timeout is not None:
        config = config.merge(Config(connect_timeout=timeout, read_timeout=timeout))
    if service == "s3":
        # Presigned URLs (the large-payload claim-check) in SigV4, the only form S3 accepts for
        # KMS-encrypted objects and in every newer region; calls sign with it already.
        config = config.merge(Config(signature_version="s3v4"))
    return config


def _new_client(service: str) -> Any:
    import boto3

    made = boto3.session.Session().client(service, config=_config(service))  # type: ignore[call-overload]
    for operation in WRITES.get(service, ()):
        made.meta.events.register(f"before-parameter-build.{service}.{operation}", _report_write)
    return made


def _new_fetch_client(timeout: float, concurrency: int, environ: Mapping[str, str]) -> Any:
    import boto3

    config = _config("s3", attempts=FETCH_ATTEMPTS, connections=concurrency + 2, timeout=timeout)
    access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    both = bool(access_key and secret_key)  # one alone would make boto3 refuse every other source
    session = boto3.session.Session(
        aws_access_key_id=access_key if both else None,
        aws_secret_access_key=secret_key if both else None,
        aws_session_token=environ.get("AWS_SESSION_TOKEN") if both else None,
        region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        profile_name=environ.get("AWS_PROFILE"),
    )
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    return session.client("s3", config=config, endpoint_url=endpoint)


def _report_write(params: dict[str, Any], model: Any, **_: Any) -> None:
    if not _write_listeners:
        return
    if model.name == "SendMessageBatch":
        lines = [f"sent to {params['QueueUrl']}: {entry['MessageBody']}" for entry in params["Entries"]]
    else:
        lines = [f"wrote s3://{params['Bucket']}/{params['Key']}"]
    for listener in list(_write_listeners):
        for line in lines:
            listener(line)
