"""`predictor init | serve | train | invoke | check | fetch | settings`: start a project and run it
locally the way it runs on AWS."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import traceback
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predictor._loading import LoadError, load_predictor_class
from predictor._version import __version__
from predictor.artifacts import ArtifactsError, resolve_artifacts
from predictor.problems import ProblemError


class LocalContext:
    """The parts of Lambda's context object a handler reads."""

    def __init__(self, function_name: str) -> None:
        self.aws_request_id = uuid.uuid4().hex
        self.function_name = function_name
        self.memory_limit_in_mb = 1769

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="predictor", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a function over HTTP (also SageMaker's `serve`)")
    serve.add_argument(
        "function", nargs="?", help="function directory, or path/app.py[:Class]; default $PREDICTOR_FUNCTION"
    )
    serve.add_argument("--host", help="default $PREDICTOR_HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, help="default $SAGEMAKER_BIND_TO_PORT, $PREDICTOR_PORT, else 8000")

    train = commands.add_parser(
        "train", help="train a function to SageMaker's contract (also SageMaker's `train`)"
    )
    train.add_argument(
        "function", nargs="?", help="function directory, or path/app.py[:Class]; default $PREDICTOR_FUNCTION"
    )
    train.add_argument("--model-dir", help="where the model goes; default $SM_MODEL_DIR, else /opt/ml/model")
    train.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="an input channel's directory (repeat for each); as $SM_CHANNEL_<NAME>",
    )
    train.add_argument(
        "--hyperparameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a hyperparameter as SageMaker sends it, a string (repeat for each); "
        "given, they replace hyperparameters.json and $SM_HPS",
    )
    train.add_argument(
        "--output-dir", help="where a failure is written; default $SM_OUTPUT_DIR, else /opt/ml/output"
    )

    invoke = commands.add_parser("invoke", help="run the Lambda handler on an event file")
    invoke.add_argument("function", help="function directory, or path/app.py[:Class]")
    invoke.add_argument("event", help="event JSON file, or - for standard input")
    invoke.add_argument("--debug", action="store_true", help="print the traceback of an invocation's error")

    check = commands.add_parser(
        "check", help="check a function before deploying it: every transport, OpenAPI, size"
    )
    check.add_argument("function", help="function directory, or path/app.py[:Class]")
    check.add_argument(
        "--build-dir", type=Path, help="a sam build directory; default FUNCTION/.aws-sam/build"
    )

    fetch = commands.add_parser("fetch", help="download an artifact set as the runtime would")
    fetch.add_argument("uri", help="s3://bucket/prefix/, s3://bucket/model.tar.gz, file:// or a path")
    fetch.add_argument("directory", help="where to put the artifacts")

    init = commands.add_parser(
        "init", help="start a project of your own: app, model, tests, events, template"
    )
    init.add_argument("directory", help="where to write it (new, or empty unless --force)")
    init.add_argument("--force", action="store_true", help="write into a non-empty directory")

    commands.add_parser("settings", help="list every environment variable read, with its default (Markdown)")

    args = parser.parse_args(argv)
    if args.command == "settings":
        from predictor._settings_table import render

        print(render(), end="")
        return 0
    try:
        if args.command == "init":
            return _init(Path(args.directory), force=args.force)
        if args.command == "check":
            from predictor.check import check as run_check

            return run_check(args.function, args.build_dir)
        if args.command == "serve":
            return _serve(args.function, args.host, args.port)
        if args.command == "train":
            return _train(args.function, args.model_dir, args.output_dir, args.channel, args.hyperparameter)
        if args.command == "fetch":
            return _fetch(args.uri, Path(args.directory))
        return _invoke(args.function, args.event, debug=args.debug)
    except (LoadError, ArtifactsError, OSError, ValueError) as exc:
        print(f"predictor: {exc}", file=sys.stderr)
        return 2


NEXT_COMMANDS = ("make test", "make serve", "make check", "sam build", "sam deploy --guided")


def _init(directory: Path, *, force: bool) -> int:
    from predictor.scaffold import InitError, init_project

    try:
        written = init_project(directory, force=force)
    except InitError as exc:
        print(f"predictor: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {directory}/")
    for path in written:
        print(f"  {path}")
    print(f"\nnext:\n  cd {directory}", *NEXT_COMMANDS, sep="\n  ")
    return 0


def _serve(function: str | None, host: str | None, port: int | None) -> int:
    from predictor.server.serve import ServeSettings, serve

    return serve(ServeSettings.resolve(function, host, port))


def _train(
    function: str | None,
    model_dir: str | None,
    output_dir: str | None,
    channels: list[str],
    hyperparameters: list[str],
) -> int:
    from predictor.server.settings import FUNCTION_ENV
    from predictor.training import TrainingSettings, run_training
    from predictor.training._settings import (
        CHANNEL_ENV_PREFIX,
        HYPERPARAMETERS_ENV,
        MODEL_DIR_ENV,
        OUTPUT_DIR_ENV,
    )

    function = function or os.environ.get(FUNCTION_ENV)
    if not function:
        raise ValueError(f"name the function to train (predictor train functions/NAME) or set {FUNCTION_ENV}")
    # The arguments given win: they are what the SM_* variables would have said.
    environ = dict(os.environ)
    if model_dir:
        environ[MODEL_DIR_ENV] = model_dir
    if output_dir:
        environ[OUTPUT_DIR_ENV] = output_dir
    for name, directory in map(_pair, channels):
        environ[CHANNEL_ENV_PREFIX + name.upper()] = directory
    if hyperparameters:
        environ[HYPERPARAMETERS_ENV] = json.dumps(dict(map(_pair, hyperparameters)))
    return run_training(function, TrainingSettings.from_environ(environ))


def _pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not name or not equals:
        raise ValueError(f"{text!r} is not NAME=VALUE")
    return name, value


def _invoke(function: str, event_path: str, *, debug: bool = False) -> int:
    from predictor.aws_lambda import LambdaHandler

    text = sys.stdin.read() if event_path == "-" else Path(event_path).read_text()
    try:
        event: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{event_path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{event_path} is nested too deeply to be an event") from None
    from predictor._aws_clients import reporting_writes
    from predictor.observability.emf_table import EmfSplitter, render

    # Standard output carries the response alone: the function's logs and the objects
    # and messages an event wrote go to standard error, the metrics as a table.
    report = reporting_writes(lambda line: print(f"predictor: {line}", file=sys.stderr))
    logs = EmfSplitter(sys.stderr)
    with report, contextlib.redirect_stdout(logs):
        predictor_class = load_predictor_class(function)
        handler = LambdaHandler.for_predictor(predictor_class)
        context = LocalContext(predictor_class.name)
        try:
            response = handler(event, context)
        except Exception as exc:  # as Lambda's runtime does: any exception fails the invocation
            failure: Exception | None = exc
        else:
            failure = None
    logs.flush()
    if logs.emf:
        namespace = json.loads(logs.emf[0])["_aws"]["CloudWatchMetrics"][0]["Namespace"]
        heading = f"predictor: metrics a deployed function would send to CloudWatch ({namespace}):"
        print(heading, file=sys.stderr)
        print(render(logs.emf), file=sys.stderr)
    if failure is not None:
        return _invocation_failed(failure, context.aws_request_id, debug=debug)
    print(json.dumps(response, indent=2))
    return 0


def _invocation_failed(exc: Exception, request_id: str, *, debug: bool) -> int:
    """Report an exception that escaped the handler as `sam local invoke` shows Lambda's: the
    runtime's error object on standard output, then one line on standard error (the traceback
    before it only with --debug), exit 1."""
    print(json.dumps(lambda_error(exc, request_id), indent=2))
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ProblemError):  # a direct invocation's 5xx, raised as on Lambda
        line = f"{exc.problem.status} {exc.problem.title}: {exc.problem.detail}"
    else:
        message = " ".join(str(exc).split())
        line = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    print(f"predictor: {line}", file=sys.stderr)
    return 1


def lambda_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error object Lambda's Python runtime answers for an unhandled exception (awslambdaric's
    make_error): the stack trace starts at the handler, without the frames that called it."""
    frames = list(traceback.extract_tb(exc.__traceback__))
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    # Frames as the runtime formats them: file, line, function and source, no column markers.
    plain = [traceback.FrameSummary(f.filename, f.lineno, f.name, line=f.line) for f in frames]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(plain),
    }


def _fetch(uri: str, directory: Path) -> int:
    from predictor._progress import terminal_progress

    with terminal_progress(uri) as (total, advance):
        source = resolve_artifacts(uri, total=total, progress=advance)
    _link_tree(source, directory)
    print(f"{uri} -> {directory}", file=sys.stderr)
    return 0


def _link_tree(source: Path, directory: Path) -> None:
    """Hard-link from the cache where the filesystem allows it, otherwise copy. What a previous
    fetch left in `directory` is replaced, each file whole (a link or copy renamed over it)."""
    for root, subdirectories, files in os.walk(source):
        here = Path(root)
        into = directory / here.relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        linked_dirs = [name for name in subdirectories if (here / name).is_symlink()]
        for name in [*files, *linked_dirs]:
            _place(here / name, into / name)


def _place(source: Path, destination: Path) -> None:
    if source.is_symlink():
        target = os.readlink(source)
        if destination.is_symlink() and os.readlink(destination) == target:
            return
    elif destination.is_file() and not destination.is_symlink() and os.path.samefile(source, destination):
        return  # already this very file: renaming a link to it over itself would do nothing
    unfinished = destination.with_name(f".fetch-{uuid.uuid4().hex[:12]}")
    try:
        if source.is_symlink():
            os.symlink(target, unfinished)
        else:
            try:
                os.link(source, unfinished)
            except OSError:
                shutil.copy2(source, unfinished)
        os.replace(unfinished, destination)
    finally:
        unfinished.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
