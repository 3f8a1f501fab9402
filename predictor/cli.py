"""`predictor serve | invoke`: run a function locally the way it runs on AWS."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predictor._loading import LoadError, load_predictor_class
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
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve a function over HTTP on this machine")
    serve.add_argument("function", help="function directory, or path/app.py[:Class]")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    invoke = commands.add_parser("invoke", help="run the Lambda handler on an event file")
    invoke.add_argument("function", help="function directory, or path/app.py[:Class]")
    invoke.add_argument("event", help="event JSON file, or - for standard input")

    fetch = commands.add_parser("fetch", help="download an artifact set as the runtime would")
    fetch.add_argument("uri", help="s3://bucket/prefix/, s3://bucket/model.tar.gz, file:// or a path")
    fetch.add_argument("directory", help="where to put the artifacts")

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.function, args.host, args.port)
        if args.command == "fetch":
            return _fetch(args.uri, Path(args.directory))
        return _invoke(args.function, args.event)
    except (LoadError, ArtifactsError, OSError, ValueError) as exc:
        print(f"predictor: {exc}", file=sys.stderr)
        return 2
    except ProblemError as exc:  # a direct invocation's 5xx, raised as on Lambda
        print(f"predictor: {exc.problem.status} {exc.problem.title}: {exc.problem.detail}", file=sys.stderr)
        return 1


def _serve(function: str, host: str, port: int) -> int:
    import uvicorn

    from predictor.runtime import started_runtime
    from predictor.server.app import create_app
    from predictor.server.settings import ServerSettings, guarded, uvicorn_options

    settings = ServerSettings.from_environ()
    runtime = started_runtime(load_predictor_class(function))
    if runtime.failure:
        print(f"predictor: not ready, /health answers 503: {runtime.failure}", file=sys.stderr)
    # The app's lifespan runs teardown: uvicorn re-raises SIGTERM after shutdown.
    app = guarded(create_app(runtime), runtime.schema, settings)
    uvicorn.run(app, host=host, port=port, log_level="info", **uvicorn_options(settings))
    return 0


def _invoke(function: str, event_path: str) -> int:
    from predictor.aws_lambda import LambdaHandler

    text = sys.stdin.read() if event_path == "-" else Path(event_path).read_text()
    try:
        event: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{event_path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{event_path} is nested too deeply to be an event") from None
    predictor_class = load_predictor_class(function)
    handler = LambdaHandler.for_predictor(predictor_class)
    response = handler(event, LocalContext(predictor_class.name))
    print(json.dumps(response, indent=2))
    return 0


def _fetch(uri: str, directory: Path) -> int:
    from predictor._progress import terminal_progress

    with terminal_progress(uri) as (total, advance):
        source = resolve_artifacts(uri, total=total, progress=advance)
    _link_tree(source, directory)
    print(f"{uri} -> {directory}", file=sys.stderr)
    return 0


def _link_tree(source: Path, directory: Path) -> None:
    """Hard-link from the cache where the filesystem allows it, otherwise copy."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, directory, symlinks=True, copy_function=link_or_copy, dirs_exist_ok=True)


if __name__ == "__main__":
    sys.exit(main())
