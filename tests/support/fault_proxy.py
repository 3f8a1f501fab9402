"""A fault-injecting HTTP proxy for an S3 server: 503 SlowDown, connection resets, stalls, truncated bodies.

Run as a process, `python -m support.fault_proxy --upstream http://127.0.0.1:PORT` from tests/, it prints
`listening on http://127.0.0.1:N` once it accepts connections and forwards every request to the upstream.
Tests set faults and read the request log through `/__faults__/...` routes (no S3 bucket name can start
with "_"), using the `FaultProxy` client below. Standard library only, so it starts in milliseconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from support.paths import TESTS
from support.processes import stop

CONTROL = "/__faults__/"
FAULTS = ("slowdown", "error", "reset", "stall", "stall_body", "truncate", "delay")
HOP_BY_HOP = frozenset(
    ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]
)
START_TIMEOUT_S = 10.0
UPSTREAM_TIMEOUT_S = 60.0
CHUNK = 1 << 16


@dataclass
class Rule:
    """Answer matching requests with `fault` `times` times (None: always), then pass them through."""

    fault: str
    times: int | None = 1
    methods: list[str] = field(default_factory=lambda: ["GET"])
    path: str = ""  # a regular expression searched in the request path and query
    status: int = 503  # for "error"; "slowdown" is 503 SlowDown
    code: str = "SlowDown"
    keep_bytes: int | None = None  # for "truncate"/"stall_body": body bytes sent first (default: half)
    stall_s: float = 30.0  # for "stall"/"stall_body": how long before the connection is dropped;
    # for "delay": how long the request is held before it is passed through
    used: int = 0

    def matches(self, method: str, target: str) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        return method in self.methods and re.search(self.path, target) is not None


@dataclass
class Record:
    method: str
    path: str
    range: str | None
    fault: str | None
    started: float
    finished: float | None = None


class State:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.lock = threading.Lock()
        self.rules: list[Rule] = []
        self.log: list[Record] = []
        self.release = threading.Event()

    def admit(self, method: str, target: str, range_: str | None) -> tuple[Rule | None, Record]:
        with self.lock:
            rule = next((r for r in self.rules if r.matches(method, target)), None)
            if rule is not None:
                rule.used += 1
            record = Record(method, target, range_, rule.fault if rule else None, time.monotonic())
            self.log.append(record)
            return rule, record

    def reset(self, rules: list[Rule]) -> None:
        with self.lock:
            self.rules = rules
            self.log = []
            # Wake every stalled connection so it closes instead of lingering into the next test.
            self.release.set()
            self.release = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _serve(self) -> None:
        state = self.server.state
        body = self._read_body()
        if self.path.startswith(CONTROL):
            self._control(body)
            return
        rule, record = state.admit(self.command, self.path, self.headers.get("Range"))
        release = state.release
        try:
            if rule is not None and rule.fault == "delay":
                release.wait(rule.stall_s)
                self._forward(body, None, release)
            elif rule is None or rule.fault in ("truncate", "stall_body"):
                self._forward(body, rule, release)
            elif rule.fault == "reset":
                self._reset()
            elif rule.fault == "stall":
                release.wait(rule.stall_s)
                self.close_connection = True
            else:
                self._error(rule)
        finally:
            record.finished = time.monotonic()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes, rule: Rule | None, release: threading.Event) -> None:
        """Pass the request on; with a truncate or stall_body rule, send only part of the answer's body."""
        state = self.server.state
        upstream = http.client.HTTPConnection(
            state.upstream_host, state.upstream_port, timeout=UPSTREAM_TIMEOUT_S
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
                headers["Content-Length"] = str(len(body))
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = None if response.getheader("Content-Length") else response.read()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and not (
                    payload is not None and name.lower() == "content-length"
                ):
                    self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command == "HEAD" or response.status in (204, 304):
                return
            length = len(payload) if payload is not None else int(response.getheader("Content-Length") or 0)
            if rule is None:
                self._copy(response, payload, length)
                return
            keep = length // 2 if rule.keep_bytes is None else rule.keep_bytes
            self._copy(response, payload, min(length - 1, keep))
            if rule.fault == "stall_body":
                release.wait(rule.stall_s)
            self.close_connection = True
        finally:
            upstream.close()

    def _copy(self, response: http.client.HTTPResponse, payload: bytes | None, count: int) -> None:
        if payload is not None:
            self.wfile.write(payload[:count])
            return
        while count > 0:
            chunk = response.read(min(CHUNK, count))
            if not chunk:
                break
            self.wfile.write(chunk)
            count -= len(chunk)

    def _error(self, rule: Rule) -> None:
        code = "SlowDown" if rule.fault == "slowdown" else rule.code
        status = 503 if rule.fault == "slowdown" else rule.status
        message = (
            "Please reduce your request rate." if code == "SlowDown" else "We encountered an internal error."
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<Resource>{escape(urlsplit(self.path).path)}</Resource><RequestId>FAULTPROXY</RequestId></Error>"
        ).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        # A HEAD answer carries no body; S3 still sends the status.
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self) -> None:
        # Linger 0 makes close() send RST; the read buffer holds a reference to the socket, close it too.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def _control(self, body: bytes) -> None:
        state = self.server.state
        command = self.path[len(CONTROL) :]
        if command == "rules" and self.command == "POST":
            state.reset([Rule(**rule) for rule in json.loads(body)["rules"]])
            answer: Any = {"ok": True}
        elif command == "log" and self.command == "GET":
            with state.lock:
                answer = {"requests": [asdict(r) for r in state.log]}
        else:
            self.send_error(404, f"no control route {self.command} {self.path}")
            return
        data = json.dumps(answer).encode()
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    # Parallel range downloads open many connections at once; the default backlog of 5 would drop some.
    request_queue_size = 128
    state: State


class FaultProxy:
    """Test-side handle on a proxy process: set faults, read which requests it saw, stop it."""

    def __init__(self, process: subprocess.Popen[bytes], endpoint_url: str) -> None:
        self._process = process
        self.endpoint_url = endpoint_url

    @classmethod
    def start(cls, upstream: str) -> FaultProxy:
        process = subprocess.Popen(
            [sys.executable, "-m", "support.fault_proxy", "--upstream", upstream],
            cwd=TESTS,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        # The child prints its address once bound; a thread bounds the wait for that line.
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = lines[0].decode() if lines else ""
        if not line.startswith("listening on "):
            process.kill()
            process.wait(5)
            raise RuntimeError(f"fault proxy did not start within {START_TIMEOUT_S}s: {line!r}")
        return cls(process, line.removeprefix("listening on ").strip())

    def inject(self, fault: str, times: int | None = 1, **options: Any) -> None:
        """Replace the faults with one rule and clear the log; see `Rule` for the options."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        self.set_rules([{"fault": fault, "times": times, **options}])

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        self._call("rules", {"rules": rules})

    def reset(self) -> None:
        """No faults, an empty log, and every stalled connection released."""
        self.set_rules([])

    def requests(self, method: str | None = None, path: str = "") -> list[Record]:
        """The requests seen since the last reset, optionally one method's, whose path matches `path`."""
        records = [Record(**r) for r in self._call("log")["requests"]]
        return [
            r
            for r in records
            if (method is None or r.method == method) and re.search(path, r.path) is not None
        ]

    def _call(self, command: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.endpoint_url + CONTROL + command, data=data)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def close(self) -> None:
        stop(self._process)
        if self._process.stdout is not None:
            self._process.stdout.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="base URL of the server to forward to")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ProxyServer(("127.0.0.1", args.port), Handler)
    server.state = State(args.upstream)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
