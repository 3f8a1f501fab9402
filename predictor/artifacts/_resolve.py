"""Turn any MODEL_URI form into a local directory for `setup`."""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from predictor.artifacts import _cache
from predictor.artifacts._errors import ArtifactsError
from predictor.artifacts._prefetch import take_prefetch
from predictor.artifacts._settings import MODEL_SHA256_ENV, FetchSettings
from predictor.artifacts._uri import ARCHIVE_SUFFIXES


def default_artifacts_uri(predictor_class: type[Any]) -> str:
    module_dir = Path(inspect.getfile(predictor_class)).resolve().parent
    return str(module_dir / predictor_class.default_artifacts)


def resolve_artifacts(
    uri: str,
    *,
    environ: Mapping[str, str] | None = None,
    total: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """A local directory holding the artifacts `uri` names, complete and verified."""
    environ = os.environ if environ is None else environ
    try:
        settings = FetchSettings.from_environ(environ)
    except ValueError as exc:
        raise ArtifactsError(str(exc)) from None
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        prefetched = take_prefetch(uri, settings)
        if prefetched is not None:  # already under way: join it rather than fetch twice
            return prefetched.result()
        from predictor.artifacts._s3_fetch import fetch_s3

        return fetch_s3(uri, settings, total, progress)
    if parsed.scheme in ("", "file"):
        return _local(uri, Path(unquote(parsed.path if parsed.scheme else uri)).expanduser(), settings)
    raise ArtifactsError(
        f"MODEL_URI={uri!r} has an unsupported scheme {parsed.scheme!r}; "
        "use s3://bucket/prefix/, s3://bucket/model.tar.gz, file:///path or a plain path"
    )


def _local(uri: str, path: Path, settings: FetchSettings) -> Path:
    if not path.exists():
        raise ArtifactsError(f"MODEL_URI={uri!r}: {path} does not exist; check the path")
    if path.is_dir():
        if settings.sha256:
            raise ArtifactsError(f"{MODEL_SHA256_ENV} pins one file or archive, but {uri} is a directory")
        return path
    if settings.sha256:
        settings.check_pin(uri, _sha256_file(path))
    if not path.name.endswith(ARCHIVE_SUFFIXES):
        return path.parent
    stat = path.stat()
    identity = f"{stat.st_size} {stat.st_mtime_ns}"
    entry = _cache.entry_dir(settings.cache_dir, "archives", str(path.resolve()), identity)
    if not entry.is_dir():
        from predictor.artifacts._archive import extract

        _cache.ensure_space(settings.cache_dir, stat.st_size, uri)
        with _cache.staging(entry, uri, settings.cache_dir) as stage:
            extract(path, stage / "model", uri, settings)
    return entry / "model"


def _sha256_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
