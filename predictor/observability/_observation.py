"""One request's (or one event's) account: what it was, what came of it, and what it cost."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from predictor.context import RequestContext
    from predictor.problems import Problem

# Lambda runs one event at a time, the server one request per task: a context variable follows
# each without passing it through every call. Unset (None) when observability is off.
CURRENT: ContextVar[Observation | None] = ContextVar("predictor_observation", default=None)


@dataclass(slots=True)
class Observation:
    source: str
    request_id: str
    started: float
    function_request_id: str | None = None
    #: An HTTP request's method and path, where the line stands in for an access log (the server).
    method: str | None = None
    path: str | None = None
    status: int = 200
    instances: int = 0
    invalid: int = 0
    predict_s: float = 0.0
    batch_sizes: list[float] = field(default_factory=list)
    #: Records of SQS batches and S3 files by outcome: predicted, invalid, failed.
    predicted_records: int = 0
    invalid_records: int = 0
    failed_records: int = 0
    failed_files: int = 0
    counts_records: bool = False
    contexts: list[RequestContext] = field(default_factory=list)
    payload: str | None = None
    sample_payload: bool = False
    #: False for record batches (SQS, S3 files): a refusal answers some records, not the event.
    one_request: bool = True

    def predicted(self, size: int, seconds: float, context: RequestContext | None) -> None:
        """One predict call: its batch size and time, and what the predictor recorded in it."""
        self.instances += size
        self.batch_sizes.append(float(size))
        self.predict_s += seconds
        if context is not None and (context.metrics or context.tags) and context not in self.contexts:
            self.contexts.append(context)

    def refused(self, problem: Problem) -> None:
        """The request was answered with `problem`: its status, and how many instances it names."""
        if not self.one_request:
            return
        self.status = problem.status
        if problem.errors:
            self.invalid = len({_instance_of(error.loc) for error in problem.errors})

    def records(self, predicted: int = 0, invalid: int = 0, failed: int = 0) -> None:
        self.counts_records = True
        self.predicted_records += predicted
        self.invalid_records += invalid
        self.failed_records += failed

    def keep_payload(self, body: bytes | str) -> None:
        """The body goes in the log line only when this request was drawn for it (an opt-in)."""
        if self.sample_payload:
            text = body if isinstance(body, str) else body[:4096].decode("utf-8", "replace")
            self.payload = text[:2048]


def _instance_of(loc: list[str | int]) -> str | int:
    """The instance a field error is about: `["instances", 3, "x"]` -> 3, a bare record's `[3, ...]` -> 3."""
    for part in loc:
        if isinstance(part, int):
            return part
    return -1
