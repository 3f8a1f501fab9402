"""Records one by one, with their positions: an input file read as a stream of chunks (JSON
Lines, CSV or one envelope), then each record validated on its own.

Each record comes out of a file as JSON text to validate (`bytes`), a decoded value to validate
(`Decoded`), or the problem that already answers it (a line too long, not UTF-8, not a row);
`validate_records` turns each into its instance or its problem.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, TypeVar, cast

from predictor import problems
from predictor.codec._json import JsonInstances
from predictor.problems import Problem, ProblemError

FORMS = (
    "JSON Lines (.jsonl or .ndjson, one instance per line), CSV (.csv, a header row naming the "
    'input fields) or a request envelope (.json, {"instances": [...]})'
)


@dataclass(frozen=True, slots=True)
class Decoded:
    value: object
    #: CSV cells are text: converted as the field types allow, unlike JSON values.
    from_text: bool = False


Record = bytes | Decoded | Problem
T = TypeVar("T")


class BadObject(ValueError):
    """The object as a whole cannot be read as input; retrying will not help."""


def file_format(key: str) -> str:
    lowered = key.lower()
    for suffix, form in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"), (".json", "json")):
        if lowered.endswith(suffix):
            return form
    raise BadObject(f"{key!r} is not a supported input; name it for its form: {FORMS}")


def records(form: str, chunks: Iterable[bytes], schema: JsonInstances) -> Iterator[list[Record]]:
    """The file's records, in lists of any length (for JSON Lines, one list per chunk read)."""
    max_bytes = schema.limits.max_body_bytes
    if form == "jsonl":
        return cast(Iterator[list[Record]], line_lists(chunks, max_bytes, _too_long(max_bytes)))
    if form == "csv":
        lines = chain.from_iterable(line_lists(chunks, max_bytes, None, keep_blank=True))
        return _in_lists(csv_records(csv_rows(lines, max_bytes), max_bytes))
    return _in_lists(envelope_records(chunks, schema))


def line_lists(
    chunks: Iterable[bytes], max_bytes: int, too_long: T, *, keep_blank: bool = False
) -> Iterator[list[bytes | T]]:
    """Per chunk read, its complete non-blank lines (every line with `keep_blank`) without their
    line endings; `too_long` for a line over `max_bytes`, which is skipped without being held in
    memory. Lists, not single lines: a million-line file then costs a few hundred steps here,
    not a million."""
    pending = b""
    skipping = False
    for chunk in chunks:
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            skipping, chunk = False, chunk[end + 1 :]
        data = pending + chunk
        parts = data.split(b"\n")
        pending = parts.pop()
        found: list[bytes | T]
        if len(data) - len(pending) > max_bytes:  # only then can one of these lines be too long
            found = [
                too_long if len(part) > max_bytes else part
                for part in parts
                if keep_blank or len(part) > max_bytes or part.strip()
            ]
        else:
            found = [part for part in parts if keep_blank or part.strip()]
        if b"\r" in data:
            found = [part.rstrip(b"\r") if isinstance(part, bytes) else part for part in found]
        if len(pending) > max_bytes:
            found.append(too_long)
            pending, skipping = b"", True
        if found:
            yield found
    if pending.strip() or (keep_blank and pending):
        yield [pending.rstrip(b"\r")]


def _in_lists(found: Iterator[Record], size: int = 1024) -> Iterator[list[Record]]:
    while batch := list(islice(found, size)):
        yield batch


def _too_long(max_bytes: int) -> Problem:
    return problems.problem(
        413, f"The record is over {max_bytes} bytes (PREDICTOR_MAX_BODY_BYTES); split or shorten it"
    )


def csv_rows(lines: Iterator[bytes | None], max_bytes: int) -> Iterator[bytes | None]:
    """CSV rows from physical lines: a line break inside a quoted field continues the row, empty
    lines between rows are skipped, and None stands for a row over `max_bytes`."""
    row: list[bytes] = []  # the lines of a row still open, joined once it closes
    size = 0
    for line in lines:
        if line is None:  # a line over the limit ends whatever row it was in
            row, size = [], 0
            yield None
            continue
        if row:
            row.append(line)
            size += 1 + len(line)
            still_open = _open_quote_after(line, True)
        elif not line:  # as Python's csv reads: an empty line is no row, a line of spaces is one
            continue
        else:
            row, size, still_open = [line], len(line), _open_quote_after(line, False)
        if size > max_bytes:
            row, size = [], 0
            yield None
        elif not still_open:
            yield b"\n".join(row)
            row, size = [], 0
    if row:
        yield b"\n".join(row)  # a quote left open: the CSV parser refuses the row


# A CSV row with every quoted field closed, as Python's csv reads one: a quote opens a field
# only at its start, two quotes inside it stand for one, and it closes at a quote no quote
# follows (anything after the close, up to the comma, is for the parser to refuse).
_FIELD = rb'(?:"(?:[^"]|"")*"(?!")[^,]*|[^,"][^,]*|)'
_CLOSED_ROW = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*")


def _open_quote_after(line: bytes, quoted: bool) -> bool:
    """Whether a quoted field is still open at the end of `line`, given whether one was open at
    its start (else the line starts a row). Inside a quoted field, a line reads as it would
    after an opening quote."""
    if not quoted and b'"' not in line:
        return False
    return _CLOSED_ROW.fullmatch(b'"' + line if quoted else line) is None


def csv_records(rows: Iterator[bytes | None], max_bytes: int) -> Iterator[Record]:
    """One record per CSV row after the header (a quoted field may hold line breaks)."""
    header_line = next(rows, None)
    if header_line is None:
        return
    try:
        header = _row(header_line.decode("utf-8-sig"))
    except (UnicodeDecodeError, csv.Error):
        raise BadObject("the CSV header row is not UTF-8 text naming the input fields") from None
    for line in rows:
        if line is None:
            yield _too_long(max_bytes)
            continue
        try:
            values = _row(line.decode())
        except UnicodeDecodeError:
            yield problems.problem(400, "The row is not UTF-8 text; save the file as UTF-8")
            continue
        except csv.Error as exc:
            yield problems.problem(400, f"The row is not CSV ({exc}); quote fields with commas or quotes")
            continue
        if len(values) != len(header):
            yield problems.problem(
                400,
                f"The row has {len(values)} values but the header names {len(header)} columns "
                f"({', '.join(header)}); give every row one value per column",
            )
            continue
        # An empty cell is a missing value: the field's default applies, or it is reported missing.
        yield Decoded(
            {name: value for name, value in zip(header, values, strict=True) if value != ""}, from_text=True
        )


def _row(text: str) -> list[str]:
    return next(csv.reader([text], strict=True))


def envelope_records(chunks: Iterable[bytes], schema: JsonInstances) -> Iterator[Record]:
    """The instances of one request envelope; one problem if the file is not an envelope."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > schema.limits.max_body_bytes:
            raise BadObject(
                f"the .json envelope is over {schema.limits.max_body_bytes} bytes "
                "(PREDICTOR_MAX_BODY_BYTES); write large inputs as JSON Lines (.jsonl), one instance per line"
            )
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        yield problems.problem(400, f'The file is not valid JSON ({exc}); send {{"instances": [...]}}')
        return
    instances = envelope.get("instances") if isinstance(envelope, dict) else None
    if isinstance(instances, list) and instances:
        for instance in instances:
            yield Decoded(instance)
        return
    try:
        schema.parse_object(envelope)
    except ProblemError as exc:
        yield exc.problem
    else:  # pragma: no cover - a valid envelope always has a non-empty instances list
        raise AssertionError("unreachable")


_TEXTS = (bytes, str)


def validate_records(
    schema: JsonInstances, chunk: list[Any], first: int, *, together: bool = True
) -> list[Any]:
    """Per record, its validated instance or its Problem, located at its position from `first`.
    The JSON texts of a chunk are validated in one call; if any fails, each is validated alone so
    each problem is its own. `together=False` when the caller's one call already failed."""
    # The usual JSON Lines chunk holds only valid JSON texts: one call settles it.
    # (Should another kind of record hide among them, it fails the call like an invalid text.)
    all_texts = bool(chunk) and type(chunk[0]) in _TEXTS
    if together and all_texts and (validated := schema.parse_instances_json(chunk)) is not None:
        return validated
    texts = [record for record in chunk if isinstance(record, _TEXTS)]
    if all_texts and len(texts) == len(chunk):
        validated = None  # tried together (here or by the caller), and one of them failed
    else:
        validated = schema.parse_instances_json(texts) if texts else None
    if validated is not None and len(validated) == len(chunk):
        return validated
    in_turn = iter(validated) if validated is not None else None
    slots: list[Any] = []
    for index, record in enumerate(chunk, first):
        try:
            if isinstance(record, _TEXTS):
                if in_turn is None:
                    slots.append(schema.parse_instance_json(record, index))
                else:
                    slots.append(next(in_turn))
            elif isinstance(record, Decoded):
                slots.append(schema.parse_instance(record.value, index, from_text=record.from_text))
            else:
                slots.append(record)
        except ProblemError as exc:
            slots.append(exc.problem)
    return slots
