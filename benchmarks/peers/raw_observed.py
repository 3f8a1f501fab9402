"""The floor for observability: the raw handler plus, by hand with Powertools, the log line and the
EMF metrics predictor writes per request (same fields, same metrics, same dimensions)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from benchmarks.peers.iris_model import IrisModel, IrisRequest


def build(model_dir: Path, stream: IO[str]) -> Any:
    """`stream` takes the log lines; the metrics go where Powertools prints them (standard output)."""
    model = IrisModel(model_dir)
    logger = Logger(service="raw-observed", stream=stream)
    logger.append_keys(model="Iris", model_version="1", function_name=None)
    metrics = Metrics(namespace="ServerlessPredictor", service="raw-observed")
    metrics.set_default_dimensions(model="Iris")
    cold = [True]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        request_id = event["requestContext"]["requestId"]
        request = IrisRequest.model_validate_json(event["body"])
        predicting = time.perf_counter()
        predictions = model.predict(request.instances)
        predict_ms = (time.perf_counter() - predicting) * 1000
        body = orjson.dumps({"predictions": predictions}).decode()
        latency_ms = (time.perf_counter() - started) * 1000
        instances = len(request.instances)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        metrics.add_metric(name="Instances", unit=MetricUnit.Count, value=instances)
        metrics.add_metric(name="InvalidInstances", unit=MetricUnit.Count, value=0)
        metrics.add_metric(name="PredictLatency", unit=MetricUnit.Milliseconds, value=predict_ms)
        metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=instances)
        metrics.add_metadata(key="request_id", value=request_id)
        metrics.add_metadata(key="model_version", value="1")
        metrics.flush_metrics()
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "cold_start": cold[0],
                "source": "http",
                "status": 200,
                "instances": instances,
                "invalid_instances": 0,
                "latency_ms": round(latency_ms, 3),
                "function_request_id": context.aws_request_id,
                "predict_ms": round(predict_ms, 3),
                "batches": 1,
            },
        )
        cold[0] = False
        return {
            "statusCode": 200,
            "headers": {
                "content-type": "application/json",
                "x-request-id": request_id,
                "x-model-version": "1",
            },
            "body": body,
            "isBase64Encoded": False,
        }

    return handler
