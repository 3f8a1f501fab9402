"""Request limits, set by argument or by environment variable (the argument wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from predictor._environ import env, positive_number

MAX_BODY_BYTES_ENV = "PREDICTOR_MAX_BODY_BYTES"
MAX_INSTANCES_ENV = "PREDICTOR_MAX_INSTANCES"
# How many instances one `predict` call takes at most, on every transport: chunks of an event's
# records, batches the server forms. It bounds what the model holds in memory at once.
BATCH_SIZE_ENV = "PREDICTOR_BATCH_SIZE"
DEFAULT_BATCH_SIZE = 256
# SageMaker's own bound on an invocation body, in MB; PREDICTOR_MAX_BODY_BYTES wins over it.
SAGEMAKER_MAX_PAYLOAD_ENV = "SAGEMAKER_MAX_PAYLOAD_IN_MB"

# Lambda's synchronous invocation payload limit.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_INSTANCES = 1000


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = field(
        default=DEFAULT_MAX_BODY_BYTES,
        metadata=env(
            MAX_BODY_BYTES_ENV,
            "413 beyond: a request body, or on events a line, CSV row or `.json` file; when it is "
            "unset, `SAGEMAKER_MAX_PAYLOAD_IN_MB` (in MB) sets it. The default is Lambda's payload limit",
            names=(MAX_BODY_BYTES_ENV, SAGEMAKER_MAX_PAYLOAD_ENV),
        ),
    )
    max_instances: int = field(
        default=DEFAULT_MAX_INSTANCES,
        metadata=env(
            MAX_INSTANCES_ENV, "413 beyond: instances in one request, counted before any is validated"
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Limits:
        environ = os.environ if environ is None else environ
        payload_mb = positive_number(environ, SAGEMAKER_MAX_PAYLOAD_ENV, 0.0)
        default_body = int(payload_mb * 1024 * 1024) if payload_mb else DEFAULT_MAX_BODY_BYTES
        return cls(
            max_body_bytes=positive_number(environ, MAX_BODY_BYTES_ENV, default_body),
            max_instances=positive_number(environ, MAX_INSTANCES_ENV, DEFAULT_MAX_INSTANCES),
        )
