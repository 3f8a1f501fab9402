"""Lambda HTTP events for the tests: the builders are predictor.testing.events' (what users' own tests
call), plus the iris instances and the sample events in events/.
`PYTHONPATH=tests python -m support.lambda_events` rewrites the sample events in events/ from these builders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from predictor.testing import LambdaContext
from predictor.testing.events import (
    JSON_HEADERS,
    SHAPES,
    URL_ID,
    alb,
    alb_multi_value,
    function_url,
    http_api_v1,
    http_api_v2,
    http_event,
    predict_event,
    response_headers,
    response_json,
    rest_api,
)
from support.paths import SAMPLES

__all__ = [
    "JSON_HEADERS",
    "SETOSA",
    "SHAPES",
    "URL_ID",
    "VIRGINICA",
    "LambdaContext",
    "alb",
    "alb_multi_value",
    "function_url",
    "http_api_v1",
    "http_api_v2",
    "http_event",
    "predict_event",
    "request_id_of",
    "response_headers",
    "response_json",
    "rest_api",
    "sample_events",
    "write_samples",
]

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


def request_id_of(event: Mapping[str, Any], context: LambdaContext) -> str:
    """The id a Lambda HTTP answer names its request by: API Gateway's and Function URLs'
    `requestContext.requestId`, or for ALB, which has none, the invocation's."""
    return str(event["requestContext"].get("requestId") or context.aws_request_id)


def sample_events() -> dict[str, Any]:
    """The files in events/, by name."""
    good = {"instances": [SETOSA, VIRGINICA]}
    negative = {"instances": [{**SETOSA, "petal_width": -0.2}]}
    return {
        "http-api-v2-predict.json": predict_event("http-api-v2", good),
        "http-api-v2-predict-base64.json": predict_event("http-api-v2", good, b64=True),
        "http-api-v2-predict-invalid.json": predict_event("http-api-v2", negative),
        "http-api-v2-predict-malformed.json": http_api_v2(
            "POST", "/predict", headers=JSON_HEADERS, body='{"instances": [{"sepal_length": 5.1,'
        ),
        "http-api-v2-health.json": http_api_v2("GET", "/health"),
        "http-api-v1-predict.json": predict_event("http-api-v1", good),
        "rest-api-predict.json": predict_event("rest-api", good),
        "alb-predict.json": predict_event("alb", good),
        "alb-multi-value-predict.json": predict_event("alb-multi-value", good),
        "function-url-predict.json": predict_event("function-url", good),
        "direct-invoke.json": good,
    }


def write_samples(directory: Path = SAMPLES) -> None:
    for name, event in sample_events().items():
        (directory / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    write_samples()
