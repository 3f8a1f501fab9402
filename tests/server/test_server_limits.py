"""`predictor serve` under hostile clients, over real sockets: oversized, streamed, stalled and idle.

Each test starts the server process with small limits and timeouts (the settings docs/settings.md
documents), then talks raw HTTP/1.1 to it, since an HTTP client library would not misbehave;
http.client stands for the clients that write a whole body before reading the answer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.paths import FIXTURES
from support.processes import HOST
from support.server_process import ServerProcess

from predictor.server.connections import connection_cap

ECHO = FIXTURES / "echo.py"
MIB = 1024 * 1024
BODY_LIMIT = MIB
# After a refusal the server reads and drops at most this much more of the body.
LINGER_MAX_BYTES = 8 * MIB
FD_LIMIT = 1024
TIMEOUTS = {"PREDICTOR_HEADER_TIMEOUT_S": "1", "PREDICTOR_BODY_TIMEOUT_S": "1", "PREDICTOR_KEEP_ALIVE_S": "1"}
# SageMaker's bound on a body, and the default: at 1 MiB a whole body fits in loopback's socket
# buffers, so a client writing it before reading would get the 413 even without lingering.
DEFAULT_BODY_LIMIT = 6 * MIB
LINGER_S, LINGER_TIMEOUT_S = 3.0, 1.0
LINGER = {"PREDICTOR_LINGER_S": str(LINGER_S), "PREDICTOR_LINGER_TIMEOUT_S": str(LINGER_TIMEOUT_S)}
REQUEST_HEAD = "POST /predict HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        "PREDICTOR_MAX_BODY_BYTES": str(BODY_LIMIT),
        "PREDICTOR_MAX_CONNECTIONS": "200",
        "PREDICTOR_LINGER_MAX_BYTES": str(LINGER_MAX_BYTES),
        **TIMEOUTS,
    }
    with ServerProcess(ECHO, env) as started:
        # As many descriptors as a laptop's default: idle sockets must not be able to use them all.
        resource.prlimit(started.pid, resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
        yield started


@pytest.fixture(scope="module")
def lingering_server() -> Iterator[ServerProcess]:
    """The default body limit and lingering byte bound, with lingering times short enough to wait out."""
    env = {"PREDICTOR_MAX_BODY_BYTES": str(DEFAULT_BODY_LIMIT), **TIMEOUTS, **LINGER}
    with ServerProcess(ECHO, env) as started:
        yield started


def connect(server: ServerProcess, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((HOST, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection; fails the test if it never does."""
    sock.settimeout(timeout)
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk


def server_end_open(server: ServerProcess, client: socket.socket) -> bool:
    """Whether the server process still holds its end of the client's connection."""
    client_port = client.getsockname()[1]
    inodes = set()
    for line in Path(f"/proc/{server.pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = (int(address.split(":")[1], 16) for address in fields[1:3])
        if (local_port, remote_port) == (server.port, client_port):
            inodes.add(f"socket:[{fields[9]}]")
    held = set()
    for fd in Path(f"/proc/{server.pid}/fd").iterdir():
        with contextlib.suppress(FileNotFoundError):  # closed while listing
            held.add(os.readlink(fd))
    return not inodes.isdisjoint(held)


def refused_with_the_rest_to_come(server: ServerProcess) -> tuple[socket.socket, float]:
    """A connection whose 64 MiB body was refused after its first MiB: the 413 and the server's
    FIN have arrived, and the server is lingering. Returns it and when the answer arrived."""
    sock = connect(server)
    sock.sendall(f"{REQUEST_HEAD}Content-Length: {64 * MIB}\r\n\r\n".encode() + b"x" * MIB)
    response = read_until_closed(sock, timeout=5)
    assert status_of(response) == 413, response[:200]
    return sock, time.monotonic()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_declared_oversized_body_gets_413_at_once_and_no_100_continue(server: ServerProcess) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        head = f"{REQUEST_HEAD}Content-Length: {64 * MIB}\r\nExpect: 100-continue\r\n\r\n"
        sock.sendall(head.encode())

        response = read_until_closed(sock, timeout=5)

    assert time.monotonic() - started < 2
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert b"100 Continue" not in response
    problem = json.loads(response.split(b"\r\n\r\n", 1)[1])
    assert problem["detail"] == (
        f"The body is {64 * MIB} bytes, over the limit of {BODY_LIMIT} bytes "
        "(PREDICTOR_MAX_BODY_BYTES, or SAGEMAKER_MAX_PAYLOAD_IN_MB in a SageMaker container); "
        "split the instances across requests"
    )


def test_chunked_body_past_the_limit_is_cut_off_with_413_in_bounded_memory(server: ServerProcess) -> None:
    before = rss_bytes(server.pid)
    chunk = b"x" * 65536
    sent = 0
    with connect(server) as sock:
        sock.sendall(f"{REQUEST_HEAD}Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < 256 * MIB:
                sock.sendall(b"10000\r\n" + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: it stopped reading
        response = read_until_closed(sock, timeout=5)

    assert status_of(response) == 413
    assert sent < 64 * MIB, f"the server read {sent} bytes of a body limited to {BODY_LIMIT}"
    assert rss_bytes(server.pid) - before < 32 * MIB


@pytest.mark.parametrize(
    "size",
    [DEFAULT_BODY_LIMIT + 1, 2 * DEFAULT_BODY_LIMIT, 64 * MIB],
    ids=["limit+1", "twice-the-limit", "64MiB"],
)
def test_a_client_that_writes_the_whole_body_before_reading_gets_the_413(
    lingering_server: ServerProcess, size: int
) -> None:
    # http.client (and so requests, urllib and most SDKs) sends all of the body, then reads: the
    # server must read and drop the rest rather than reset the connection under the answer.
    before = rss_bytes(lingering_server.pid)
    connection = http.client.HTTPConnection(HOST, lingering_server.port, timeout=10)
    try:
        connection.request("POST", "/predict", body=b"x" * size, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Connection") == "close"
    assert response.will_close
    problem = json.loads(body)
    assert problem["status"] == 413
    assert problem["detail"].startswith(
        f"The body is {size} bytes, over the limit of {DEFAULT_BODY_LIMIT} bytes"
    )
    assert rss_bytes(lingering_server.pid) - before < 32 * MIB


def test_a_sender_that_trickles_on_after_the_413_is_cut_off_after_the_linger_time(
    lingering_server: ServerProcess,
) -> None:
    sock, answered = refused_with_the_rest_to_come(lingering_server)
    with sock:
        # A byte every 0.2 s, well inside the linger timeout: only the linger time ends it.
        while server_end_open(lingering_server, sock) and time.monotonic() - answered < LINGER_S + 5:
            sock.send(b"x")
            time.sleep(0.2)
        closed = time.monotonic() - answered
        with pytest.raises(OSError):  # the server's reset to the first byte sent after it closed
            for _ in range(10):
                sock.send(b"x")
                time.sleep(0.05)

    assert LINGER_S - 0.5 < closed < LINGER_S + 1


def test_a_sender_that_stalls_after_the_413_is_cut_off_after_the_linger_timeout(
    lingering_server: ServerProcess,
) -> None:
    sock, answered = refused_with_the_rest_to_come(lingering_server)
    with sock:
        while server_end_open(lingering_server, sock) and time.monotonic() - answered < LINGER_S + 5:
            time.sleep(0.05)
        closed = time.monotonic() - answered

    assert LINGER_TIMEOUT_S - 0.5 < closed < LINGER_TIMEOUT_S + 1


def test_stalled_body_is_answered_408_and_closed_after_the_body_timeout(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(f"{REQUEST_HEAD}Content-Length: 100\r\n\r\n".encode() + b'{"instances": [')
        started = time.monotonic()

        response = read_until_closed(sock, timeout=5)

    assert 0.9 < time.monotonic() - started < 3
    assert status_of(response) == 408
    assert b"No part of the body arrived for 1 s" in response


@pytest.mark.parametrize(
    ("sent", "trickled"),
    [(b"", b"GET"), (b"POST /predict HTTP/1.1\r\nHost: te", b"stx")],
    ids=["nothing-sent", "half-the-headers"],
)
def test_connection_without_complete_headers_is_closed_after_the_header_timeout(
    server: ServerProcess, sent: bytes, trickled: bytes
) -> None:
    with connect(server) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        # Trickling a valid head byte by byte must not keep the connection open: the deadline
        # is for the whole head.
        for byte in trickled:
            time.sleep(0.25)
            sock.sendall(bytes([byte]))

        read_until_closed(sock, timeout=5)

    assert time.monotonic() - started < 3


def test_a_keep_alive_connection_gets_the_whole_header_timeout_for_its_next_request(
    server: ServerProcess,
) -> None:
    body = b'{"instances": [{"x": 1.5, "name": "a"}]}'
    with connect(server) as sock:
        # The connection's first deadline falls 1 s after it opened, while the next request's
        # head is due 1 s after the first answer: it must get that whole second.
        time.sleep(0.7)
        sock.sendall(f"{REQUEST_HEAD}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        sock.settimeout(5)
        first = sock.recv(65536)
        answered = time.monotonic()
        assert status_of(first) == 200, first[:200]
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: te")

        read_until_closed(sock, timeout=5)

    assert 0.8 < time.monotonic() - answered < 3


def test_health_answers_while_thousands_of_idle_connections_are_open(server: ServerProcess) -> None:
    idle: list[socket.socket] = []
    try:
        for _ in range(2000):
            idle.append(connect(server))
        # Give the server time to accept them all before asking.
        time.sleep(0.5)

        response = httpx.get(f"{server.url}/health", timeout=5)

        assert response.status_code == 200
    finally:
        for sock in idle:
            sock.close()
    assert "Traceback" not in server.output()


def test_requests_within_the_limits_are_still_served_after_all_that(server: ServerProcess) -> None:
    body = {"instances": [{"x": 1.5, "name": "a"}]}

    response = httpx.post(f"{server.url}/predict", json=body, headers={"Expect": "100-continue"}, timeout=5)

    assert response.status_code == 200
    assert response.json() == {"predictions": [{"name": "a", "doubled": 3.0}]}


@pytest.mark.parametrize(
    ("setting", "descriptors", "cap"),
    [(1000, 1024, 448), (200, 1024, 200), (1000, resource.RLIM_INFINITY, 1000), (1000, 100, 1)],
)
def test_the_connection_cap_leaves_room_under_the_descriptor_limit(
    setting: int, descriptors: int, cap: int
) -> None:
    assert connection_cap(setting, descriptors) == cap
