"""s3:// URIs → a complete local directory in the cache."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from predictor.artifacts import _cache, _s3
from predictor.artifacts._download import download, run_all
from predictor.artifacts._errors import ArtifactsError
from predictor.artifacts._layout import Layout, LayoutError, RelativePath
from predictor.artifacts._settings import MODEL_SHA256_ENV, FetchSettings
from predictor.artifacts._transport import ObjectInfo
from predictor.artifacts._uri import S3Location, parse_s3_uri

Progress = Callable[[int], None]
Total = Callable[[int], None]


def fetch_s3(
    uri: str, settings: FetchSettings, total: Total | None = None, progress: Progress | None = None
) -> Path:
    location = parse_s3_uri(uri)
    if location.is_prefix:
        if settings.sha256:
            raise ArtifactsError(
                f"{MODEL_SHA256_ENV} pins one object or archive, but {uri} is a prefix; "
                "point MODEL_URI at a model.tar.gz or unset MODEL_SHA256"
            )
        return _fetch_prefix(location, settings, total, progress)
    return _fetch_object(location, settings, total, progress)


def _fetch_object(
    location: S3Location, settings: FetchSettings, total: Total | None, progress: Progress | None
) -> Path:
    uri = str(location)
    pin = f"sha256={settings.sha256}" if settings.sha256 else ""
    if location.version_id:  # a version never changes: a cached copy needs no check at all
        entry = _cache.entry_dir(settings.cache_dir, "objects", uri, f"{location.version_id} {pin}")
        if entry.is_dir():
            return entry / "model"
    info = _s3.head(location, settings)
    identity = f"{location.version_id or info.etag} {pin}"
    entry = _cache.entry_dir(settings.cache_dir, "objects", uri, identity)
    if entry.is_dir():
        return entry / "model"
    _cache.ensure_space(settings.cache_dir, info.size, uri)
    if total is not None:
        total(info.size)
    with _cache.staging(entry, uri, settings.cache_dir) as stage, _pool(settings) as pool:
        target = stage / "archive" if location.is_archive else stage / "model"
        digest = download(
            location, info, target / location.basename, settings, pool, progress, bool(settings.sha256)
        )
        settings.check_pin(uri, digest)
        if location.is_archive:
            from predictor.artifacts._archive import extract

            extract(target / location.basename, stage / "model", uri, settings)
            (target / location.basename).unlink()
    return entry / "model"


def _fetch_prefix(
    location: S3Location, settings: FetchSettings, total: Total | None, progress: Progress | None
) -> Path:
    uri = str(location)
    objects = _s3.list_prefix(location, settings)
    listing = "\n".join(f"{o.key} {o.etag} {o.size}" for o in sorted(objects, key=lambda o: o.key))
    entry = _cache.entry_dir(settings.cache_dir, "prefixes", uri, listing)
    if entry.is_dir():
        return entry / "model"
    size = sum(o.size for o in objects)
    _cache.ensure_space(settings.cache_dir, size, uri)
    if total is not None:
        total(size)
    paths = _relative_paths(location, objects)
    stage_in = _cache.staging(entry, uri, settings.cache_dir)
    with stage_in as stage, _pool(settings) as pool, _pool(settings) as files:
        root = stage / "model"
        run_all(
            files,
            [
                partial(download, location, info, root.joinpath(*path), settings, pool, progress)
                for info, path in zip(objects, paths, strict=True)
            ],
        )
    return entry / "model"


def _relative_paths(location: S3Location, objects: list[ObjectInfo]) -> list[RelativePath]:
    """Where each key lands below the directory; keys that would land on the same path, on a
    file another key needs as a directory, or outside, are refused by name."""
    layout = Layout(what="key", prefix=location.key)
    try:
        return [layout.claim(info.key, "file") for info in objects]
    except LayoutError as exc:
        raise ArtifactsError(f"{location}: refusing the listing: {exc}; rename the objects") from None


def _pool(settings: FetchSettings) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(settings.concurrency, thread_name_prefix="predictor-fetch")
