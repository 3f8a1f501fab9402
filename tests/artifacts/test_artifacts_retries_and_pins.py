"""The retry policy waits between attempts, and a download stays pinned to the ETag it started with:
an object replaced between two ranges fails the fetch instead of mixing two versions in one file."""

from __future__ import annotations

import os

import pytest
from support.fault_proxy import FaultProxy
from support.s3_server import MotoServer, S3Env, put_objects

from predictor.artifacts import ArtifactsError, resolve_artifacts

pytestmark = pytest.mark.usefixtures("s3_env")

MIB = 1024 * 1024
# The policy's first two delays are 0.1 s and 0.2 s, each with jitter down to half.
SHORTEST_FIRST_WAIT_S = 0.05
SHORTEST_SECOND_WAIT_S = 0.1


def test_a_retried_request_waits_the_backoff_before_each_new_attempt(
    s3_server: MotoServer, bucket: str, fault_proxy: FaultProxy
) -> None:
    put_objects(s3_server.s3(), bucket, {"model.onnx": b"weights"})
    path = rf"^/{bucket}/model\.onnx(\?|$)"
    fault_proxy.inject("slowdown", times=2, methods=["HEAD", "GET"], path=path)

    resolve_artifacts(f"s3://{bucket}/model.onnx", environ=dict(os.environ))

    attempts = fault_proxy.requests(None, path)
    assert [r.fault for r in attempts][:3] == ["slowdown", "slowdown", None]
    first, second, third = (r.started for r in attempts[:3])
    assert second - first >= SHORTEST_FIRST_WAIT_S
    assert third - second >= SHORTEST_SECOND_WAIT_S


def test_an_object_replaced_between_two_ranges_fails_instead_of_mixing_versions(
    s3_server: MotoServer, bucket: str, s3_env: S3Env, fault_proxy: FaultProxy
) -> None:
    original, replacement = os.urandom(3 * MIB), os.urandom(3 * MIB)
    put_objects(s3_server.s3(), bucket, {"big.bin": original})
    replaced: list[bool] = []

    def replace_after_the_first_bytes(count: int) -> None:
        if not replaced:  # the first range is streaming: the next ones are still to be asked for
            replaced.append(True)
            put_objects(s3_server.s3(), bucket, {"big.bin": replacement})

    with pytest.raises(ArtifactsError) as raised:
        resolve_artifacts(
            f"s3://{bucket}/big.bin",
            environ={**os.environ, "PREDICTOR_S3_PART_BYTES": str(MIB), "PREDICTOR_S3_CONCURRENCY": "1"},
            progress=replace_after_the_first_bytes,
        )

    assert "PreconditionFailed" in str(raised.value)
    assert "the object changed while it was downloaded; start again" in str(raised.value)
    assert not [p for p in s3_env.cache_dir.rglob("big.bin")]
    ranges = [r.range for r in fault_proxy.requests("GET", rf"^/{bucket}/big\.bin")]
    assert ranges[:2] == [f"bytes=0-{MIB - 1}", f"bytes={MIB}-{2 * MIB - 1}"]
