"""What `predict` may know about the request it serves, and what it may add to the answer.

A predictor opts in by naming a `context` parameter: `def predict(self, batch, context)`.
Predictors that do not pay nothing: the context is only built for those that ask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

CUSTOM_ATTRIBUTES_HEADER = "x-amzn-sagemaker-custom-attributes"
TAGS_HEADER = "x-predictor-tags"
MAX_TAGS = 32
MAX_TAG_VALUE = 256
_TAG_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
#: Names the built-in metrics use; a predictor's own metric may not take one.
BUILT_IN_METRICS = frozenset(
    {
        "Requests", "Latency", "PredictLatency", "BatchSize", "Instances", "InvalidInstances",
        "Errors", "ColdStart", "ArtifactFetchSeconds", "ArtifactBytes", "SetupSeconds",
        "RecordsPredicted", "RecordsInvalid", "RecordsFailed", "FilesFailed",
    }
)  # fmt: skip


@dataclass(slots=True)
class RequestContext:
    """One request as `predict` sees it, on Lambda, on events and on `predictor serve` alike.

    `headers` have lower-case names (empty on event paths). `custom_attributes` is SageMaker's
    `X-Amzn-SageMaker-Custom-Attributes` request header (empty when absent); set
    `answer_attributes` to send that header back with the predictions.

    `counter`, `gauge` and `timer` record the predictor's own metrics, sent with the built-in
    ones (CloudWatch EMF); `tag` labels the answer: HTTP callers get the tags as JSON in the
    `X-Predictor-Tags` header, and they are in the request's log line on every path.
    """

    request_id: str
    query_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    answer_attributes: str | None = None
    #: name -> (kind, unit, values), in the order first recorded.
    metrics: dict[str, tuple[str, str, list[float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def custom_attributes(self) -> str:
        return self.headers.get(CUSTOM_ATTRIBUTES_HEADER, "")

    def counter(self, name: str, value: float = 1, unit: str = "Count") -> None:
        """Add `value` to a counter: what this request adds to a sum."""
        values = self._record("counter", name, unit, value)
        values[:] = [values[0] + value] if values else [float(value)]

    def gauge(self, name: str, value: float, unit: str = "None") -> None:
        """Set a gauge: the last value set in the request is sent."""
        self._record("gauge", name, unit, value)[:] = [float(value)]

    def timer(self, name: str, milliseconds: float) -> None:
        """Record one duration; each is sent, so CloudWatch has percentiles."""
        self._record("timer", name, "Milliseconds", milliseconds).append(float(milliseconds))

    def tag(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
            raise ValueError(f"tag key {key!r} must be 1 to 64 letters, digits, or _ . : -")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ValueError(f"tag {key!r} must have a string value of at most {MAX_TAG_VALUE} characters")
        if key not in self.tags and len(self.tags) >= MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags an answer; {key!r} is one too many")
        self.tags[key] = value

    def answer_headers(self) -> dict[str, str]:
        """The headers the answer carries because of what `predict` set."""
        headers = {}
        if self.answer_attributes is not None:
            headers[CUSTOM_ATTRIBUTES_HEADER] = self.answer_attributes
        if self.tags:
            # ASCII-only JSON: a header value must be Latin-1, and any text survives \\u escapes.
            headers[TAGS_HEADER] = json.dumps(self.tags, separators=(",", ":"), sort_keys=True)
        return headers

    def _record(self, kind: str, name: str, unit: str, value: float) -> list[float]:
        from predictor.observability._emf import check_metric

        check_metric(name, unit, value)
        if name in BUILT_IN_METRICS:
            raise ValueError(f"metric name {name!r} is a built-in metric's; choose another name")
        found = self.metrics.get(name)
        if found is None:
            found = self.metrics[name] = (kind, unit, [])
        elif found[:2] != (kind, unit):
            raise ValueError(
                f"metric {name!r} was recorded as a {found[0]} in {found[1]}; "
                f"record it the same way, not as a {kind} in {unit}"
            )
        return found[2]
