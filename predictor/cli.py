"""`predictor serve | invoke`: run a function locally the way it runs on AWS."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from predictor._loading import LoadError, load_predictor_class


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

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.function, args.host, args.port)
        return _invoke(args.function, args.event)
    except (LoadError, OSError, ValueError) as exc:
        print(f"predictor: {exc}", file=sys.stderr)
        return 2


def _serve(function: str, host: str, port: int) -> int:
    import uvicorn

    from predictor._runtime import started_runtime
    from predictor.http import create_app

    runtime = started_runtime(load_predictor_class(function))
    if runtime.failure:
        print(f"predictor: not ready, /health answers 503: {runtime.failure}", file=sys.stderr)
    try:
        uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")
    finally:
        runtime.stop()
    return 0


def _invoke(function: str, event_path: str) -> int:
    from predictor.aws_lambda import LambdaHandler

    text = sys.stdin.read() if event_path == "-" else Path(event_path).read_text()
    try:
        event: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{event_path} is not valid JSON: {exc}") from None
    predictor_class = load_predictor_class(function)
    handler = LambdaHandler.for_predictor(predictor_class)
    response = handler(event, LocalContext(predictor_class.name))
    print(json.dumps(response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
