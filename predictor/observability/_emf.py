"""CloudWatch embedded metric format lines, serialized by Powertools' EMF provider.

One line holds at most 100 metrics, each with at most 100 values (the EMF limits); a line
with more is split. Errors are counted under a second directive whose dimensions add the
HTTP status, so an alarm can watch 5xx apart from 4xx.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
        AmazonCloudWatchEMFProvider,
    )

MAX_METRICS = 100
MAX_VALUES = 100
#: CloudWatch's units, as EMF spells them (Powertools' MetricUnit; a test holds the two equal).
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
        "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
        "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip

#: name -> (unit, values)
MetricValues = dict[str, tuple[str, list[float]]]


class EmfWriter:
    """Serializes metric sets for one namespace and one set of dimensions (service, model)."""

    def __init__(self, namespace: str, dimensions: Mapping[str, str]) -> None:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
            AmazonCloudWatchEMFProvider,
        )

        self.namespace = namespace
        self.dimensions = dict(dimensions)
        self._provider: AmazonCloudWatchEMFProvider = AmazonCloudWatchEMFProvider(namespace=namespace)

    def lines(
        self,
        metrics: MetricValues,
        metadata: Mapping[str, Any],
        error_status: int | None = None,
        *,
        errors: int = 1,
    ) -> Iterator[str]:
        """The EMF lines for `metrics`; with `error_status`, the first also counts `errors` errors
        (one value each) under dimensions (service, model, status)."""
        names = list(metrics)
        for start in range(0, len(names), MAX_METRICS - 1):  # one place left for Errors
            chunk = {
                name: {"Unit": metrics[name][0], "StorageResolution": 60, "Value": _bounded(metrics[name][1])}
                for name in names[start : start + MAX_METRICS - 1]
            }
            document = self._provider.serialize_metric_set(
                metrics=chunk, dimensions=self.dimensions, metadata=dict(metadata)
            )
            if error_status is not None and start == 0:
                self._add_error(document, error_status, errors)
            yield json.dumps(document, separators=(",", ":"))

    def _add_error(self, document: Any, status: int, errors: int) -> None:
        document["_aws"]["CloudWatchMetrics"].append(
            {
                "Namespace": self.namespace,
                "Dimensions": [[*self.dimensions, "status"]],
                "Metrics": [{"Name": "Errors", "Unit": "Count"}],
            }
        )
        document["status"] = str(status)
        document["Errors"] = 1.0 if errors == 1 else [1.0] * min(errors, MAX_VALUES)


def _bounded(values: list[float]) -> list[float]:
    """At most MAX_VALUES values: a longer list is sampled evenly (its first and last kept)."""
    if len(values) <= MAX_VALUES:
        return values
    step = (len(values) - 1) / (MAX_VALUES - 1)
    return [values[round(i * step)] for i in range(MAX_VALUES)]


def check_metric(name: object, unit: object, value: object) -> None:
    """Refuse what CloudWatch would refuse, naming what to change: raised to the predictor."""
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or not name.isascii() or not name.isprintable():
        raise ValueError(f"metric name {name!r} must be 1 to 255 printable ASCII characters")
    if unit not in UNITS:
        raise ValueError(
            f"metric {name!r} has unit {unit!r}; use one of CloudWatch's: {', '.join(sorted(UNITS))}"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value != value
        or value
        in (
            float("inf"),
            float("-inf"),
        )
    ):
        raise ValueError(f"metric {name!r} has value {value!r}; give a finite number")
