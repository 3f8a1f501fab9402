"""Non-finite floats (inf, nan): JSON cannot carry them, so input refuses them and output checks for them.

pydantic writes inf and nan as `null` (breaking the published schema) and `json.dumps` as a
bare `NaN` (not JSON at all), so neither may reach a client silently.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

Location = tuple[str | int, ...]

_NO_NESTED_FLOATS = (float, str, int, bytes)
_SEQUENCES = (list, tuple, set, frozenset)


def refusing_inf_nan(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with its own float fields refusing inf and nan (the type pydantic would check, unchanged).

    A subclass, because pydantic reuses a nested model's own validator whatever the config
    around it; nested models' fields are checked afterwards (`fields_to_walk`).
    """
    namespace = {
        "model_config": ConfigDict(allow_inf_nan=False),
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
    }
    return type(model.__name__, (model,), namespace)


def fields_to_walk(model: type[BaseModel]) -> list[str]:
    """Fields whose values may hold floats that `model`'s own config does not govern."""
    return [name for name, field in model.model_fields.items() if _may_nest(field.annotation)]


def encoded_check(model: type[BaseModel]) -> Callable[[bytes], bool]:
    """A test on `model`'s encoded output: False when it certainly holds only finite numbers.

    Non-finite floats encode as `null` (pydantic's default), or as `NaN` and `Infinity` in a
    model configured otherwise; most outputs hold none of these, so one search settles it.
    """
    null = _finds(b"null", b"u")
    if _modes(model.__pydantic_core_schema__) <= {"null"}:
        return null
    marks = (null, _finds(b"NaN", b"N"), _finds(b"Infinity", b"I"))
    return lambda encoded: any(holds(encoded) for holds in marks)


def _finds(mark: bytes, probe: bytes) -> Callable[[bytes], bool]:
    """Whether an encoded answer holds `mark`, searched only from the first `probe` (a byte of the mark
    that answers seldom hold): a one-byte find is a memchr, many times faster than a longer needle's
    search over a few kB of digits (0.05 µs instead of 1.4 for 16 iris answers)."""
    back = mark.index(probe)

    def holds(encoded: bytes) -> bool:
        at = encoded.find(probe)
        return at >= 0 and encoded.find(mark, max(0, at - back)) >= 0

    return holds


def non_finite(value: Any, location: Location = ()) -> Iterator[Location]:
    """Where `value` holds an inf or nan float."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield location
    elif isinstance(value, BaseModel):
        for name, item in value:  # fields, then extra fields
            yield from non_finite(item, (*location, name))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from non_finite(item, (*location, str(key)))
    elif isinstance(value, _SEQUENCES):
        for index, item in enumerate(value):
            yield from non_finite(item, (*location, index))


def _modes(schema: Any) -> set[str]:
    """Every `ser_json_inf_nan` set in a core schema, nested models' configs included."""
    if isinstance(schema, dict):
        found = {schema["ser_json_inf_nan"]} if "ser_json_inf_nan" in schema else set()
        return found.union(*(_modes(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_modes(value) for value in schema))
    return set()


def _may_nest(annotation: Any) -> bool:
    """Whether a field of this type can hold a model (or an untyped value) with floats inside."""
    if isinstance(annotation, type):
        return not issubclass(annotation, _NO_NESTED_FLOATS)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin is typing.Annotated:
        # The metadata (constraints such as Field(ge=0)) holds no values: only the type counts.
        return _may_nest(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if origin is None or not args:
        return True
    return any(_may_nest(arg) for arg in args if arg is not Ellipsis and arg is not type(None))
