"""The test tools themselves: the fault proxy injects each fault it claims to, and the locked S3 server
answers AccessDenied. Plain http.client calls, so the artifacts tests rest on verified tools."""

from __future__ import annotations

import http.client
import os
import time
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError
from support.fault_proxy import FaultProxy
from support.s3_server import DENIED_PREFIX, OPEN_PREFIX, LockedS3, MotoServer

BODY = os.urandom(100_000)
SHORT_TIMEOUT_S = 0.5


@pytest.fixture
def key(s3_server: MotoServer, bucket: str) -> str:
    # Public-read, so plain unsigned requests may read it.
    s3_server.s3().put_object(Bucket=bucket, Key="model/weights.bin", Body=BODY, ACL="public-read")
    return f"/{bucket}/model/weights.bin"


def connect(proxy: FaultProxy, timeout: float = 10.0) -> http.client.HTTPConnection:
    address = urlsplit(proxy.endpoint_url)
    assert address.hostname == "127.0.0.1"
    return http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)


def fetch(proxy: FaultProxy, path: str, method: str = "GET") -> tuple[int, bytes]:
    connection = connect(proxy)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_proxy_without_faults_passes_requests_through_and_logs_them(
    fault_proxy: FaultProxy, key: str
) -> None:
    assert fetch(fault_proxy, key) == (200, BODY)
    status, body = fetch(fault_proxy, key, "HEAD")
    assert (status, body) == (200, b"")
    connection = connect(fault_proxy)
    connection.request("GET", key, headers={"Range": "bytes=10-19"})
    response = connection.getresponse()
    assert (response.status, response.read()) == (206, BODY[10:20])
    connection.close()

    log = fault_proxy.requests()
    assert [(r.method, r.path, r.range, r.fault) for r in log] == [
        ("GET", key, None, None),
        ("HEAD", key, None, None),
        ("GET", key, "bytes=10-19", None),
    ]
    assert all(r.finished is not None and r.finished >= r.started for r in log)


def test_slowdown_answers_503_with_s3_error_body_for_first_n_gets_then_passes(
    fault_proxy: FaultProxy, key: str
) -> None:
    fault_proxy.inject("slowdown", times=2)

    first, second, third = (fetch(fault_proxy, key) for _ in range(3))

    for status, body in (first, second):
        assert status == 503
        assert ElementTree.fromstring(body).findtext("Code") == "SlowDown"
    assert third == (200, BODY)
    assert [r.fault for r in fault_proxy.requests("GET")] == ["slowdown", "slowdown", None]


def test_faults_apply_only_to_the_configured_methods_and_paths(
    fault_proxy: FaultProxy, s3_server: MotoServer, bucket: str, key: str
) -> None:
    s3_server.s3().put_object(Bucket=bucket, Key="model/labels.json", Body=b"[]", ACL="public-read")
    fault_proxy.inject("slowdown", times=None, path=r"weights\.bin$")

    assert fetch(fault_proxy, key, "HEAD")[0] == 200
    assert fetch(fault_proxy, f"/{bucket}/model/labels.json") == (200, b"[]")
    assert fetch(fault_proxy, key)[0] == 503
    assert len(fault_proxy.requests("GET", path="weights")) == 1


def test_error_fault_answers_the_configured_status_and_code(fault_proxy: FaultProxy, bucket: str) -> None:
    fault_proxy.inject("error", status=500, code="InternalError", path="list-type")

    # A listing: its query (with "&") must not break the XML of the error.
    status, body = fetch(fault_proxy, f"/{bucket}?list-type=2&prefix=model%2F&encoding-type=url")

    assert status == 500
    error = ElementTree.fromstring(body)
    assert (error.findtext("Code"), error.findtext("Resource")) == ("InternalError", f"/{bucket}")


def test_always_fault_never_lets_a_matching_request_through(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("slowdown", times=None)

    assert [fetch(fault_proxy, key)[0] for _ in range(6)] == [503] * 6
    assert len(fault_proxy.requests("GET", path=key)) == 6


def test_head_requests_get_the_error_status_without_a_body(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("slowdown", methods=["HEAD"])

    assert fetch(fault_proxy, key, "HEAD") == (503, b"")


def test_reset_fault_resets_the_connection_instead_of_answering(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("reset", times=1)
    connection = connect(fault_proxy)
    connection.request("GET", key)

    with pytest.raises(ConnectionResetError) as raised:
        connection.getresponse()
    connection.close()

    # A reset, not an orderly close: http.client reports an orderly close as RemoteDisconnected.
    assert not isinstance(raised.value, http.client.RemoteDisconnected)
    assert fetch(fault_proxy, key) == (200, BODY)
    assert [r.fault for r in fault_proxy.requests("GET")] == ["reset", None]


def test_stall_fault_accepts_and_never_answers(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("stall", times=1)
    connection = connect(fault_proxy, timeout=SHORT_TIMEOUT_S)
    connection.request("GET", key)
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        connection.getresponse()
    connection.close()

    assert time.monotonic() - started >= SHORT_TIMEOUT_S * 0.9
    assert fetch(fault_proxy, key) == (200, BODY)


def test_stall_body_fault_sends_headers_and_part_of_the_body_then_stalls(
    fault_proxy: FaultProxy, key: str
) -> None:
    fault_proxy.inject("stall_body", times=1, keep_bytes=1000)
    connection = connect(fault_proxy, timeout=SHORT_TIMEOUT_S)
    connection.request("GET", key)
    response = connection.getresponse()

    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(BODY))
    assert response.read(1000) == BODY[:1000]
    with pytest.raises(TimeoutError):
        response.read(1)
    connection.close()


def test_truncate_fault_promises_the_full_length_and_sends_part_then_closes(
    fault_proxy: FaultProxy, key: str
) -> None:
    fault_proxy.inject("truncate", times=1)
    connection = connect(fault_proxy)
    connection.request("GET", key)
    response = connection.getresponse()

    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(BODY))
    with pytest.raises(http.client.IncompleteRead) as raised:
        response.read()
    connection.close()

    assert raised.value.partial == BODY[: len(BODY) // 2]
    assert fetch(fault_proxy, key) == (200, BODY)


def test_truncate_fault_keeps_the_requested_number_of_bytes(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("truncate", keep_bytes=7)
    connection = connect(fault_proxy)
    connection.request("GET", key)

    with pytest.raises(http.client.IncompleteRead) as raised:
        connection.getresponse().read()
    connection.close()

    assert raised.value.partial == BODY[:7]


def test_reset_releases_stalled_connections_promptly(fault_proxy: FaultProxy, key: str) -> None:
    fault_proxy.inject("stall", times=1)
    connection = connect(fault_proxy, timeout=10)
    connection.request("GET", key)
    time.sleep(0.2)
    started = time.monotonic()

    fault_proxy.reset()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.getresponse()
    connection.close()

    assert time.monotonic() - started < 5
    assert fault_proxy.requests() == []


def test_locked_s3_lets_its_reader_get_open_keys_and_denies_the_rest(locked_s3: LockedS3) -> None:
    s3 = locked_s3.server.client("s3", locked_s3.credentials)

    assert s3.get_object(Bucket=locked_s3.bucket, Key=OPEN_PREFIX + "model.onnx")["Body"].read()
    with pytest.raises(ClientError) as get:
        s3.get_object(Bucket=locked_s3.bucket, Key=DENIED_PREFIX + "model.onnx")
    with pytest.raises(ClientError) as listing:
        s3.list_objects_v2(Bucket=locked_s3.unlistable_bucket)

    assert get.value.response["Error"]["Code"] == "AccessDenied"
    assert listing.value.response["Error"]["Code"] == "AccessDenied"
