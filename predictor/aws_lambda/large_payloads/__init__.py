"""Payloads past Lambda's synchronous limit: every answer the handler returns is measured as Lambda
counts it; a larger one becomes a 413 that says how many instances fit, or, with
PREDICTOR_LARGE_PAYLOAD_URI set, is stored in S3 and answered with a presigned URL (the claim-check),
through which requests may also name their instances (`{"instances_uri": ...}`).

- `_answers`: an answer in its transport's form (HTTP response or direct-invoke answer);
- `_claim_check`: the S3 side, writing answers and reading requests under the prefix;
- `_settings`: the limit and the claim-check's settings.
"""

from __future__ import annotations

from typing import Any

from predictor import problems
from predictor._log import logger
from predictor.aws_lambda._source import request_id
from predictor.aws_lambda.large_payloads._answers import Answer, answer_fit, answer_of
from predictor.aws_lambda.large_payloads._claim_check import ClaimCheck
from predictor.aws_lambda.large_payloads._settings import (
    LARGE_PAYLOAD_URI_ENV,
    MAX_RESPONSE_BYTES_ENV,
    LargePayloadSettings,
)
from predictor.aws_lambda.sources.http import SizedResponse
from predictor.limits import Limits
from predictor.payload_limits import lambda_json_bytes, runtime_writes_utf8
from predictor.runtime import Runtime

__all__ = ["LargePayloadSettings", "LargePayloads", "ResponseTooLarge"]

# A character encodes to at most 12 bytes of JSON (an astral character as two \u escapes), so a
# response whose text is this much smaller than the limit needs no measuring.
_WORST_BYTES_PER_CHAR = 12


class ResponseTooLarge(RuntimeError):
    """A response that is not an answer (SQS batch item failures, S3 Batch Operations results) is over
    the limit: raised, so Lambda counts the failure instead of the runtime dropping the response."""


class LargePayloads:
    """The one place every Lambda response passes through before it is returned."""

    def __init__(self, runtime: Runtime, settings: LargePayloadSettings | None = None) -> None:
        if settings is None:
            settings = LargePayloadSettings.from_environ(runtime.environ)
        self.settings = settings
        self.limit = settings.max_response_bytes
        self.utf8 = runtime_writes_utf8(runtime.environ)
        self.codec = runtime.codec
        self.claim_check: ClaimCheck | None = None
        # The S3 client is made on first use, not at init: most answers never need it.
        if settings.uri is not None:
            self.claim_check = ClaimCheck(settings.uri, settings.expires_s, settings.max_bytes)
            referenced = Limits(max_body_bytes=settings.max_bytes, max_instances=settings.max_instances)
            runtime.codec.read_references(self.claim_check.read, referenced)

    def bounded(self, event: Any, response: Any, context: Any) -> Any:
        """`response`, or when Lambda would refuse it for its size, its replacement."""
        if type(response) is SizedResponse and response.most_chars is not None:
            if response.most_chars * _WORST_BYTES_PER_CHAR < self.limit:
                return response
        elif isinstance(response, dict) and self._surely_within(response):
            return response
        size = self.measure(response)
        if size <= self.limit:
            return response
        answer = answer_of(event, response)
        if answer is None:
            raise ResponseTooLarge(
                f"The response is {size} bytes, over the limit of {self.limit} bytes "
                f"({MAX_RESPONSE_BYTES_ENV})"
            )
        return self.over_limit(answer, size, request_id(context))

    def measure(self, response: Any) -> int:
        return lambda_json_bytes(response, utf8=self.utf8)

    def over_limit(self, answer: Answer, size: int, rid: str) -> Any:
        stored_failure = ""
        if self.claim_check is not None and answer.succeeded:
            try:
                body, content_type = answer.content()
                return answer.redirect(self.claim_check.store(body, content_type, rid))
            except Exception as exc:
                logger().exception("could not store a large answer", extra={"request_id": rid})
                stored_failure = (
                    f"; storing it under {self.claim_check.prefix.uri()} failed ({_reason(exc)}), "
                    f"search the logs for request id {rid}"
                )
        return answer.refuse(self.refusal(answer, size, rid, stored_failure))

    def refusal(self, answer: Answer, size: int, rid: str, stored_failure: str) -> problems.Problem:
        detail = (
            f"The answer is {size} bytes as Lambda counts the response, over the limit of {self.limit} "
            f"bytes ({MAX_RESPONSE_BYTES_ENV}){stored_failure}"
        )
        extra: dict[str, Any] = {"response_bytes": size, "limit_bytes": self.limit, "request_id": rid}
        shown = answer_fit(answer, size, self.limit, self.measure, self.codec.count_predictions)
        if shown is not None:
            count, fit = shown
            detail += (
                f"; at {fit.per_instance_bytes} bytes an instance, {fit.instances} of its {count} "
                "instances fit in one request: split the instances across requests"
            )
            extra.update(
                instances=count, bytes_per_instance=fit.per_instance_bytes, instances_that_fit=fit.instances
            )
        if self.claim_check is None:
            detail += f", or set {LARGE_PAYLOAD_URI_ENV}=s3://bucket/prefix/ to receive large answers from S3"
        return problems.problem(413, detail, **extra)

    def _surely_within(self, response: dict[str, Any]) -> bool:
        """Whether the response is certainly within the limit, without encoding it: an HTTP response
        whose text is far smaller than the limit (the common case). Its repr has at least one
        character for each the JSON holds, and the same separators, quotes and literals' lengths."""
        body = response.get("body")
        if type(body) is not str or len(body) * _WORST_BYTES_PER_CHAR >= self.limit:
            return False
        return len(str(response)) * _WORST_BYTES_PER_CHAR < self.limit


def _reason(exc: Exception) -> str:
    """S3's error code where S3 answered (botocore's ClientError), else the exception's type."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code")
    return f"S3 answered {code}" if code else type(exc).__name__
