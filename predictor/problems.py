"""RFC 9457 problem details: the one error shape every transport answers with."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where the value is, e.g. ["instances", 3, "petal_width"]')
    pointer: str = Field(description="The same location as a JSON Pointer fragment")
    message: str
    type: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    request_id: str | None = None


class ProblemError(Exception):
    """Carries a problem up to the transport, which encodes it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def problem(status: int, detail: str, **extra: Any) -> Problem:
    return Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, **extra)


def not_ready(reason: str | None) -> Problem:
    return problem(503, f"Not ready: {reason}")


def field_errors(errors: list[ErrorDetails]) -> list[FieldError]:
    return [
        FieldError(
            loc=list(error["loc"]),
            pointer=json_pointer(error["loc"]),
            message=error["msg"],
            type=error["type"],
        )
        for error in errors
    ]


def json_pointer(location: tuple[str | int, ...]) -> str:
    """RFC 6901 as a URI fragment: `#` is the whole body, `#/instances/3/x` one field in it."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in location)


def encode(value: Problem) -> bytes:
    return value.model_dump_json(exclude_none=True).encode()
