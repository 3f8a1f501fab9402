"""What the operator asks of logs, metrics and traces, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from predictor._environ import env, switch

OBSERVABILITY_ENV = "PREDICTOR_OBSERVABILITY"
NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"
LOG_LEVEL_ENVS = ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
PAYLOAD_SAMPLE_ENV = "PREDICTOR_LOG_PAYLOAD_SAMPLE_RATE"
PROMETHEUS_ENV = "PREDICTOR_PROMETHEUS"
TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
DEFAULT_NAMESPACE = "ServerlessPredictor"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class ObservabilitySettings:
    enabled: bool = field(
        default=True,
        metadata=env(
            OBSERVABILITY_ENV,
            "`off`: no request log line, no metrics, no traces (failures are still logged)",
            default="on",
        ),
    )
    namespace: str = field(
        default=DEFAULT_NAMESPACE,
        metadata=env(NAMESPACE_ENV, "the CloudWatch namespace of every metric (EMF)"),
    )
    service: str = field(
        default="predictor",
        metadata=env(SERVICE_ENV, "the `service` of every log line and metric dimension"),
    )
    log_level: str = field(
        default="INFO",
        metadata=env(
            LOG_LEVEL_ENVS[0],
            "level of the JSON log lines: DEBUG, INFO, WARNING, ERROR",
            names=LOG_LEVEL_ENVS,
        ),
    )
    payload_sample_rate: float = field(
        default=0.0,
        metadata=env(
            PAYLOAD_SAMPLE_ENV,
            "for debugging only: the share (0 to 1) of HTTP requests whose body (its first 2 KiB) is "
            "put in their log line; payloads are never logged otherwise",
            default="0",
        ),
    )
    prometheus: bool = field(
        default=False,
        metadata=env(
            PROMETHEUS_ENV,
            "`on`: `predictor serve` also answers `GET /metrics` in Prometheus text",
            default="off",
        ),
    )
    trace_disabled: bool = field(
        default=False,
        metadata=env(
            TRACE_DISABLED_ENV,
            "`true`: no X-Ray subsegments; otherwise they are recorded on Lambda when the "
            "function's tracing is on and `aws-xray-sdk` is installed",
            default="false",
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ObservabilitySettings:
        environ = os.environ if environ is None else environ
        named = next((name for name in LOG_LEVEL_ENVS if environ.get(name)), "")
        level = environ[named].strip().upper() if named else "INFO"
        if level not in LEVELS:
            raise ValueError(f"{named}={environ[named]!r} is not a log level; use one of {', '.join(LEVELS)}")
        return cls(
            enabled=switch(environ, OBSERVABILITY_ENV, True),
            namespace=environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE,
            service=environ.get(SERVICE_ENV) or "predictor",
            log_level=level,
            payload_sample_rate=_rate(environ, PAYLOAD_SAMPLE_ENV),
            prometheus=switch(environ, PROMETHEUS_ENV, False),
            trace_disabled=switch(environ, TRACE_DISABLED_ENV, False),
        )


def _rate(environ: Mapping[str, str], name: str) -> float:
    raw = environ.get(name)
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number; set it between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={raw!r} must be between 0 and 1 (0.01 logs one request in a hundred)")
    return value
