"""The streamed `.out` upload: parts go up two at a time, in order, and a failed part leaves nothing."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from support.fault_proxy import FaultProxy
from support.s3_server import MotoServer

from predictor.aws_lambda.s3_files._output import MultipartOutput, OutputWriteError

PART = 5 * 1024 * 1024  # S3's smallest part


def through(proxy: FaultProxy, server: MotoServer) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=proxy.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=server.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=server.env["AWS_SECRET_ACCESS_KEY"],
    )


def pieces(parts: int) -> list[bytes]:
    """Half-part pieces, each filled with its own number, so order is checkable."""
    return [bytes([n]) * (PART // 2) for n in range(2 * parts)]


class CountingUploads:
    """The real client, counting how many UploadPart calls are under way at once."""

    def __init__(self, s3: Any) -> None:
        self.s3, self.under_way, self.most = s3, 0, 0
        self.lock = threading.Lock()

    def upload_part(self, **request: Any) -> Any:
        with self.lock:
            self.under_way += 1
            self.most = max(self.most, self.under_way)
        try:
            return self.s3.upload_part(**request)
        finally:
            with self.lock:
                self.under_way -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)


def test_parts_go_up_two_at_a_time_and_join_in_order(s3_server: MotoServer, fault_proxy: FaultProxy) -> None:
    bucket = s3_server.create_bucket()
    # Each part's PUT is held 0.3 s, so parts overlap exactly as far as the writer lets them.
    fault_proxy.set_rules(
        [{"fault": "delay", "times": None, "methods": ["PUT"], "path": "partNumber=", "stall_s": 0.3}]
    )
    s3 = CountingUploads(through(fault_proxy, s3_server))
    output = MultipartOutput(s3, bucket, "out.jsonl", "application/x-ndjson", PART)

    for piece in pieces(4):
        output.write(piece)
    output.complete()

    assert s3_server.s3().get_object(Bucket=bucket, Key="out.jsonl")["Body"].read() == b"".join(pieces(4))
    assert len(fault_proxy.requests("PUT", "partNumber=")) == 4
    assert s3.most == 2


def test_a_failed_part_raises_and_aborts_the_upload(s3_server: MotoServer, fault_proxy: FaultProxy) -> None:
    bucket = s3_server.create_bucket()
    fault_proxy.set_rules(
        [
            {
                "fault": "error",
                "times": None,
                "methods": ["PUT"],
                "path": "partNumber=2",
                "status": 403,
                "code": "AccessDenied",
            }
        ]
    )
    s3 = through(fault_proxy, s3_server)
    output = MultipartOutput(s3, bucket, "out.jsonl", "application/x-ndjson", PART)

    with pytest.raises(
        OutputWriteError, match=r"could not write s3://.*/out\.jsonl: AccessDenied: .*UploadPart"
    ):
        for piece in pieces(4):
            output.write(piece)
        output.complete()
    output.abort()

    assert "Contents" not in s3_server.s3().list_objects_v2(Bucket=bucket)
    assert s3_server.s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
