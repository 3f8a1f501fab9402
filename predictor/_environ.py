"""Reading settings from environment variables, with messages naming the variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

Number = TypeVar("Number", int, float)


def positive_number(environ: Mapping[str, str], name: str, default: Number) -> Number:
    """The variable's value parsed as the default's type; the default when unset or empty."""
    raw = environ.get(name)
    if not raw:
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ValueError(f"{name}={raw!r} is not {noun}; set it to a positive number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be a positive number")
    return value


def non_negative_number(environ: Mapping[str, str], name: str, default: float) -> float:
    """Like `positive_number` for a float setting where 0 is meaningful (e.g. "do not wait")."""
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number; set it to 0 or more") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a finite number, 0 or more")
    return value


def switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """An on/off variable: unset or empty is `default`; a value that is neither is refused, not guessed."""
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"{name}={environ[name]!r} is neither on nor off; set it to `on` or `off`")


def on_lambda(environ: Mapping[str, str]) -> bool:
    """Whether this process is a Lambda execution environment (or `sam local`'s emulation of one)."""
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME") or environ.get("AWS_LAMBDA_RUNTIME_API"))


def env(name: str, doc: str, *, default: str | None = None, names: tuple[str, ...] = ()) -> dict[str, Any]:
    """A settings field's metadata: the variable it is read from and its line in the settings
    table (`predictor settings`); `default` shows the default when the field's own would not,
    `names` every variable the field is read from, in the order they win."""
    metadata: dict[str, Any] = {"env": name, "doc": doc, "names": names or (name,)}
    if default is not None:
        metadata["default"] = default
    return metadata


def positive_fields(cls: Any, environ: Mapping[str, str], exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each of a settings dataclass's fields declared with `env(...)` (but those excluded), read
    as `positive_number` from its variable with the field's default."""
    declared = [f for f in fields(cls) if "env" in f.metadata and f.name not in exclude]
    defaults: dict[str, Any] = {f.name: f.default for f in declared}
    return {f.name: positive_number(environ, f.metadata["env"], defaults[f.name]) for f in declared}
