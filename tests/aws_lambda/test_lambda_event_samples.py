"""Every event-source sample in events/ runs through `predictor invoke` against moto, printing its
answer on stdout and what it wrote on stderr."""

from __future__ import annotations

import json

import pytest
from support.aws_events import SAMPLE_BUCKET, SAMPLE_KEY, SAMPLES, SETOSA, sample_events
from support.fresh_python import run_cli
from support.s3_server import EventsAws, clean_environ

from predictor.cli import main


def test_event_source_samples_are_what_the_builders_make() -> None:
    for name, event in sample_events().items():
        assert json.loads((SAMPLES / name).read_text()) == event, f"regenerate events/{name}"


@pytest.mark.parametrize("sample", sorted(sample_events()))
def test_event_source_sample_runs_through_the_cli(events_aws: EventsAws, sample: str) -> None:
    existing = {bucket["Name"] for bucket in events_aws.s3.list_buckets()["Buckets"]}
    if SAMPLE_BUCKET not in existing:
        events_aws.s3.create_bucket(Bucket=SAMPLE_BUCKET)
    events_aws.s3.put_object(Bucket=SAMPLE_BUCKET, Key=SAMPLE_KEY, Body=json.dumps(SETOSA).encode() + b"\n")
    outputs = events_aws.server.create_bucket()
    env = clean_environ(
        **events_aws.server.env,
        AWS_ENDPOINT_URL=events_aws.server.endpoint_url,
        OUTPUT_URI=f"s3://{outputs}/results/",
    )

    finished = run_cli("invoke", "functions/iris", f"events/{sample}", env=env)

    assert finished.returncode == 0, finished.stderr
    answer = json.loads(finished.stdout)
    if sample.startswith("s3-batch"):
        assert [result["resultCode"] for result in answer["results"]] == ["Succeeded"]
    elif "sqs" in sample:
        assert answer == {"batchItemFailures": []}
    if sample == "eventbridge-scheduled.json":
        assert answer == {"status": "ready"}
    elif sample == "s3-test-event-via-sqs.json":
        assert "predictor: wrote" not in finished.stderr
    else:
        assert f"predictor: wrote s3://{outputs}/results/" in finished.stderr


def test_invoke_reports_each_write_once_however_many_times_it_runs_in_a_process(
    events_aws: EventsAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = {bucket["Name"] for bucket in events_aws.s3.list_buckets()["Buckets"]}
    if SAMPLE_BUCKET not in existing:
        events_aws.s3.create_bucket(Bucket=SAMPLE_BUCKET)
    events_aws.s3.put_object(Bucket=SAMPLE_BUCKET, Key=SAMPLE_KEY, Body=json.dumps(SETOSA).encode() + b"\n")
    monkeypatch.setenv("OUTPUT_URI", f"s3://{events_aws.server.create_bucket()}/results/")

    reported = []
    for _ in range(3):
        assert main(["invoke", "functions/iris", "events/s3-put.json"]) == 0
        reported.append(capsys.readouterr().err.count("predictor: wrote s3://"))

    assert reported[0] > 0
    assert reported == [reported[0]] * 3
