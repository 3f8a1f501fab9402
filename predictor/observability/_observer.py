"""The observer: one JSON log line per request or record batch, its metrics, and trace spans.

Built once per runtime (None when PREDICTOR_OBSERVABILITY=off). Everything a line needs is
gathered in an `Observation` while the request runs and written once at its end, so the hot
path pays for one log call and its metrics, nothing per instance. On Lambda each invocation
writes its own EMF line; a server gathers its requests' metrics into few lines (`gather_metrics`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from predictor._environ import on_lambda
from predictor._log import logger
from predictor.observability._emf import EmfWriter, MetricValues
from predictor.observability._metric_batches import MetricBatches
from predictor.observability._observation import Observation
from predictor.observability._settings import ObservabilitySettings

_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()


def _stdout(line: str) -> None:
    # Looked up at each call: `predictor invoke` redirects standard output while it runs.
    sys.stdout.write(line + "\n")


class Observer:
    def __init__(
        self, settings: ObservabilitySettings, model: str, version: str, environ: Mapping[str, str]
    ) -> None:
        self.settings = settings
        self.model, self.version = model, version
        self.logger = logger()
        self.logger.append_keys(
            service=settings.service,
            model=model,
            model_version=version,
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        )
        self.emf = EmfWriter(settings.namespace, {"service": settings.service, "model": model})
        #: Where EMF lines go; CloudWatch Logs extracts them from the function's (or container's) output.
        self.write: Callable[[str], None] = _stdout
        self.cold = True
        #: Init's figures (artifact fetch, setup), sent once, with the first line.
        self.init_metrics: MetricValues = {}
        self._tracer = _tracer(settings, on_lambda(environ))
        #: Set by `gather_metrics`: the server's requests share EMF lines.
        self.batches: MetricBatches | None = None
        self.prometheus: Any = None
        if settings.prometheus:
            from predictor.observability.prometheus import PrometheusMetrics

            self.prometheus = PrometheusMetrics(model)

    @property
    def tracing(self) -> bool:
        return self._tracer is not None

    def span(self, name: str) -> AbstractContextManager[Any]:
        """An X-Ray subsegment when tracing is on; otherwise nothing at all."""
        return _NO_SPAN if self._tracer is None else self._tracer.provider.in_subsegment(name)

    def begin(
        self,
        source: str,
        request_id: str,
        function_request_id: str | None = None,
        *,
        one_request: bool = True,
    ) -> Observation:
        rate = self.settings.payload_sample_rate
        return Observation(
            source,
            request_id,
            time.perf_counter(),
            function_request_id,
            sample_payload=bool(rate) and random.random() < rate,
            one_request=one_request,
        )

    def gather_metrics(self) -> None:
        """Write metrics as a server should: many requests' values per EMF line (see MetricBatches),
        not a line per request. Call `flush` before the process ends."""
        if self.batches is None:
            self.batches = MetricBatches(self.emf, self._write, {"model_version": self.version})

    def flush(self) -> None:
        """Write the metrics still gathered."""
        if self.batches is not None:
            self.batches.flush()

    def batch_predicted(self, size: int, seconds: float) -> None:
        """One `predict` call a server's batcher made for several requests: its size and time."""
        if self.batches is not None:
            metrics: MetricValues = {
                "PredictLatency": ("Milliseconds", [seconds * 1000]),
                "BatchSize": ("Count", [float(size)]),
            }
            self.batches.add(metrics, requests=0)

    def _write(self, line: str) -> None:
        # Looked up at each call: tests and `predictor invoke` replace `write`.
        self.write(line)

    def init_done(self, fetch_s: float | None, artifact_bytes: int | None, setup_s: float) -> None:
        if fetch_s is not None:
            self.init_metrics["ArtifactFetchSeconds"] = ("Seconds", [fetch_s])
        if artifact_bytes is not None:
            self.init_metrics["ArtifactBytes"] = ("Bytes", [float(artifact_bytes)])
        self.init_metrics["SetupSeconds"] = ("Seconds", [setup_s])

    def finish(self, observation: Observation) -> None:
        """Write the observation's log line and metrics."""
        latency_ms = (time.perf_counter() - observation.started) * 1000
        cold, self.cold = self.cold, False
        metrics: MetricValues = {
            "Requests": ("Count", [1.0]),
            "Latency": ("Milliseconds", [latency_ms]),
            "Instances": ("Count", [float(observation.instances)]),
            "InvalidInstances": ("Count", [float(observation.invalid)]),
        }
        if observation.batch_sizes:
            metrics["PredictLatency"] = ("Milliseconds", [observation.predict_s * 1000])
            metrics["BatchSize"] = ("Count", observation.batch_sizes)
        if observation.counts_records:
            metrics["RecordsPredicted"] = ("Count", [float(observation.predicted_records)])
            metrics["RecordsInvalid"] = ("Count", [float(observation.invalid_records)])
            metrics["RecordsFailed"] = ("Count", [float(observation.failed_records)])
        if observation.failed_files:
            metrics["FilesFailed"] = ("Count", [float(observation.failed_files)])
        if cold:
            metrics["ColdStart"] = ("Count", [1.0])
            metrics.update(self.init_metrics)
        tags: dict[str, str] = {}
        for context in observation.contexts:
            tags.update(context.tags)
            for name, (_, unit, values) in context.metrics.items():
                found = metrics.get(name)
                metrics[name] = (unit, [*found[1], *values]) if found else (unit, values)
        status = observation.status
        error_status = status if status >= 400 else None
        if self.batches is not None:
            self.batches.add(metrics, error_status)
        else:
            metadata = {"request_id": observation.request_id, "model_version": self.version}
            for line in self.emf.lines(metrics, metadata, error_status):
                self.write(line)
        if self.prometheus is not None:
            self.prometheus.observe(observation, latency_ms, metrics)
        self.log_line(observation, latency_ms, cold, tags)

    def log_line(self, observation: Observation, latency_ms: float, cold: bool, tags: dict[str, str]) -> None:
        fields: dict[str, Any] = {
            "request_id": observation.request_id,
            "cold_start": cold,
            "source": observation.source,
            "status": observation.status,
            "instances": observation.instances,
            "invalid_instances": observation.invalid,
            "latency_ms": round(latency_ms, 3),
        }
        if observation.function_request_id is not None:
            fields["function_request_id"] = observation.function_request_id
        if observation.method is not None:
            fields["method"], fields["path"] = observation.method, observation.path
        if observation.batch_sizes:
            fields["predict_ms"] = round(observation.predict_s * 1000, 3)
            fields["batches"] = len(observation.batch_sizes)
        if observation.counts_records:
            fields["records"] = {
                "predicted": observation.predicted_records,
                "invalid": observation.invalid_records,
                "failed": observation.failed_records,
            }
        if observation.failed_files:
            fields["failed_files"] = observation.failed_files
        if tags:
            fields["tags"] = tags
        if observation.payload is not None:
            fields["payload"] = observation.payload
        self.logger.info("request", extra=fields)


def _tracer(settings: ObservabilitySettings, lambda_function: bool) -> Any:
    """Powertools' Tracer on Lambda, unless disabled, when the X-Ray SDK is installed (Powertools
    then records subsegments only while the function's tracing is on)."""
    if settings.trace_disabled or not lambda_function:
        return None
    if importlib.util.find_spec("aws_xray_sdk") is None:
        logger().warning("tracing is on but aws-xray-sdk is not installed: no subsegments are recorded")
        return None
    from aws_lambda_powertools import Tracer

    from predictor._aws_clients import before_first_client

    # Only botocore is patched (the S3 and SQS calls events make): patching every library the X-Ray
    # SDK knows imports each one found, which cost 0.3 s of init here. And only once the function
    # makes its first AWS client: patching imports botocore, about 0.18 s of a cold start, which an
    # HTTP function reading its artifacts without boto3 would otherwise pay for nothing.
    tracer = Tracer(service=settings.service, auto_patch=False)
    before_first_client(lambda: tracer.patch(("botocore",)))
    return tracer
