"""Request limits, set by argument or by environment variable (the argument wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY_BYTES_ENV = "PREDICTOR_MAX_BODY_BYTES"
MAX_INSTANCES_ENV = "PREDICTOR_MAX_INSTANCES"

# Lambda's synchronous invocation payload limit.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_INSTANCES = 1000


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_instances: int = DEFAULT_MAX_INSTANCES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Limits:
        environ = os.environ if environ is None else environ
        return cls(
            max_body_bytes=_positive_int(environ, MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES),
            max_instances=_positive_int(environ, MAX_INSTANCES_ENV, DEFAULT_MAX_INSTANCES),
        )


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer; set it to a positive number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value
