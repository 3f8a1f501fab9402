"""Request bodies other than the JSON envelope: CSV, JSON Lines and npy, one instance per row.

Every decoder turns the body into plain rows and hands them to the JSON rules, so each
format is validated, limited and located (`["instances", row, field]`) the same way.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from predictor import problems
from predictor.codec._json import JsonInstances
from predictor.codec._media import CSV, NPY
from predictor.problems import ProblemError


def decode_table(json_instances: JsonInstances, body: bytes, media_type: str) -> list[Any]:
    """Validated instances from a body of a row-per-instance `media_type` (`_media.is_table`)."""
    decoder = _DECODERS.get(media_type) or _json_lines
    json_instances.check_size(len(body))
    rows = decoder(json_instances, body)
    if not rows:
        raise _bad(f"The {media_type} body holds no instances; send at least one row")
    if decoder is _json_lines:
        return json_instances.parse_object({"instances": rows})
    # CSV cells are text and npy cells floats: they convert as the field types allow.
    return json_instances.parse_rows(rows)


def field_names(json_instances: JsonInstances) -> list[str]:
    return list(json_instances.input_model.model_fields)


def _row_builder(json_instances: JsonInstances) -> tuple[list[str], bool]:
    """The input fields, and whether a row is the value of the model's single list field."""
    names = field_names(json_instances)
    if len(names) == 1:
        annotation = json_instances.input_model.model_fields[names[0]].annotation
        return names, getattr(annotation, "__origin__", annotation) in (list, tuple)
    return names, False


def _rows_to_instances(json_instances: JsonInstances, rows: list[list[Any]], kind: str) -> list[Any]:
    names, whole_row = _row_builder(json_instances)
    if whole_row:
        return [{names[0]: row} for row in rows]
    _check_widths(rows, names, kind, first=1)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _check_widths(rows: list[list[Any]], names: list[str], kind: str, first: int) -> None:
    for number, row in enumerate(rows, start=first):
        if len(row) != len(names):
            raise _bad(
                f"{kind} row {number} has {len(row)} values; expected {len(names)}, "
                f"one per field in this order: {', '.join(names)}"
            )


def _csv(json_instances: JsonInstances, body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(f"The CSV body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error as exc:
        raise _bad(f"The CSV body does not parse: {exc}") from None
    names = field_names(json_instances)
    header = [cell.strip() for cell in rows[0]] if rows else []
    if len(header) == len(names) and set(header) == set(names):
        # A header row names the columns, in any order; row numbers count it.
        _check_widths(rows[1:], names, "CSV", first=2)
        return [dict(zip(header, row, strict=True)) for row in rows[1:]]
    return _rows_to_instances(json_instances, rows, "CSV")


def _json_lines(json_instances: JsonInstances, body: bytes) -> list[Any]:
    rows = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _bad(
                f"JSON Lines line {number} is not valid JSON ({exc}); send one instance per line"
            ) from None
    return rows


def _npy(json_instances: JsonInstances, body: bytes) -> list[Any]:
    import numpy as np

    try:
        array = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _bad(f"The body is not a readable .npy array ({exc}); save it with numpy.save") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        shape = getattr(array, "shape", None)
        raise _bad(f"The npy array has shape {shape}; send a 2-D array, one row per instance")
    return _rows_to_instances(json_instances, array.tolist(), "npy")


def _bad(detail: str) -> ProblemError:
    return ProblemError(problems.problem(400, detail))


_DECODERS = {CSV: _csv, NPY: _npy}
