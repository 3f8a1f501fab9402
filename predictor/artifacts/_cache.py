"""The on-disk cache: entries appear whole (a staging directory renamed) or not at all."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from predictor.artifacts._errors import ArtifactsError
from predictor.artifacts._settings import CACHE_DIR_ENV, MIB

# Room kept free beyond the artifacts themselves, for the runtime's own /tmp use.
HEADROOM_BYTES = 16 * MIB


def entry_dir(cache_dir: Path, kind: str, source: str, identity: str) -> Path:
    """`kind/<hash of source>/<identity>`: one source, one directory per version of it."""
    slug = hashlib.sha256(source.encode()).hexdigest()[:24]
    name = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return cache_dir / kind / slug / name


def ensure_space(cache_dir: Path, needed: int, uri: str) -> None:
    make_directory(cache_dir, cache_dir, uri)
    if not os.access(cache_dir, os.W_OK | os.X_OK):  # before free space: a read-only mount shows none
        raise ArtifactsError(_not_writable(uri, cache_dir, cache_dir, "not writable"))
    free = shutil.disk_usage(cache_dir).free
    if free < needed + HEADROOM_BYTES:
        raise ArtifactsError(not_enough_space(uri, cache_dir, needed, free))


def not_enough_space(uri: str, cache_dir: Path, needed: int | None, free: int) -> str:
    need = f"needs {needed / MIB:.0f} MiB" if needed is not None else "ran out of space"
    return (
        f"{uri} {need} in {cache_dir} but only {free / MIB:.0f} MiB are free; raise the "
        "function's ephemeral storage (EphemeralStorage Size in template.yaml, up to 10240 MB) "
        f"or point {CACHE_DIR_ENV} at a larger filesystem"
    )


def make_directory(path: Path, cache_dir: Path, uri: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactsError(cache_failure(uri, cache_dir, path, exc)) from exc


def cache_failure(uri: str, cache_dir: Path, path: Path, exc: OSError) -> str:
    """What to say when the cache cannot be written: out of space, or not a writable directory."""
    if exc.errno == errno.ENOSPC:
        return not_enough_space(uri, cache_dir, None, shutil.disk_usage(cache_dir).free)
    return _not_writable(uri, cache_dir, path, exc.strerror or str(exc))


def _not_writable(uri: str, cache_dir: Path, path: Path, reason: str) -> str:
    return (
        f"{uri}: cannot write {path} ({reason}); "
        f"point {CACHE_DIR_ENV} (now {cache_dir}) at a writable directory"
    )


@contextmanager
def staging(entry: Path, uri: str, cache_dir: Path) -> Iterator[Path]:
    """A private directory that becomes `entry` only if the block completes."""
    parent = entry.parent
    make_directory(parent, cache_dir, uri)
    stage = parent / f".staging-{uuid.uuid4().hex[:12]}"
    make_directory(stage, cache_dir, uri)
    try:
        yield stage
        try:
            os.rename(stage, entry)
        except OSError as exc:
            if not entry.is_dir():  # another process completed the same entry first: keep theirs
                raise ArtifactsError(f"{uri}: cannot move the download into {entry}: {exc}") from exc
        else:
            _evict_siblings(entry)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            free = shutil.disk_usage(parent).free
            raise ArtifactsError(not_enough_space(uri, parent, None, free)) from exc
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _evict_siblings(entry: Path) -> None:
    """Older versions of the same source only take /tmp space once a newer one is whole."""
    for sibling in entry.parent.iterdir():
        if sibling != entry and not sibling.name.startswith(".staging-"):
            shutil.rmtree(sibling, ignore_errors=True)
