"""CloudWatch embedded metric format, checked line by line against the specification.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
Written from the specification, not from the package: it reads what any EMF producer writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The units the specification allows (CloudWatch's StandardUnit).
UNITS = {
    *("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes"),
    *("Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count"),
    *("Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second"),
    *("Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second"),
    *("Count/Second", "None"),
}
MAX_METRICS = 100
MAX_VALUES = 100
MAX_DIMENSIONS = 30


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    unit: str
    values: list[float]
    dimensions: dict[str, str]


def is_emf(line: str) -> bool:
    return line.startswith("{") and '"_aws"' in line[:12]


def parse(line: str) -> list[Metric]:
    """Every metric one EMF line declares; AssertionError naming the first rule it breaks."""
    document: dict[str, Any] = json.loads(line)
    aws = document["_aws"]
    assert isinstance(aws["Timestamp"], int) and aws["Timestamp"] > 1_600_000_000_000, aws["Timestamp"]
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    metrics: list[Metric] = []
    for directive in directives:
        namespace = directive["Namespace"]
        assert isinstance(namespace, str) and 1 <= len(namespace) <= 255
        dimension_sets = directive["Dimensions"]
        assert isinstance(dimension_sets, list)
        for dimension_set in dimension_sets:
            assert isinstance(dimension_set, list) and len(dimension_set) <= MAX_DIMENSIONS
            for name in dimension_set:
                assert isinstance(document.get(name), str), (
                    f"dimension {name} has no string value at the root"
                )
        named = {name: document[name] for names in dimension_sets for name in names}
        for declared in directive["Metrics"]:
            name = declared["Name"]
            assert isinstance(name, str) and 1 <= len(name) <= 255
            unit = declared.get("Unit", "None")
            assert unit in UNITS, f"{name} has unit {unit!r}"
            value = document[name]  # each metric's value lives at the root
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= MAX_VALUES, f"{name} has {len(values)} values"
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), value
            metrics.append(Metric(namespace, name, unit, [float(v) for v in values], named))
    assert len(metrics) <= MAX_METRICS, f"{len(metrics)} metrics in one line"
    return metrics


def metrics_of(lines: list[str]) -> list[Metric]:
    return [metric for line in lines if is_emf(line) for metric in parse(line)]


def merged(metrics: list[Metric]) -> list[Metric]:
    """One metric per name and dimensions, its values those of every line in order: what CloudWatch
    aggregates from lines that each hold some of a metric's values."""
    found: dict[tuple[str, str, tuple[tuple[str, str], ...]], Metric] = {}
    for metric in metrics:
        key = (metric.namespace, metric.name, tuple(sorted(metric.dimensions.items())))
        if key in found:
            earlier = found[key]
            found[key] = Metric(
                earlier.namespace,
                earlier.name,
                earlier.unit,
                [*earlier.values, *metric.values],
                earlier.dimensions,
            )
        else:
            found[key] = metric
    return list(found.values())


def value(metrics: list[Metric], name: str, **dimensions: str) -> list[float]:
    """The values of the one metric called `name` (with these dimension values) among `metrics`."""
    found = [
        m for m in metrics if m.name == name and all(m.dimensions.get(k) == v for k, v in dimensions.items())
    ]
    assert len(found) == 1, f"{len(found)} metrics named {name} {dimensions} in {metrics}"
    return found[0].values
