"""Settings are read once per entry point, an argument given winning over its variable, and handed down."""

from __future__ import annotations

from fresh_python import python_json
from s3_server import clean_environ

HANDLER_SETTINGS = """
import json
from predictor._loading import load_predictor_class
from predictor.aws_lambda import lambda_handler
handler = lambda_handler(
    load_predictor_class("tests/fixtures/predictors/echo.py"), output_uri="s3://given/results", batch_size=3
)
held = [getattr(source, "settings", None) or source.files.settings for source in handler.sources
        if hasattr(source, "settings") or hasattr(source, "files")]
print(json.dumps({
    "output": handler.settings.output.uri(), "batch_size": handler.settings.batch_size,
    "sources": len(held), "shared": all(settings is handler.settings for settings in held),
}))
"""


def test_lambda_handler_arguments_win_over_the_environment_and_reach_every_source() -> None:
    environ = clean_environ(
        AWS_DEFAULT_REGION="us-east-1", OUTPUT_URI="s3://from-environ/x/", PREDICTOR_BATCH_SIZE="9"
    )

    assert python_json(HANDLER_SETTINGS, env=environ) == {
        "output": "s3://given/results/",
        "batch_size": 3,
        "sources": 4,  # S3 notifications, S3 Batch Operations, SQS, S3 via EventBridge
        "shared": True,
    }
