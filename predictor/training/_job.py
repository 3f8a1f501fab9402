"""One training job as SageMaker lays it out: its channels and its hyperparameters, read from
/opt/ml/input (or where the `SM_*` variables point), checked before `train` runs."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from predictor.training._settings import HYPERPARAMETERS_ENV, TrainingSettings

# CreateTrainingJob's pattern for a channel name; "." and ".." would leave the data directory.
CHANNEL_NAME = re.compile(r"[A-Za-z0-9._-]+")
#: The SageMaker SDK's own settings travel as hyperparameters prefixed so; they are not the model's.
SAGEMAKER_PREFIX = "sagemaker_"


class TrainingConfigError(ValueError):
    """The job's configuration cannot be trained on; the message says what to fix."""


@dataclass(frozen=True)
class TrainingJob:
    channels: dict[str, Path]
    #: As SageMaker passes them: every value a string.
    hyperparameters: dict[str, str]
    resource_config: dict[str, Any]

    @classmethod
    def read(cls, settings: TrainingSettings) -> TrainingJob:
        config = settings.input_config_dir
        data_config = _read_object(config / "inputdataconfig.json")
        return cls(
            channels=_channels(settings, data_config),
            hyperparameters=_hyperparameter_strings(settings.hyperparameters_json, config),
            resource_config=_read_object(config / "resourceconfig.json") or {},
        )


def _read_object(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return _json_object(text, str(path))


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrainingConfigError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TrainingConfigError(f"{what} holds a {type(value).__name__}; it must hold a JSON object")
    return value


def _channels(settings: TrainingSettings, data_config: dict[str, Any] | None) -> dict[str, Path]:
    """The channels inputdataconfig.json lists (else every directory under data/), each at
    data/<name>; an SM_CHANNEL_<NAME> variable moves or adds one."""
    data = settings.input_dir / "data"
    if data_config is not None:
        names = list(data_config)
    else:
        names = sorted(path.name for path in data.iterdir() if path.is_dir()) if data.is_dir() else []
    channels: dict[str, Path] = {}
    for name in names:
        if not CHANNEL_NAME.fullmatch(name) or name in (".", ".."):
            raise TrainingConfigError(f"channel name {name!r} is not one SageMaker allows ([A-Za-z0-9._-]+)")
        mode = (data_config or {}).get(name, {}).get("TrainingInputMode", "File")
        if mode == "Pipe":
            raise TrainingConfigError(
                f"channel {name} is in Pipe mode; train reads directories: use File or FastFile mode"
            )
        channels[name] = data / name
    by_variable = {name.upper(): name for name in channels}
    for upper, path in settings.channels.items():
        channels[by_variable.get(upper, upper.lower())] = path
    for name, path in channels.items():
        if not path.is_dir():
            raise TrainingConfigError(f"channel {name}: {path} is not a directory")
    return channels


def _hyperparameter_strings(sm_hps: str | None, config: Path) -> dict[str, str]:
    """SM_HPS (values already decoded, as the toolkit writes them) or hyperparameters.json, as strings."""
    if sm_hps is None:
        given = _read_object(config / "hyperparameters.json")
    else:
        given = _json_object(sm_hps, HYPERPARAMETERS_ENV)
    given = given or {}
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in given.items()
        if not name.startswith(SAGEMAKER_PREFIX)
    }


def decode(value: str) -> Any:
    """A hyperparameter's value: its JSON value when it is JSON ("256", "[1, 2]", "true"),
    else the string itself ("adam")."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def hyperparameters_for(model: type[BaseModel] | None, strings: Mapping[str, str]) -> Any:
    """The decoded hyperparameters, validated into `model` when there is one; a field declared
    as `str` keeps its string as sent ("2.50" stays "2.50")."""
    if model is None:
        return {name: decode(value) for name, value in strings.items()}
    fields = model.model_fields
    values = {
        name: value if name in fields and fields[name].annotation is str else decode(value)
        for name, value in strings.items()
    }
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise TrainingConfigError(f"invalid hyperparameters: {_errors(exc)}") from None


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'hyperparameters'}: {error['msg']}"
        + (f" (got {error['input']!r})" if error["type"] != "missing" else "")
        for error in exc.errors(include_url=False)
    )
