"""An answer as the transport returns it: measured as Lambda counts it, and rewritten as a 413 or as a
claim-check envelope in that transport's own form (an HTTP response, or a direct-invoke answer)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from predictor import problems
from predictor.aws_lambda.sources.http import event_shape, responder
from predictor.codec import JSON
from predictor.observability.request_ids import REQUEST_ID_HEADER, VERSION_HEADER
from predictor.payload_limits import AnswerFit, fit_from_answer
from predictor.problems import PROBLEM_JSON, Problem
from predictor.runtime import Reply

IDENTITY_HEADERS = (REQUEST_ID_HEADER, VERSION_HEADER)
EMPTY_ENVELOPE = '{"predictions":[]}'
# Separators between predictions: the codec's compact JSON in an HTTP body, json's ", " in a
# direct-invoke answer as the Lambda runtime writes it.
COMPACT_SEPARATOR, RUNTIME_SEPARATOR = 1, 2
# The codec's count of the predictions in an answer body.
CountPredictions = Callable[[bytes], "int | None"]


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP event's response, from the fast path or Mangum."""

    event: dict[str, Any]
    response: dict[str, Any]
    separator = COMPACT_SEPARATOR

    @property
    def succeeded(self) -> bool:
        return 200 <= int(self.response.get("statusCode", 0)) < 300

    def content(self) -> tuple[bytes, str]:
        """The body as the client would receive it, and its content type."""
        body = self.response.get("body") or ""
        if self.response.get("isBase64Encoded"):
            return base64.b64decode(body), self.content_type()
        return body.encode(), self.content_type()

    def content_type(self) -> str:
        for key in ("headers", "multiValueHeaders"):
            for name, value in (self.response.get(key) or {}).items():
                if name.lower() == "content-type":
                    return str(value[0] if isinstance(value, list) else value)
        return "application/octet-stream"

    def predictions(self, count_predictions: CountPredictions) -> tuple[int, Any] | None:
        """How many predictions the answer holds, and the same response with none."""
        if not self.succeeded:
            return None
        try:
            body, _ = self.content()
        except binascii.Error:
            return None
        count = count_predictions(body)
        if count is None:
            return None
        empty = EMPTY_ENVELOPE
        if self.response.get("isBase64Encoded"):
            empty = base64.b64encode(empty.encode()).decode()
        return count, {**self.response, "body": empty}

    def refuse(self, problem: Problem) -> dict[str, Any]:
        return self._respond(Reply(problem.status, PROBLEM_JSON, problems.encode(problem)))

    def redirect(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """303 See Other: the answer is at the presigned URL; the body names it too."""
        body = json.dumps(envelope, separators=(",", ":")).encode()
        return self._respond(Reply(303, JSON, body, {"location": envelope["predictions_url"]}))

    def _respond(self, reply: Reply) -> dict[str, Any]:
        shape = event_shape(self.event)
        assert shape is not None
        return responder(self.event, shape).respond(reply, self._identity())

    def _identity(self) -> dict[str, str]:
        """The request id and model version headers the replaced answer carried, for its replacement."""
        found: dict[str, str] = {}
        for key in ("headers", "multiValueHeaders"):
            for name, value in (self.response.get(key) or {}).items():
                if name.lower() in IDENTITY_HEADERS:
                    found[name.lower()] = str(value[0] if isinstance(value, list) else value)
        return found


@dataclass(frozen=True)
class EnvelopeAnswer:
    """A direct invocation's or a custom EventBridge event's answer: `{"predictions": [...]}`."""

    response: dict[str, Any]
    succeeded = True
    separator = RUNTIME_SEPARATOR

    def content(self) -> tuple[bytes, str]:
        return json.dumps(self.response, separators=(",", ":")).encode(), JSON

    def predictions(self, count_predictions: CountPredictions) -> tuple[int, Any] | None:
        predictions = self.response.get("predictions")
        if not isinstance(predictions, list):
            return None
        return len(predictions), {**self.response, "predictions": []}

    def refuse(self, problem: Problem) -> dict[str, Any]:
        return problem.model_dump(mode="json", exclude_none=True)

    def redirect(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return envelope


Answer = HttpAnswer | EnvelopeAnswer


def answer_of(event: Any, response: Any) -> Answer | None:
    """The answer's form, or None for a source whose response is not an answer (SQS's batch item
    failures, S3 Batch Operations' results): those cannot be rewritten, only refused by raising."""
    if not isinstance(response, dict):
        return None
    if isinstance(event, dict) and event_shape(event) is not None and isinstance(response.get("body"), str):
        return HttpAnswer(event, response)
    if "predictions" in response:
        return EnvelopeAnswer(response)
    return None


def answer_fit(
    answer: Answer,
    answer_bytes: int,
    limit: int,
    measure: Callable[[Any], int],
    count_predictions: CountPredictions,
) -> tuple[int, AnswerFit] | None:
    """The instance count and the fit the answer itself shows, when it holds predictions."""
    found = answer.predictions(count_predictions)
    if found is None or found[0] == 0:
        return None
    count, empty = found
    return count, fit_from_answer(answer_bytes, measure(empty), count, answer.separator, limit)
