"""The bucket-wide job's item, as template.yaml's Distributed Map builds it, is an event the events
function answers: each object listed under the input prefix ends in its .out and .manifest.json."""

from __future__ import annotations

import json
from typing import Any

from support.cloudformation import TEMPLATE, load_template
from support.event_sources import handler_for, item, jsonl, read, read_lines
from support.lambda_events import LambdaContext
from support.s3_server import EventsAws


def map_state() -> dict[str, Any]:
    machine = load_template(TEMPLATE)["Resources"]["BucketJobStateMachine"]["Properties"]
    (state,) = [s for s in machine["Definition"]["States"].values() if s["Type"] == "Map"]
    return state


def render(selector: Any, substitutions: dict[str, str], listed: dict[str, Any]) -> Any:
    """ItemSelector applied to one listObjectsV2 item, as Step Functions does."""
    if isinstance(selector, dict):
        out = {}
        for key, value in selector.items():
            if key.endswith(".$"):
                prefix = "$$.Map.Item.Value."
                assert value.startswith(prefix), value
                out[key.removesuffix(".$")] = listed[value.removeprefix(prefix)]
            else:
                out[key] = render(value, substitutions, listed)
        return out
    if isinstance(selector, str):
        for name, value in substitutions.items():
            selector = selector.replace("${" + name + "}", value)
    return selector


def test_each_listed_object_is_answered_as_an_upload(events_aws: EventsAws) -> None:
    inputs, outputs = events_aws.server.create_bucket(), events_aws.server.create_bucket()
    state = map_state()
    prefix = load_template(TEMPLATE)["Parameters"]["JobInputPrefix"]["Default"]
    keys = [f"{prefix}a.jsonl", f"{prefix}nested/b.jsonl"]
    for key in keys:
        body = jsonl(item("a"), item("b", x=-1))
        events_aws.s3.put_object(Bucket=inputs, Key=key, Body=body)
    reader = state["ItemReader"]["Parameters"]
    assert (reader["Bucket"], reader["Prefix"]) == ("${InputBucket}", "${InputPrefix}")
    listed = events_aws.s3.list_objects_v2(Bucket=inputs, Prefix=prefix)["Contents"]
    handler = handler_for("echo", {"OUTPUT_URI": f"s3://{outputs}/results/"})

    for entry in listed:
        event = render(state["ItemSelector"], {"InputBucket": inputs}, entry)
        answer = json.loads(json.dumps(handler(event, LambdaContext())))
        assert answer["results"][0]["records"] == 2

    for key in keys:
        lines = read_lines(events_aws.s3, outputs, f"results/{key}.out")
        assert [next(iter(line)) for line in lines] == ["prediction", "problem"]
        manifest = json.loads(read(events_aws.s3, outputs, f"results/{key}.manifest.json"))
        assert manifest["input"] == f"s3://{inputs}/{key}"
