"""`predictor invoke` shows the function's log lines and, as a table, the metrics it would send."""

from __future__ import annotations

import json
import os
import re

from support.fresh_python import run_cli


def test_invoke_prints_the_log_lines_and_a_table_of_the_metrics_not_the_raw_emf() -> None:
    env = {
        **os.environ,
        "POWERTOOLS_SERVICE_NAME": "predictor",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessPredictor",
    }
    finished = run_cli("invoke", "functions/iris", "events/http-api-v2-predict-invalid.json", env=env)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["statusCode"] == 422  # standard output holds the response alone
    lines = finished.stderr.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert not any("_aws" in record for record in records)
    [request] = [r for r in records if r["message"] == "request"]
    assert (request["status"], request["invalid_instances"], request["source"]) == (422, 1, "http")
    heading = lines.index(
        "predictor: metrics a deployed function would send to CloudWatch (ServerlessPredictor):"
    )
    table = lines[heading + 1 :]
    assert table[0].split() == ["metric", "dimensions", "unit", "values"]
    rows = {row.split()[0]: row.split()[1:] for row in table[1:]}
    assert rows["InvalidInstances"] == ["service=predictor", "model=Iris", "Count", "1"]
    assert rows["Errors"] == ["service=predictor", "model=Iris", "status=422", "Count", "1"]
    assert rows["Latency"][2] == "Milliseconds" and re.fullmatch(r"[0-9.e-]+", rows["Latency"][3])
