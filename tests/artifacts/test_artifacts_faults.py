"""S3 misbehaving the ways it does in production (throttling, 5xx, resets, stalls, cut-off bodies):
retried within bounds, then a clear error; never a half-written artifact that a later resolve trusts.
The faults come from a real proxy process between boto3 and the S3 server (tests/support/fault_proxy.py)."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.fault_proxy import FaultProxy
from support.s3_server import MotoServer, S3Env, put_objects, read_tree, stored_bytes

from predictor.artifacts import ArtifactsError, resolve_artifacts

pytestmark = pytest.mark.usefixtures("s3_env")

WEIGHTS = os.urandom(1_000_000)
FILES = {"model.onnx": WEIGHTS, "labels.json": b'["a", "b"]', "vocab/words.txt": b"a\nb\n"}
RETRIES_WITHIN_S = 10.0
METADATA_ALLOWANCE = 64 * 1024


def resolve(uri: str, **settings: str) -> Path:
    return resolve_artifacts(uri, environ={**os.environ, **settings})


def key_path(bucket: str, key: str) -> str:
    return rf"^/{bucket}/{re.escape(key)}(\?|$)"


@pytest.fixture
def model(s3_server: MotoServer, bucket: str) -> str:
    """s3://bucket/model.onnx holding WEIGHTS, and the same files as a prefix under iris/."""
    put_objects(s3_server.s3(), bucket, {"model.onnx": WEIGHTS})
    put_objects(s3_server.s3(), bucket, {f"iris/{name}": body for name, body in FILES.items()})
    return bucket


@pytest.mark.parametrize(
    ("fault", "options"),
    [("slowdown", {}), ("error", {"status": 500, "code": "InternalError"}), ("reset", {})],
    ids=["503-slowdown", "500-internal-error", "connection-reset"],
)
def test_transient_fault_twice_is_retried_and_the_third_attempt_succeeds(
    model: str, fault_proxy: FaultProxy, fault: str, options: dict[str, Any]
) -> None:
    fault_proxy.inject(fault, times=2, path=key_path(model, "model.onnx"), **options)
    started = time.monotonic()

    directory = resolve(f"s3://{model}/model.onnx")

    assert time.monotonic() - started < RETRIES_WITHIN_S
    assert (directory / "model.onnx").read_bytes() == WEIGHTS
    assert [r.fault for r in fault_proxy.requests("GET", key_path(model, "model.onnx"))] == [
        fault,
        fault,
        None,
    ]


@pytest.mark.parametrize("fault", ["stall", "stall_body"], ids=["no-response", "body-stops"])
def test_stalled_response_times_out_and_is_retried(model: str, fault_proxy: FaultProxy, fault: str) -> None:
    fault_proxy.inject(fault, times=1, path=key_path(model, "model.onnx"))
    started = time.monotonic()

    directory = resolve(f"s3://{model}/model.onnx", PREDICTOR_S3_TIMEOUT="1")

    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < RETRIES_WITHIN_S
    assert (directory / "model.onnx").read_bytes() == WEIGHTS
    assert len(fault_proxy.requests("GET", key_path(model, "model.onnx"))) == 2


def test_truncated_body_is_retried_and_the_file_is_complete(model: str, fault_proxy: FaultProxy) -> None:
    fault_proxy.inject("truncate", times=1, path=key_path(model, "model.onnx"))

    directory = resolve(f"s3://{model}/model.onnx")

    assert (directory / "model.onnx").read_bytes() == WEIGHTS
    assert [r.fault for r in fault_proxy.requests("GET", key_path(model, "model.onnx"))] == ["truncate", None]


def test_truncated_part_of_a_ranged_download_is_retried(
    s3_server: MotoServer, bucket: str, fault_proxy: FaultProxy
) -> None:
    part = 1024 * 1024
    body = os.urandom(3 * part + 123)
    put_objects(s3_server.s3(), bucket, {"big.bin": body})
    fault_proxy.inject("truncate", times=1, path=key_path(bucket, "big.bin"))

    directory = resolve(f"s3://{bucket}/big.bin", PREDICTOR_S3_PART_BYTES=str(part))

    assert hashlib.sha256((directory / "big.bin").read_bytes()).digest() == hashlib.sha256(body).digest()
    assert [r.fault for r in fault_proxy.requests("GET", key_path(bucket, "big.bin"))].count("truncate") == 1


def test_throttled_object_inside_a_prefix_is_retried(model: str, fault_proxy: FaultProxy) -> None:
    fault_proxy.inject("slowdown", times=2, path=key_path(model, "iris/labels.json"))

    directory = resolve(f"s3://{model}/iris/")

    assert read_tree(directory) == FILES
    assert len(fault_proxy.requests("GET", key_path(model, "iris/labels.json"))) == 3


def test_throttled_first_request_of_a_listing_or_an_object_is_retried(
    model: str, fault_proxy: FaultProxy
) -> None:
    listing = rf"^/{model}/?\?"  # ListObjectsV2 is a GET on the bucket itself
    fault_proxy.set_rules(
        [
            {"fault": "slowdown", "times": 1, "methods": ["GET"], "path": listing},
            # Whichever comes first for the object, a HEAD or a GET.
            {
                "fault": "slowdown",
                "times": 1,
                "methods": ["HEAD", "GET"],
                "path": key_path(model, "model.onnx"),
            },
        ]
    )

    assert read_tree(resolve(f"s3://{model}/iris/")) == FILES
    assert (resolve(f"s3://{model}/model.onnx") / "model.onnx").read_bytes() == WEIGHTS
    assert [r.fault for r in fault_proxy.requests("GET", listing)][:2] == ["slowdown", None]
    assert [r.fault for r in fault_proxy.requests(None, key_path(model, "model.onnx"))][:2] == [
        "slowdown",
        None,
    ]


def test_persistent_slowdown_fails_after_the_configured_attempts_naming_the_uri_and_cause(
    model: str, fault_proxy: FaultProxy
) -> None:
    uri = f"s3://{model}/model.onnx"
    fault_proxy.inject("slowdown", times=None, methods=["GET", "HEAD"], path=key_path(model, "model.onnx"))
    started = time.monotonic()

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri, PREDICTOR_S3_ATTEMPTS="3")

    assert time.monotonic() - started < RETRIES_WITHIN_S
    assert uri in str(raised.value)
    # A HEAD answer has no body, so a client that asked with HEAD sees only the status.
    assert "SlowDown" in str(raised.value) or "503" in str(raised.value)
    # Retried exactly as often as allowed: botocore's own retries are off.
    assert len(fault_proxy.requests(path=key_path(model, "model.onnx"))) == 3


def test_persistent_resets_fail_naming_the_uri(model: str, fault_proxy: FaultProxy) -> None:
    uri = f"s3://{model}/model.onnx"
    fault_proxy.inject("reset", times=None, path=key_path(model, "model.onnx"))

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri, PREDICTOR_S3_ATTEMPTS="2")

    assert uri in str(raised.value)
    assert len(fault_proxy.requests("GET", key_path(model, "model.onnx"))) == 2


def test_failed_object_fetch_leaves_nothing_that_looks_valid_and_the_next_resolve_succeeds(
    model: str, fault_proxy: FaultProxy, s3_env: S3Env
) -> None:
    uri = f"s3://{model}/model.onnx"
    fault_proxy.inject("truncate", times=None, path=key_path(model, "model.onnx"))

    with pytest.raises(ArtifactsError):
        resolve(uri, PREDICTOR_S3_ATTEMPTS="2")

    assert not list(s3_env.cache_dir.rglob("model.onnx"))
    assert stored_bytes(s3_env.cache_dir) < METADATA_ALLOWANCE
    fault_proxy.reset()
    assert (resolve(uri) / "model.onnx").read_bytes() == WEIGHTS
    assert len(fault_proxy.requests("GET", key_path(model, "model.onnx"))) == 1


def test_failed_prefix_fetch_is_not_reused_as_complete_by_the_next_resolve(
    model: str, fault_proxy: FaultProxy, s3_env: S3Env
) -> None:
    uri = f"s3://{model}/iris/"
    fault_proxy.inject("reset", times=None, path=key_path(model, "iris/vocab/words.txt"))

    with pytest.raises(ArtifactsError) as raised:
        resolve(uri, PREDICTOR_S3_ATTEMPTS="2")

    assert uri in str(raised.value)
    assert stored_bytes(s3_env.cache_dir) < METADATA_ALLOWANCE
    fault_proxy.reset()
    assert read_tree(resolve(uri)) == FILES


def test_a_file_that_cannot_be_fetched_stops_the_files_queued_behind_it(
    bucket: str, s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    later = {f"set/later-{n}.bin": b"x" * 10 for n in range(4)}
    put_objects(s3_server.s3(), bucket, {"set/a-broken.bin": WEIGHTS, **later})
    fault_proxy.inject("reset", times=None, path=key_path(bucket, "set/a-broken.bin"))

    with pytest.raises(ArtifactsError):
        # One file at a time, in key order: the broken one runs first, the rest wait in the queue.
        resolve(f"s3://{bucket}/set/", PREDICTOR_S3_ATTEMPTS="2", PREDICTOR_S3_CONCURRENCY="1")

    assert [len(fault_proxy.requests("GET", key_path(bucket, key))) for key in later] == [0, 0, 0, 0]
