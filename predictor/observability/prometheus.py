"""Prometheus text at `GET /metrics` (PREDICTOR_PROMETHEUS=on), for the image run outside AWS.

Aggregated in memory per worker process: counters since start and a latency histogram, the
same figures the EMF lines carry, plus the predictor's own counters and gauges.
"""

from __future__ import annotations

import re
from collections import defaultdict

from predictor.observability._emf import MetricValues
from predictor.observability._observation import Observation

LATENCY_BUCKETS_MS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)
_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


class PrometheusMetrics:
    def __init__(self, model: str) -> None:
        self.model = _label(model)
        self.requests: dict[int, int] = defaultdict(int)
        self.buckets = [0] * len(LATENCY_BUCKETS_MS)
        self.latency_sum_s = 0.0
        self.latency_count = 0
        self.instances = self.invalid = 0
        self.own_counters: dict[str, float] = defaultdict(float)
        self.own_gauges: dict[str, float] = {}

    def observe(self, observation: Observation, latency_ms: float, metrics: MetricValues) -> None:
        self.requests[observation.status] += 1
        for index, bound in enumerate(LATENCY_BUCKETS_MS):
            if latency_ms <= bound:
                self.buckets[index] += 1
        self.latency_sum_s += latency_ms / 1000
        self.latency_count += 1
        self.instances += observation.instances
        self.invalid += observation.invalid
        for context in observation.contexts:
            for name, (kind, _, values) in context.metrics.items():
                metric = "predictor_own_" + _UNSAFE.sub("_", name)
                if kind == "gauge":
                    self.own_gauges[metric] = values[-1]
                else:
                    self.own_counters[metric + "_total"] += sum(values)

    def render(self) -> bytes:
        model = f'model="{self.model}"'
        lines = ["# TYPE predictor_requests_total counter"]
        lines += [
            f'predictor_requests_total{{{model},status="{status}"}} {count}'
            for status, count in sorted(self.requests.items())
        ]
        lines.append("# TYPE predictor_request_duration_seconds histogram")
        for bound, count in zip(LATENCY_BUCKETS_MS, self.buckets, strict=True):
            lines.append(
                f'predictor_request_duration_seconds_bucket{{{model},le="{bound / 1000:g}"}} {count}'
            )
        lines.append(f'predictor_request_duration_seconds_bucket{{{model},le="+Inf"}} {self.latency_count}')
        lines.append(f"predictor_request_duration_seconds_sum{{{model}}} {self.latency_sum_s:.6f}")
        lines.append(f"predictor_request_duration_seconds_count{{{model}}} {self.latency_count}")
        lines.append("# TYPE predictor_instances_total counter")
        lines.append(f"predictor_instances_total{{{model}}} {self.instances}")
        lines.append("# TYPE predictor_invalid_instances_total counter")
        lines.append(f"predictor_invalid_instances_total{{{model}}} {self.invalid}")
        for name, total in sorted(self.own_counters.items()):
            lines += [f"# TYPE {name} counter", f"{name}{{{model}}} {total:g}"]
        for name, value in sorted(self.own_gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name}{{{model}}} {value:g}"]
        return ("\n".join(lines) + "\n").encode()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
