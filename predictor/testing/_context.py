"""A stand-in for the context object Lambda passes a handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object a handler reads, with a fixed request id
    (`LambdaContext(aws_request_id=...)`, `LambdaContext(remaining_ms=...)` to test a deadline)."""

    aws_request_id: str = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    function_name: str = "my-function"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
