"""An S3 body read in chunks by a thread that keeps a few chunks ahead of the records being predicted.

The socket read waits on S3 (and releases the GIL), so reading ahead overlaps the network with
validation and `predict`; the queue bound keeps memory flat however large the object is.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

READ_BYTES = 1024 * 1024
# Chunks read but not yet consumed: at most (AHEAD + 1) * READ_BYTES held at once.
AHEAD = 2
_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Stream:
    """`chunks()` yields the body in order, counting what was read; `close()` stops the reader."""

    def __init__(self, body: Any, read_bytes: int = READ_BYTES, ahead: int = AHEAD) -> None:
        self.body = body
        self.read_bytes = read_bytes
        self.read = 0
        self._ready: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None

    def chunks(self) -> Iterator[bytes]:
        self._reader = threading.Thread(target=self._read_all, name="predictor-s3-read", daemon=True)
        self._reader.start()
        while (item := self._ready.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.exc
            assert isinstance(item, bytes)
            self.read += len(item)
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            # Unblock a reader waiting for room, then let it see the stop.
            while self._reader.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._ready.get(timeout=0.05)
            self._reader = None
        self.body.close()

    def _read_all(self) -> None:
        try:
            while not self._stop.is_set() and (chunk := self.body.read(self.read_bytes)):
                self._put(chunk)
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Failed(exc))

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
