"""`predictor init DIR`: a project of the user's own, outside this repository, that works at once.

files/ holds what is written: `*.tmpl` files are rendered with string.Template ($project,
$stack_name, $version), `gitignore` becomes `.gitignore`, everything else is copied as it is.
files/template.yaml is derived from the repository's template.yaml, never edited by hand.
Then the predictor's own `train`, run as `predictor train` runs it, makes model/, and events/
gets one sample event per way AWS calls the function, built from the schema's example.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

from predictor._version import __version__

FILES = "files"
RENAMED = {"gitignore": ".gitignore"}
SAMPLE_BUCKET = "my-input-bucket"
SAMPLE_KEY = "input/example.jsonl"


class InitError(RuntimeError):
    """The project cannot be written; the message says what to do instead."""


def init_project(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the project into `directory` and return what was written, relative to it."""
    if directory.exists() and not directory.is_dir():
        raise InitError(f"{directory} is a file; name a new or empty directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise InitError(
            f"{directory} is not empty; name a new directory, or add --force to write over the files "
            "a project holds (others are left alone)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    project = directory.resolve().name
    values = {"project": project, "stack_name": stack_name(project), "version": __version__}
    written = _copy(resources.files(__package__).joinpath(FILES), directory, Path(), values)
    written += _train(directory)
    written += _write_events(directory)
    return written


def stack_name(project: str) -> str:
    """A CloudFormation stack name made from the directory's name: letters, digits and hyphens."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", project).strip("-")
    return name if name[:1].isalpha() else f"predictor-{name}".rstrip("-")


def _copy(source: Traversable, directory: Path, relative: Path, values: dict[str, str]) -> list[Path]:
    written: list[Path] = []
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            written += _copy(entry, directory, relative / entry.name, values)
            continue
        name = RENAMED.get(entry.name, entry.name)
        text = entry.read_text()
        if name.endswith(".tmpl"):
            name, text = name.removesuffix(".tmpl"), Template(text).substitute(values)
        target = directory / relative / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(relative / name)
    return written


def _train(directory: Path) -> list[Path]:
    """Run app.py's `train` as `predictor train . --model-dir model` does, so the model the project
    ships is the one `make train` rebuilds; with no channel it trains on its own seeded data."""
    from predictor.training import TrainingSettings, run_training

    model_dir = directory / "model"
    # An empty job of its own: no SM_* variable or /opt/ml of this machine reaches the training.
    with tempfile.TemporaryDirectory(prefix="predictor-init-") as job:
        settings = TrainingSettings(
            model_dir=model_dir,
            input_dir=Path(job) / "input",
            input_config_dir=Path(job) / "input" / "config",
            output_dir=Path(job) / "output",
        )
        with redirect_stdout(io.StringIO()) as said, redirect_stderr(said):
            status = run_training(str(directory / "app.py"), settings)
        if status != 0:
            failure = settings.failure_file
            reason = failure.read_text() if failure.is_file() else said.getvalue()
            raise InitError(
                "training the model failed (is numpy installed? "
                f"pip install 'serverless-predictor[serve,onnx]'):\n{reason.strip()}"
            )
    return sorted(path.relative_to(directory) for path in model_dir.iterdir())


def _write_events(directory: Path) -> list[Path]:
    from predictor._loading import load_predictor_class
    from predictor.testing import events, schema_examples
    from predictor.testing.events import SHAPES

    examples = schema_examples(load_predictor_class(str(directory)))
    if not examples:
        raise InitError("app.py's input model has no example; add json_schema_extra={'examples': [...]}")
    envelope = {"instances": examples[:1]}
    samples: dict[str, Any] = {f"{shape}.json": events.predict_event(shape, envelope) for shape in SHAPES}
    samples["direct-invoke.json"] = envelope
    samples["sqs.json"] = events.sqs_batch([examples[0], envelope], queue="requests")
    samples["s3-put.json"] = events.s3_put(SAMPLE_BUCKET, SAMPLE_KEY)
    (directory / "events").mkdir(exist_ok=True)
    for name, event in samples.items():
        (directory / "events" / name).write_text(json.dumps(event, indent=2) + "\n")
    return [Path("events") / name for name in sorted(samples)]
