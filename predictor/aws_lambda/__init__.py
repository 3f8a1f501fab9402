"""The Lambda transport: one handler for every event source, each source a module of its own in
`sources/` (the registry is its `__init__`); the S3-file pipeline they share lives in `s3_files/`."""

from predictor.aws_lambda._handler import LambdaHandler, SetupFailed, lambda_handler
from predictor.aws_lambda._source import MalformedEvent, UnrecognisedEvent

__all__ = ["LambdaHandler", "MalformedEvent", "SetupFailed", "UnrecognisedEvent", "lambda_handler"]
