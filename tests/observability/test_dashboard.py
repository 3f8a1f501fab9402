"""The template's dashboard and alarms read the metrics the functions really emit, where they emit them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support.cloudformation import TEMPLATE, load_template, resources_of_type
from support.paths import REPO

from predictor._loading import load_predictor_class
from predictor.context import BUILT_IN_METRICS
from predictor.observability._settings import DEFAULT_NAMESPACE

STACK = "predictor-stack"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["PredictorDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    substituted = body.replace("${AWS::Region}", "eu-west-1").replace("${AWS::StackName}", STACK)
    assert "${" not in substituted
    parsed: dict[str, Any] = json.loads(substituted)
    return parsed


def test_the_functions_emit_in_the_namespace_the_dashboard_and_alarms_read(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    namespace = variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}

    series = [row for widget in dashboard(template)["widgets"] for row in widget["properties"]["metrics"]]
    assert {row[0] for row in series if isinstance(row[0], str) and row[0] not in (".", "...")} == {namespace}
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    own = [a["Properties"] for name, a in alarms.items() if name.startswith("Predictor")]
    stats = [m["MetricStat"]["Metric"] for a in own for m in a.get("Metrics", []) if "MetricStat" in m]
    assert {a["Namespace"] for a in own if "Namespace" in a} | {s["Namespace"] for s in stats} == {namespace}
    assert namespace == DEFAULT_NAMESPACE  # what a function run without the template emits too


def test_the_dashboard_shows_latency_percentiles_errors_cold_starts_batch_sizes_and_records(
    template: dict[str, Any],
) -> None:
    widgets = dashboard(template)["widgets"]
    rows = [row for widget in widgets for row in widget["properties"]["metrics"]]
    # A row names its metric second, or repeats the one above ("..."); a search names it in its query.
    listed = {row[1] for row in rows if row[0] != "..." and isinstance(row[0], str)}
    searched = {
        name
        for row in rows
        if isinstance(row[0], dict)
        for name in re.findall(r'MetricName="(\w+)"', row[0]["expression"])
    }
    stats = {
        row[-1]["stat"] for row in rows if row[0] != "." and isinstance(row[-1], dict) and "stat" in row[-1]
    }

    assert {
        "Latency",
        "ColdStart",
        "BatchSize",
        "RecordsPredicted",
        "RecordsInvalid",
        "RecordsFailed",
    } <= listed
    assert searched == {"Errors"}
    assert listed | searched <= BUILT_IN_METRICS  # nothing the functions do not emit
    assert {"p50", "p90", "p99"} <= stats


def test_alarms_watch_500s_failed_records_and_the_share_of_invalid_instances(
    template: dict[str, Any],
) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    model = load_predictor_class(str(REPO / "functions" / "iris")).name

    errors = alarms["PredictorServerErrorsAlarm"]["Properties"]
    assert errors["MetricName"] == "Errors"
    assert {d["Name"]: d["Value"] for d in errors["Dimensions"]} == {
        "service": {"Ref": "AWS::StackName"},
        "model": model,
        "status": "500",
    }
    assert alarms["PredictorRecordsFailedAlarm"]["Properties"]["MetricName"] == "RecordsFailed"
    share = alarms["PredictorInvalidShareAlarm"]["Properties"]["Metrics"]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in share if "MetricStat" in m} == {
        "InvalidInstances",
        "Instances",
    }
    for alarm in ("PredictorServerErrorsAlarm", "PredictorRecordsFailedAlarm", "PredictorInvalidShareAlarm"):
        assert alarms[alarm]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
