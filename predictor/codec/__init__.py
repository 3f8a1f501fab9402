"""The one codec: request bodies of a media type in, validated instances out; predictions in,
answer bodies of a media type out. Every transport decodes and encodes through `Codec`.

- `_json`: the JSON envelope's rules (strict types, the limits, finite numbers in and out),
  for whole envelopes, single instances and rows;
- `_tables`: bodies of one instance per row (CSV, JSON Lines, npy), handed to those rules;
- `_records`: records one by one with their positions (SQS bodies, the lines, rows or
  instances of an S3 file read as a stream), each to its instance or its problem;
- `_answers`: the answer types (JSON envelope, JSON Lines, CSV) and Accept negotiation;
- `_media`: the media types and how a Content-Type names one.

`_tables` and `_answers` load on first use: only `predictor serve` reads tables and negotiates,
so a Lambda cold start pays for neither.

The fast branches (a whole batch of texts validated in one call, the envelope encoded once)
live here, private, beside what they must answer like; tests hold each to its reference.
This package imports no transport and not FastAPI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import from_json

from predictor import problems
from predictor.codec._json import ENVELOPE_HINT, MAX_LISTED_ERRORS, JsonInstances
from predictor.codec._media import CSV, JSON, JSON_LINES, NPY, TABLES, is_table, media_type_of
from predictor.codec._records import BadObject, Decoded, Record, file_format, records, validate_records
from predictor.limits import Limits
from predictor.problems import ProblemError
from predictor.schema import Schema

if TYPE_CHECKING:
    from predictor.codec._answers import Answers

__all__ = [
    "CSV",
    "ENVELOPE_HINT",
    "JSON",
    "JSON_LINES",
    "MAX_LISTED_ERRORS",
    "NPY",
    "TABLES",
    "BadObject",
    "Codec",
    "Decoded",
    "Record",
    "file_format",
    "media_type_of",
]

DecodeRaw = Callable[[bytes, str], list[Any]]


class Codec:
    """Bodies to validated instances and predictions to bodies, for one predictor's models."""

    def __init__(
        self,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        limits: Limits,
        *,
        allow_inf_nan: bool = False,
        raw_types: Iterable[str] = (),
        decode_raw: DecodeRaw | None = None,
    ) -> None:
        self.schema = Schema(input_model, output_model)
        self.limits = limits
        self._json = JsonInstances(input_model, output_model, limits, allow_inf_nan=allow_inf_nan)
        self._answers: Answers | None = None  # built on first use: Lambda answers JSON only
        self._raw_types = frozenset(t.lower() for t in raw_types)
        self._raw = decode_raw

    # Whole bodies.

    def decode(self, body: bytes, content_type: str | None, *, tables: bool = False) -> list[Any]:
        """The validated instances of a body of `content_type`: the JSON envelope, a raw type the
        predictor decodes, and with `tables` CSV, JSON Lines and npy. Raises a 400, 413, 415 or
        422 problem."""
        if content_type is None or content_type == JSON:
            return self._json.parse_json(body)  # the common case, without parsing the header
        media_type = media_type_of(content_type)
        if media_type == JSON or media_type.endswith("+json"):
            return self._json.parse_json(body)
        if media_type in self._raw_types:
            return self.decode_raw(body, media_type)
        if tables and is_table(media_type):
            from predictor.codec._tables import decode_table  # only predictor serve reads tables

            return decode_table(self._json, body, media_type)
        raise ProblemError(problems.problem(415, self.unsupported(media_type, TABLES if tables else ())))

    def decode_raw(self, body: bytes, media_type: str) -> list[Any]:
        """A raw body through the predictor's `decode_raw`, within the limits."""
        assert self._raw is not None, "a raw media type needs decode_raw"
        self.check_size(len(body))
        instances = self._raw(body, media_type)
        self.check_count(len(instances))
        return instances

    def decode_envelope(self, envelope: object) -> list[Any]:
        """A decoded envelope (direct invoke, events), validated as the JSON it came as."""
        return self._json.parse_object(envelope)

    def read_references(self, read: Callable[[object], bytes], limits: Limits) -> None:
        """Answer a JSON envelope `{"instances_uri": ...}` (without `instances`) with the instances of
        the envelope `read(uri)` returns, validated as a body is, within `limits`; `read` raises a
        ProblemError for a URI it refuses or cannot read."""
        referenced = JsonInstances(
            self.schema.input_model, self.schema.output_model, limits, allow_inf_nan=self._json.allow_inf_nan
        )
        self._json.read_reference, self._json.referenced = read, referenced

    def unsupported(self, media_type: str, decoded: tuple[str, ...] = ()) -> str:
        accepted = ", ".join([JSON, *decoded, *sorted(self._raw_types)])
        return f"Content-Type {media_type!r} is not supported; use one of: {accepted} ({ENVELOPE_HINT})"

    def check_size(self, body_bytes: int, *, at_least: bool = False) -> None:
        """413 past the body limit; `at_least` while a streamed body is still arriving."""
        self._json.check_size(body_bytes, at_least=at_least)

    def check_count(self, count: int) -> None:
        """413 past the instance limit."""
        self._json.check_count(count)

    # Records one by one, located by position.

    def load_json(self, text: str | bytes, what: str, hint: str) -> Any:
        """A JSON text as a value to inspect (an SQS body may be a notification), or a 400 problem
        saying `what` is not valid JSON and then `hint`."""
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ProblemError(problems.problem(400, f"{what} is not valid JSON ({exc}); {hint}")) from None

    def decode_instance(self, text: str | bytes, index: int) -> Any:
        """One JSON-encoded instance, or a 400 or 422 problem located at `["instances", index]`."""
        return self._json.parse_instance_json(text, index)

    def decode_records(self, chunk: list[Any], first: int = 0, *, together: bool = True) -> list[Any]:
        """Per record (JSON text, `Decoded` value or the Problem already answering it), its
        validated instance or its Problem, located from position `first`. `together=False` when
        `decode_all` already failed on these records, so they are not validated together twice."""
        return validate_records(self._json, chunk, first, together=together)

    def decode_all(self, texts: Sequence[str | bytes]) -> list[Any] | None:
        """Every JSON text's validated instance, from one call; None if any one fails (then
        `decode_records` says which and why). Accepts exactly what `decode_records` accepts."""
        return self._json.parse_instances_json(texts)

    def records(self, form: str, chunks: Iterable[bytes]) -> Iterator[list[Record]]:
        """The records of a file of `form` (`file_format`) read as a stream of chunks."""
        return records(form, chunks, self._json)

    # Answers.

    def choose(self, accept: str | None) -> str:
        """The media type to answer an `accept` header with, or a 406 problem."""
        return self.answer_types().choose(accept)

    def encode(self, predictions: list[Any], media_type: str = JSON) -> bytes:
        """Checked predictions as a body of `media_type` (`choose`); a non-finite number raises
        ContractError whatever the type."""
        if media_type == JSON:
            return self._json.encode(predictions)
        return self.answer_types().encode(media_type, predictions)

    def answer_types(self) -> Answers:
        """The answer types by Accept (JSON, JSON Lines, CSV), built on first use: only
        `predictor serve` negotiates, so Lambda never builds them."""
        if self._answers is None:
            from predictor.codec._answers import Answers

            self._answers = Answers(self._json)
        return self._answers

    def encode_each(self, predictions: list[Any]) -> list[bytes]:
        """Each prediction as its own JSON text, with the same finite check."""
        return self._json.encode_predictions(predictions)

    def count_predictions(self, body: bytes) -> int | None:
        """How many predictions a JSON answer body holds, None when it holds none (to size an answer)."""
        try:
            answer = from_json(body)
        except ValueError:
            return None
        if isinstance(answer, dict) and isinstance(answer.get("predictions"), list):
            return len(answer["predictions"])
        return None

    def dump(self, predictions: list[Any]) -> dict[str, Any]:
        """The response envelope as JSON data (direct invoke), with the same finite check."""
        return self._json.dump(predictions)
