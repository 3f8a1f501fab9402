"""What `predict` may know about the HTTP request it serves, and what it may add to the answer.

A predictor opts in by naming a `context` parameter: `def predict(self, batch, context)`.
Predictors that do not pay nothing: the context is only built for those that ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CUSTOM_ATTRIBUTES_HEADER = "x-amzn-sagemaker-custom-attributes"


@dataclass(slots=True)
class RequestContext:
    """One HTTP request as `predict` sees it, on Lambda and on `predictor serve` alike.

    `headers` have lower-case names. `custom_attributes` is SageMaker's
    `X-Amzn-SageMaker-Custom-Attributes` request header (empty when absent); set
    `answer_attributes` to send that header back with the predictions.
    """

    request_id: str
    query_params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    answer_attributes: str | None = None

    @property
    def custom_attributes(self) -> str:
        return self.headers.get(CUSTOM_ATTRIBUTES_HEADER, "")

    def answer_headers(self) -> dict[str, str]:
        """The headers the answer carries because of what `predict` set."""
        if self.answer_attributes is None:
            return {}
        return {CUSTOM_ATTRIBUTES_HEADER: self.answer_attributes}
