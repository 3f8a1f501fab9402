"""Answer bodies by `Accept`: the JSON envelope, JSON Lines, or CSV for scalar outputs.

Every answer leaves through `Answers.encode`, which first encodes the JSON envelope: that is
where a non-finite prediction is refused (ContractError, a 500 with a request id), so no answer
type can write one as `null` or `nan`. The envelope is the JSON answer itself, so the check
costs that answer nothing.
"""

from __future__ import annotations

import csv
import enum
import io
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from predictor import problems
from predictor.codec._json import JsonInstances
from predictor.codec._media import CSV, JSON, JSON_LINES
from predictor.problems import ProblemError

SCALARS = (int, float, str, bool)

# An answer type's encoder: the predictions and their JSON envelope (already checked) to a body.
Encode = Callable[[list[Any], bytes], bytes]


class Answers:
    """The answer types one output model can take, chosen per request by its Accept header."""

    def __init__(self, json_instances: JsonInstances) -> None:
        output_model = json_instances.output_model
        self._adapter = TypeAdapter(list[output_model])  # type: ignore[valid-type]
        self._envelope = json_instances.encode
        self.by_type: dict[str, Encode] = {JSON: _the_envelope, JSON_LINES: self._json_lines}
        if all(_is_scalar(field.annotation) for field in output_model.model_fields.values()):
            self.by_type[CSV] = self._csv
        self.producible = ", ".join(self.by_type)

    def choose(self, accept: str | None) -> str:
        """The media type to answer with, or a 406 problem."""
        if not accept:
            return JSON
        for media_type in _preferred(accept):
            if media_type in ("*/*", "application/*"):
                return JSON
            if media_type == "text/*" and CSV in self.by_type:
                return CSV
            if media_type in self.by_type:
                return media_type
        raise ProblemError(
            problems.problem(
                406,
                f"Cannot answer with Accept {accept!r}; this predictor produces: {self.producible}",
            )
        )

    def encode(self, media_type: str, predictions: list[Any]) -> bytes:
        """`predictions` as a `media_type` body: the one way out for every answer type.

        The JSON envelope is encoded first whatever the type, and raises ContractError for a
        non-finite number, which JSON Lines would write as `null` and CSV as `nan`."""
        return self.by_type[media_type](predictions, self._envelope(predictions))

    def _json_lines(self, predictions: list[Any], envelope: bytes) -> bytes:
        dumped: list[BaseModel] = predictions
        return b"".join(item.model_dump_json().encode() + b"\n" for item in dumped)

    def _csv(self, predictions: list[Any], envelope: bytes) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in self._adapter.dump_python(predictions, mode="json"):
            writer.writerow(row.values())
        return out.getvalue().encode()


def _the_envelope(predictions: list[Any], envelope: bytes) -> bytes:
    return envelope


def _preferred(accept: str) -> list[str]:
    """Media types in the header by falling quality, dropping q=0; ties keep the client's order."""
    ranked = []
    for position, item in enumerate(accept.split(",")):
        media_type, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type and quality > 0:
            ranked.append((-quality, position, media_type.lower()))
    return [media_type for _, _, media_type in sorted(ranked)]


def _is_scalar(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Literal:
        return True
    return isinstance(annotation, type) and issubclass(annotation, (*SCALARS, enum.Enum))
