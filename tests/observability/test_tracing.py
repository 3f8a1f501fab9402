"""On Lambda with tracing on, fetch, setup, validate, predict and write are X-Ray subsegments.

The X-Ray daemon is a UDP socket on loopback reading what the X-Ray SDK sends it, as the
daemon Lambda runs does; the function runs in a fresh process with Lambda's variables set.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest
from support.fresh_python import run_python
from support.s3_server import EventsAws

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
HTTP_SCRIPT = """
import sys
sys.path.insert(0, "tests")
from support.lambda_events import SETOSA, LambdaContext, predict_event
from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
handler = LambdaHandler.for_predictor(load_predictor_class("functions/iris"))
print(handler(predict_event("http-api-v2", {"instances": [SETOSA]}), LambdaContext())["statusCode"])
"""
FILE_SCRIPT = """
import os, sys
sys.path.insert(0, "tests")
from support.aws_events import s3_put
from support.event_sources import handler_for
from support.lambda_events import LambdaContext
bucket = sys.argv[1]
handler = handler_for("echo", {**os.environ, "OUTPUT_URI": f"s3://{bucket}/out/"})
print(handler(s3_put(bucket, "in/a.jsonl"), LambdaContext())["results"][0]["predicted"])
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)
    yield sock
    sock.close()


def lambda_env(daemon: socket.socket, **extra: str) -> dict[str, str]:
    port = daemon.getsockname()[1]
    return {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "iris",
        "LAMBDA_TASK_ROOT": os.getcwd(),
        "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent={PARENT};Sampled=1",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        **extra,
    }


def subsegments(daemon: socket.socket) -> list[dict[str, str]]:
    """What the daemon received: each datagram is a JSON header line, then one (sub)segment."""
    found = []
    try:
        while True:
            datagram, _ = daemon.recvfrom(65535)
            header, _, document = datagram.decode().partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            found.append(json.loads(document))
    except TimeoutError:
        return found


def test_an_http_request_is_traced_as_subsegments_of_the_invocation(daemon: socket.socket) -> None:
    finished = run_python(HTTP_SCRIPT, env=lambda_env(daemon))

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().endswith("200")
    sent = subsegments(daemon)
    assert [s["name"] for s in sent] == ["fetch", "setup", "validate", "predict"]
    assert {(s["type"], s["trace_id"], s["parent_id"]) for s in sent} == {("subsegment", TRACE_ID, PARENT)}
    assert all(s["end_time"] >= s["start_time"] for s in sent)
    # The request's log line carries the trace id, so logs and traces meet.
    [line] = [json.loads(x) for x in finished.stdout.splitlines() if '"message":"request"' in x]
    assert line["xray_trace_id"] == TRACE_ID


def test_an_s3_file_traces_its_predict_and_its_write(daemon: socket.socket, events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    events_aws.s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=b'{"x": 1, "name": "a"}\n')
    env = lambda_env(daemon, **events_aws.server.env, AWS_ENDPOINT_URL=events_aws.server.endpoint_url)

    finished = run_python(FILE_SCRIPT, bucket, env=env)

    assert finished.returncode == 0, finished.stderr
    names = [s["name"] for s in subsegments(daemon)]
    # Powertools' Tracer also traces boto3's calls (the "s3" subsegments): botocore is patched when
    # the function makes its first client.
    assert "s3" in names
    assert [name for name in names if name != "s3"] == ["setup", "predict", "write"]


def test_a_traced_http_function_never_loads_botocores_clients(daemon: socket.socket) -> None:
    # Powertools imports the botocore package itself; its clients, and the X-Ray SDK's patch of
    # them, are what cost a cold start about 0.18 s.
    script = (
        HTTP_SCRIPT
        + 'print("botocore.client" in sys.modules or "aws_xray_sdk.ext.botocore" in sys.modules)\n'
    )

    finished = run_python(script, env=lambda_env(daemon))

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-2:] == ["200", "False"]
    assert [s["name"] for s in subsegments(daemon)] == ["fetch", "setup", "validate", "predict"]


def test_an_s3_file_of_many_chunks_is_one_predict_span(daemon: socket.socket, events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    body = b"".join(b'{"x": %d, "name": "a"}\n' % n for n in range(1, 51))
    events_aws.s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=body)
    env = lambda_env(
        daemon,
        **events_aws.server.env,
        AWS_ENDPOINT_URL=events_aws.server.endpoint_url,
        PREDICTOR_BATCH_SIZE="4",
    )

    finished = run_python(FILE_SCRIPT, bucket, env=env)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().endswith("50")
    names = [s["name"] for s in subsegments(daemon)]
    # 13 chunks, one span: a large file would otherwise send thousands.
    assert [name for name in names if name != "s3"] == ["setup", "predict", "write"]


def test_with_tracing_disabled_nothing_is_sent(daemon: socket.socket) -> None:
    finished = run_python(HTTP_SCRIPT, env=lambda_env(daemon, POWERTOOLS_TRACE_DISABLED="true"))

    assert finished.returncode == 0, finished.stderr
    assert subsegments(daemon) == []
