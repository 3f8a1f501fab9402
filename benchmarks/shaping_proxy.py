"""A TCP proxy that makes a loopback S3 server look like S3 seen from a Lambda function.

Run as a process, `python benchmarks/shaping_proxy.py --upstream 127.0.0.1:PORT [shaping]`,
it prints `listening on http://127.0.0.1:N` once it accepts connections. It forwards bytes
and never parses HTTP, so it costs little CPU; what it adds:

- a first-byte latency per request: the first byte of each answer is held until
  `--latency-ms` after the first byte of the request that preceded it;
- a cap per connection and a cap for all connections together (`--connection-mbps`,
  `--aggregate-mbps`, in MB/s of 10^6 bytes), each a token bucket on the answer bytes.

Without shaping options it is a plain relay, so its own overhead can be measured.
Standard library only: it starts in milliseconds and imports nothing from the project.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time

SHAPED_CHUNK = 64 * 1024  # fine enough that the caps hold within a few milliseconds
PLAIN_CHUNK = 1024 * 1024
# Lateness a bucket may win back, so scheduler jitter does not lower the rate it grants.
CATCH_UP_S = 0.01
BACKLOG = 128


class TokenBucket:
    """A byte-rate limit as a virtual clock: each chunk is scheduled after the ones before it."""

    def __init__(self, bytes_per_second: float) -> None:
        self.rate = bytes_per_second
        self.lock = threading.Lock()
        self.clock = 0.0

    def wait(self, size: int) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.clock - CATCH_UP_S)
            self.clock = max(self.clock, start) + size / self.rate
        if start > now:
            time.sleep(start - now)


class Shaping:
    def __init__(self, latency_s: float, connection_rate: float | None, aggregate_rate: float | None) -> None:
        self.latency_s = latency_s
        self.connection_rate = connection_rate
        self.aggregate = TokenBucket(aggregate_rate) if aggregate_rate else None

    @property
    def active(self) -> bool:
        return bool(self.latency_s or self.connection_rate or self.aggregate)


class Connection:
    """One client connection and its upstream; a thread pumps each direction."""

    def __init__(self, client: socket.socket, upstream: socket.socket, shaping: Shaping) -> None:
        self.client = client
        self.upstream = upstream
        self.shaping = shaping
        self.bucket = TokenBucket(shaping.connection_rate) if shaping.connection_rate else None
        self.chunk = SHAPED_CHUNK if shaping.active else PLAIN_CHUNK
        # Set when a request starts and cleared by the first byte of its answer.
        self.request_started: float | None = None

    def start(self) -> None:
        threading.Thread(target=self._requests, daemon=True).start()
        threading.Thread(target=self._answers, daemon=True).start()

    def _requests(self) -> None:
        buffer = bytearray(self.chunk)
        view = memoryview(buffer)
        try:
            while count := self.client.recv_into(buffer):
                if self.request_started is None:
                    self.request_started = time.monotonic()
                self.upstream.sendall(view[:count])
        except OSError:
            pass
        _shut_write(self.upstream)

    def _answers(self) -> None:
        buffer = bytearray(self.chunk)
        view = memoryview(buffer)
        latency, aggregate = self.shaping.latency_s, self.shaping.aggregate
        try:
            while count := self.upstream.recv_into(buffer):
                started = self.request_started
                if started is not None:
                    self.request_started = None
                    delay = started + latency - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if self.bucket is not None:
                    self.bucket.wait(count)
                if aggregate is not None:
                    aggregate.wait(count)
                self.client.sendall(view[:count])
        except OSError:
            pass
        _shut_write(self.client)


def _shut_write(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def serve(listener: socket.socket, upstream: tuple[str, int], shaping: Shaping) -> None:
    while True:
        client, _ = listener.accept()
        try:
            remote = socket.create_connection(upstream, timeout=30)
        except OSError:
            client.close()
            continue
        remote.settimeout(None)
        for sock in (client, remote):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Connection(client, remote, shaping).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the S3 server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="first-byte latency per request")
    parser.add_argument("--connection-mbps", type=float, default=0.0, help="MB/s per connection (0: none)")
    parser.add_argument("--aggregate-mbps", type=float, default=0.0, help="MB/s in all (0: none)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    shaping = Shaping(
        args.latency_ms / 1000,
        args.connection_mbps * 1e6 or None,
        args.aggregate_mbps * 1e6 or None,
    )
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(BACKLOG)
    print(f"listening on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    serve(listener, (host or "127.0.0.1", int(port)), shaping)


if __name__ == "__main__":
    main()
