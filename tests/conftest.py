"""Shared fixtures: a real S3 server (moto, as a process), a fault proxy in front of it, per-test caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fault_proxy import FaultProxy
from support.s3_server import EventsAws, LockedS3, MotoServer, S3Env, set_aws_env

LOCKED_OBJECTS = {"model.onnx": b"weights that this reader may not see"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """One moto server for the session; every test makes its own buckets (`bucket`, `create_bucket`)."""
    server = MotoServer().start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _proxy_process(s3_server: MotoServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy.start(s3_server.endpoint_url)
    yield proxy
    proxy.close()


@pytest.fixture
def fault_proxy(_proxy_process: FaultProxy) -> Iterator[FaultProxy]:
    """The proxy in front of `s3_server`, with no faults and an empty request log."""
    _proxy_process.reset()
    yield _proxy_process
    _proxy_process.reset()


@pytest.fixture(scope="session")
def locked_s3() -> Iterator[LockedS3]:
    """A second moto server that enforces IAM and denies some reads (AccessDenied)."""
    locked = LockedS3.start(LOCKED_OBJECTS)
    yield locked
    locked.close()


@pytest.fixture
def bucket(s3_server: MotoServer) -> str:
    return s3_server.create_bucket()


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own PREDICTOR_CACHE_DIR (set in os.environ too)."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("PREDICTOR_CACHE_DIR", str(directory))
    return directory


S3_TRANSPORTS = {"stdlib": {}, "boto3": {"PREDICTOR_S3_CLIENT": "boto3"}}


@pytest.fixture(params=sorted(S3_TRANSPORTS))
def s3_transport(request: pytest.FixtureRequest) -> dict[str, str]:
    """Every S3 behaviour is proved on both transports: the standard-library one used when the
    environment holds credentials (as on Lambda) and boto3, used for every other credential source."""
    return S3_TRANSPORTS[request.param]


@pytest.fixture
def s3_env(
    fault_proxy: FaultProxy,
    s3_server: MotoServer,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3_transport: dict[str, str],
) -> S3Env:
    """os.environ points boto3 at the fault proxy in front of `s3_server` (it forwards untouched until a
    test sets faults), with this test's cache dir.

    In-process tests all use this one endpoint: a process is expected to keep one S3 endpoint and one
    set of credentials, so tests that need another (the IAM-enforcing server) run a fresh process."""
    env = {**s3_server.env, "AWS_ENDPOINT_URL_S3": fault_proxy.endpoint_url, **s3_transport}
    set_aws_env(monkeypatch, env)
    return S3Env(fault_proxy.endpoint_url, env, cache_dir)


@pytest.fixture
def events_aws(s3_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventsAws]:
    from predictor._aws_clients import renew

    set_aws_env(monkeypatch, {**s3_server.env, "AWS_ENDPOINT_URL": s3_server.endpoint_url})
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    renew()
    yield EventsAws(s3_server, s3_server.s3(), s3_server.client("sqs"))
    renew()
