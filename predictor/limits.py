"""Request limits, set by argument or by environment variable (the argument wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from predictor._environ import positive_number

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
            max_body_bytes=positive_number(environ, MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES),
            max_instances=positive_number(environ, MAX_INSTANCES_ENV, DEFAULT_MAX_INSTANCES),
        )
