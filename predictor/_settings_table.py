"""Every variable the package reads, in one table rendered from the settings classes
(`predictor settings`); docs/settings.md holds it, and a test keeps the two equal."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

from predictor.artifacts._settings import CLIENT_ENV, MODEL_URI_ENV, PREFETCH_ENV, FetchSettings
from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.large_payloads import LargePayloadSettings
from predictor.limits import Limits
from predictor.observability._settings import ObservabilitySettings
from predictor.server.serve import WORKER_SETTINGS_ENV
from predictor.server.settings import BatchSettings, MultiModelSettings, ServerSettings, ServeSettings
from predictor.training._settings import CHANNEL_ENV_PREFIX, TrainingSettings

MIB = 1024 * 1024

SERVE, EVENTS, EVERY, FETCH = "`predictor serve`", "events", "every transport", "artifacts"
LAMBDA = "Lambda"
TRAIN = "`predictor train`"


@dataclass(frozen=True)
class Variable:
    names: tuple[str, ...]
    default: str
    doc: str
    read_by: str = ""


AWS = (
    Variable(
        ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"),
        "AWS",
        "any S3- or SQS-compatible server (boto3's own variables; the artifact fetch reads the S3 ones)",
        f"{FETCH}, {EVENTS}",
    ),
    Variable(
        (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ),
        "boto3's chain",
        "credentials and region, read as boto3 reads them (Lambda sets them)",
        f"{FETCH}, {EVENTS}",
    ),
)

#: The table's rows in order: each settings class (with what reads it), and the variables read
#: outside them, by the runtime, the artifact prefetch, the logger and boto3.
ROWS: tuple[tuple[type[Any], str] | Variable, ...] = (
    Variable(
        (MODEL_URI_ENV,),
        "the function's `model/`; for `predictor serve`, `/opt/ml/model` when it holds files",
        "where `setup`'s artifacts come from: a directory, `file://`, `s3://bucket/prefix/`, "
        "`s3://bucket/key`, `s3://bucket/model.tar.gz` (see Artifacts)",
        FETCH,
    ),
    (FetchSettings, FETCH),
    Variable(
        (PREFETCH_ENV,),
        "1",
        "`0`: on Lambda, do not start downloading an `s3://` `MODEL_URI` at `import predictor`",
        FETCH,
    ),
    Variable(
        (CLIENT_ENV,),
        "none",
        "`boto3`: download artifacts with boto3 even when the environment holds credentials and a "
        "region (then the standard library is used)",
        FETCH,
    ),
    *AWS,
    (Limits, EVERY),
    (EventSettings, EVENTS),
    (LargePayloadSettings, LAMBDA),
    Variable(
        ("AWS_EXECUTION_ENV",),
        "set by Lambda",
        "the Lambda runtime (`AWS_Lambda_python3.12`): from python3.12 on it writes non-ASCII "
        "responses as UTF-8, which the response limit counts",
        LAMBDA,
    ),
    (BatchSettings, SERVE),
    (ServeSettings, SERVE),
    (ServerSettings, SERVE),
    (MultiModelSettings, SERVE),
    (TrainingSettings, TRAIN),
    Variable(
        (f"{CHANNEL_ENV_PREFIX}<NAME>",),
        "`data/<name>` under the input directory",
        "an input channel's directory, its name upper-cased (`SM_CHANNEL_TRAIN`); wins over the layout's",
        TRAIN,
    ),
    (ObservabilitySettings, EVERY),
    Variable(
        (WORKER_SETTINGS_ENV,),
        "none",
        "not for users: `predictor serve` hands its resolved settings to its worker processes in it",
        SERVE,
    ),
)


def variables() -> list[Variable]:
    """Every variable, once: one that several classes read (PREDICTOR_BATCH_SIZE) is one row,
    naming them all; they must agree on its default."""
    rows: dict[tuple[str, ...], Variable] = {}
    for row in ROWS:
        declared = [row] if isinstance(row, Variable) else declared_variables(*row)
        for variable in declared:
            seen = rows.get(variable.names)
            if seen is None:
                rows[variable.names] = variable
            elif seen.default != variable.default:
                raise ValueError(
                    f"{variable.names[0]} has two defaults: {seen.default} and {variable.default}"
                )
            else:
                rows[variable.names] = replace(seen, read_by=f"{seen.read_by}, {variable.read_by}")
    return list(rows.values())


def declared_variables(cls: type[Any], read_by: str = "") -> list[Variable]:
    """The variables a settings class's fields declare, with the fields' own defaults."""
    return [
        Variable(
            f.metadata["names"],
            f.metadata.get("default") or show(f.name, _default(f)),
            f.metadata["doc"],
            read_by,
        )
        for f in fields(cls)
        if "env" in f.metadata
    ]


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING and f.default_factory is not MISSING else f.default


def show(name: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Path):
        return f"`{value}`"
    if name.endswith("bytes") and isinstance(value, int) and value >= MIB and value % MIB == 0:
        mib = value // MIB
        return f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"
    if isinstance(value, float):
        return f"{value:g} s" if name.endswith(("_s", "timeout")) else f"{value:g}"
    return f"{value:,}" if isinstance(value, int) and value >= 10_000 else str(value)


def render() -> str:
    """The settings table, as Markdown."""
    lines = ["| variable | default | read by | what |", "|---|---|---|---|"]
    for row in variables():
        names = ", ".join(f"`{name}`" for name in row.names)
        lines.append(f"| {names} | {row.default} | {row.read_by} | {row.doc} |")
    return "\n".join(lines) + "\n"
