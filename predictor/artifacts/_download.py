"""Fetch objects to disk: parallel byte ranges, streamed, pinned to one ETag, never half-written."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from predictor.artifacts._cache import cache_failure
from predictor.artifacts._errors import ArtifactsError, RetryableFetchError
from predictor.artifacts._s3 import transport, with_retries
from predictor.artifacts._settings import MIB, FetchSettings
from predictor.artifacts._transport import ObjectInfo
from predictor.artifacts._uri import S3Location

T = TypeVar("T")
Progress = Callable[[int], None]
CHUNK_BYTES = 1 * MIB


@dataclass
class _OrderedHasher:
    """Hashes a file's ranges in order as they complete, overlapping the download."""

    fd: int
    ranges: list[tuple[int, int]]
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    _done: set[int] = field(default_factory=set)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def completed(self, index: int) -> None:
        with self._lock:
            self._done.add(index)
            while self._next in self._done:
                start, end = self.ranges[self._next]
                offset = start
                while offset <= end:
                    chunk = os.pread(self.fd, min(4 * MIB, end + 1 - offset), offset)
                    self.digest.update(chunk)
                    offset += len(chunk)
                self._next += 1


def temporary_name(path: Path) -> Path:
    # Not derived from the name: a key of 234-255 bytes plus a suffix would pass NAME_MAX.
    return path.with_name(f".partial-{uuid.uuid4().hex[:12]}")


class _Skipped(Exception):
    """A call not started because another had already failed."""


def run_all(pool: ThreadPoolExecutor, calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls` on `pool`; once one fails, none of the rest starts, and the first failure
    is raised only after the running ones end, so none outlives what it writes into."""
    failed = threading.Event()

    def guarded(call: Callable[[], T]) -> T:
        if failed.is_set():
            raise _Skipped
        try:
            return call()
        except BaseException:
            failed.set()  # before this worker can take the next call
            raise

    futures = [pool.submit(guarded, call) for call in calls]
    wait(futures, return_when=FIRST_EXCEPTION)
    if failed.is_set():
        wait(futures)
        raise next(
            error
            for error in (future.exception() for future in futures)
            if error is not None and not isinstance(error, _Skipped)
        )
    return [future.result() for future in futures]


def download(
    location: S3Location,
    info: ObjectInfo,
    destination: Path,
    settings: FetchSettings,
    pool: ThreadPoolExecutor,
    progress: Progress | None = None,
    want_sha256: bool = False,
) -> str | None:
    """Download one object to `destination` (renamed into place only when whole).

    Returns the sha256 hex digest when asked for it.
    """
    unfinished = temporary_name(destination)
    ranges = [
        (start, min(start + settings.part_bytes, info.size) - 1)
        for start in range(0, info.size, settings.part_bytes)
    ]
    hasher: _OrderedHasher | None = None
    with _local_failures(location, info, destination, settings):
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(unfinished, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        try:
            os.ftruncate(fd, info.size)
            if want_sha256:
                hasher = _OrderedHasher(os.open(unfinished, os.O_RDONLY), ranges)
            run_all(
                pool,
                [
                    partial(
                        _fetch_range, location, info, settings, destination, fd, index, part, hasher, progress
                    )
                    for index, part in enumerate(ranges)
                ],
            )
        finally:
            os.close(fd)
            if hasher is not None:
                os.close(hasher.fd)
        with _local_failures(location, info, destination, settings):
            os.replace(unfinished, destination)
    except BaseException:
        unfinished.unlink(missing_ok=True)
        raise
    return None if hasher is None else hasher.digest.hexdigest()


@contextmanager
def _local_failures(
    location: S3Location, info: ObjectInfo, path: Path, settings: FetchSettings
) -> Iterator[None]:
    """A failure of the local disk is final, never retried like a network fault, and says what to change."""
    try:
        yield
    except OSError as exc:
        what = f"{location} (key {info.key!r})" if location.key != info.key else str(location)
        raise ArtifactsError(cache_failure(what, settings.cache_dir, path, exc)) from exc


def _fetch_range(
    location: S3Location,
    info: ObjectInfo,
    settings: FetchSettings,
    where_to: Path,
    fd: int,
    index: int,
    part: tuple[int, int],
    hasher: _OrderedHasher | None,
    progress: Progress | None,
) -> None:
    start, end = part
    s3 = transport(settings)
    # One buffer per range, filled in place: no allocation or copy per chunk.
    buffer = memoryview(bytearray(min(CHUNK_BYTES, end + 1 - start)))

    def attempt() -> None:
        body = s3.get(location.bucket, info.key, info.version_id, (start, end), info.etag)
        offset = start
        try:
            while offset <= end:
                count = body.readinto(buffer[: end + 1 - offset])
                if not count:
                    raise RetryableFetchError(f"body truncated at byte {offset} of range {start}-{end}")
                with _local_failures(location, info, where_to, settings):
                    os.pwrite(fd, buffer[:count], offset)
                offset += count
                if progress is not None:
                    progress(count)
        except Exception:
            if progress is not None and offset > start:
                progress(start - offset)  # the retry reports these bytes again
            raise
        finally:
            body.close()

    where = S3Location(location.bucket, info.key, info.version_id)
    with_retries("download", where, settings, attempt)
    if hasher is not None:
        hasher.completed(index)
