"""Turn any MODEL_URI form into a local directory for `setup`."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse


class ArtifactsError(RuntimeError):
    """The artifacts cannot be made available; the message says what to check."""


def default_artifacts_uri(predictor_class: type[Any]) -> str:
    module_dir = Path(inspect.getfile(predictor_class)).resolve().parent
    return str(module_dir / predictor_class.default_artifacts)


def resolve_artifacts(uri: str, *, environ: Mapping[str, str] | None = None) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return _local(uri, parsed.path if parsed.scheme else uri)
    raise ArtifactsError(
        f"MODEL_URI={uri!r} has an unsupported scheme {parsed.scheme!r}; "
        "use s3://bucket/prefix/, s3://bucket/model.tar.gz, file:///path or a plain path"
    )


def _local(uri: str, path: str) -> Path:
    directory = Path(unquote(path)).expanduser()
    if not directory.exists():
        raise ArtifactsError(f"MODEL_URI={uri!r}: {directory} does not exist; check the path")
    return directory if directory.is_dir() else directory.parent
