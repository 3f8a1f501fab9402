"""Lambda events in the shapes AWS sends, for tests of your own and for the sample events in a project.

The HTTP builders take any method, path, headers and body and answer API Gateway HTTP API (payload
2.0 and 1.0), REST API proxy, ALB (with and without multi-value headers) and Function URL events.
The event-source builders answer S3 notifications (direct, via EventBridge, via SQS), SQS batches,
S3 Batch Operations and EventBridge events.

aws_samples/ holds `sam local generate-event` output verbatim (HTTP API payload 2.0, REST API proxy,
ALB, `s3 put`, `sqs receive-message`, `s3 batch-invocation`, `cloudwatch scheduled-event`). SAM CLI has
no generator for HTTP API payload 1.0, Function URL events, EventBridge's S3 "Object Created", custom
EventBridge events, S3's test event or Batch Operations schema 2.0; those are derived here from the
generated ones, following the shapes AWS documents.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

EVENT_TEMPLATES = Path(__file__).parent / "aws_samples"
REGION = "us-east-1"
ACCOUNT = "123456789012"
JSON_HEADERS = {"Content-Type": "application/json"}
URL_ID = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"

Headers = Mapping[str, str] | None
Body = str | bytes | None


def http_api_v2(
    method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    event = _template("http-api-proxy.json")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    # HTTP APIs send header names in lower case.
    event["headers"] = _lower({**event["headers"], **(headers or {})})
    _set_body(event, body, b64, empty=None)
    if body is None:
        # HTTP APIs leave the field out when there is no body.
        del event["body"]
    return event


def function_url(
    method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    """Payload 2.0 as a Function URL with AWS_IAM auth sends it (there is no SAM generator)."""
    event = http_api_v2(method, path, headers=headers, body=body, b64=b64)
    domain = f"{URL_ID}.lambda-url.us-east-1.on.aws"
    event["headers"]["host"] = domain
    event.update(routeKey="$default", pathParameters=None, stageVariables=None)
    event["requestContext"].update(
        apiId=URL_ID,
        domainName=domain,
        domainPrefix=URL_ID,
        routeKey="$default",
        stage="$default",
        authentication=None,
        authorizer={
            "iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": "arn:aws:iam::123456789012:user/example-user",
                "userId": "AIDACKCEVSQ6C2EXAMPLE",
            }
        },
    )
    return event


def rest_api(
    method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    event = _template("aws-proxy.json")
    event.update(resource=path, path=path, httpMethod=method, pathParameters=None)
    context = event["requestContext"]
    context.update(httpMethod=method, resourcePath=path, path=f"/{context['stage']}{path}")
    # REST APIs keep the client's header names as sent, so lookups must ignore case.
    merged = _merge(event["headers"], headers or {})
    event["headers"] = merged
    event["multiValueHeaders"] = {name: [value] for name, value in merged.items()}
    _set_body(event, body, b64, empty=None)
    return event


def http_api_v1(
    method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    """HTTP API payload 1.0: the REST proxy shape plus "version", lower-case headers, HTTP API context."""
    event = {"version": "1.0", **rest_api(method, path, headers=headers, body=body, b64=b64)}
    # Same headers an HTTP API sends with payload 2.0 (no CloudFront in front), names in lower case.
    event["headers"] = _lower({**_generated("http-api-proxy.json")["headers"], **(headers or {})})
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    event["stageVariables"] = None
    context = event["requestContext"]
    context.update(
        apiId="api-id",
        domainName="api-id.execute-api.us-east-1.amazonaws.com",
        domainPrefix="api-id",
        extendedRequestId="JJbxmg9gIAMEKgg=",
        stage="$default",
        path=path,
        resourceId=None,
        authorizer={"claims": None, "scopes": None},
    )
    return event


def alb(
    method: str,
    path: str,
    *,
    headers: Headers = None,
    body: Body = None,
    b64: bool = False,
    multi_value: bool = False,
) -> dict[str, Any]:
    """An ALB target group request; `multi_value` as with the lambda.multi_value_headers attribute on."""
    event = _template("alb-request.json")
    event.update(httpMethod=method, path=path)
    merged = _lower({**event["headers"], **(headers or {})})
    if multi_value:
        del event["headers"]
        event["multiValueHeaders"] = {name: [value] for name, value in merged.items()}
        query = event.pop("queryStringParameters")
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    else:
        event["headers"] = merged
    _set_body(event, body, b64, empty="")
    return event


def alb_multi_value(
    method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    return alb(method, path, headers=headers, body=body, b64=b64, multi_value=True)


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "http-api-v2": http_api_v2,
    "http-api-v1": http_api_v1,
    "rest-api": rest_api,
    "alb": alb,
    "alb-multi-value": alb_multi_value,
    "function-url": function_url,
}
SHAPES = tuple(BUILDERS)


def http_event(
    shape: str, method: str, path: str, *, headers: Headers = None, body: Body = None, b64: bool = False
) -> dict[str, Any]:
    return BUILDERS[shape](method, path, headers=headers, body=body, b64=b64)


def predict_event(shape: str, envelope: Any, *, b64: bool = False) -> dict[str, Any]:
    return http_event(shape, "POST", "/predict", headers=JSON_HEADERS, body=json.dumps(envelope), b64=b64)


def response_headers(response: Mapping[str, Any]) -> dict[str, str]:
    """A response's headers with lower-case names, whichever field the shape puts them in."""
    if "multiValueHeaders" in response and "headers" not in response:
        return {name.lower(): values[0] for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response["headers"].items()}


def response_json(response: Mapping[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response["isBase64Encoded"] else body)


def s3_put(bucket: str, key: str, *, records: int = 1) -> dict[str, Any]:
    """A direct S3 notification; S3 URL-encodes the key ("my file" arrives as "my+file")."""
    event = _template("s3-put.json")
    record = event["Records"][0]
    record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["s3"]["object"]["key"] = quote_plus(key, safe="/")
    event["Records"] = [copy.deepcopy(record) for _ in range(records)]
    return event


def s3_test_event(bucket: str) -> dict[str, Any]:
    """What S3 sends once when a notification is configured (AWS S3 user guide, notification content)."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-22T10:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }


def sqs_batch(
    bodies: list[Any], *, queue: str = "predictions", groups: list[str] | None = None
) -> dict[str, Any]:
    """One record per body (a str is sent as is, anything else JSON-encoded); ids msg-0, msg-1, ..."""
    template = _template("sqs-receive-message.json")["Records"][0]
    records = []
    for number, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"msg-{number}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
        if groups is not None:
            record["attributes"].update(
                MessageGroupId=groups[number],
                MessageDeduplicationId=f"dedup-{number}",
                SequenceNumber=str(number),
            )
        records.append(record)
    return {"Records": records}


def eventbridge_object_created(bucket: str, key: str) -> dict[str, Any]:
    """S3 "Object Created" through EventBridge (AWS S3 user guide, EventBridge event message structure)."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-11-22T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    }


def s3_batch(bucket: str, keys: list[str], *, version: str = "1.0") -> dict[str, Any]:
    """S3 Batch Operations; schema 2.0 names the bucket in `s3Bucket` (AWS S3 user guide, Invoke Lambda)."""
    event = _template("s3-batch-invocation.json")
    event["invocationSchemaVersion"] = version
    tasks = []
    for number, key in enumerate(keys):
        task: dict[str, Any] = {
            "taskId": f"task-{number}",
            "s3Key": quote_plus(key, safe="/"),
            "s3VersionId": None,
        }
        if version == "1.0":
            task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
        else:
            task["s3Bucket"] = bucket
        tasks.append(task)
    event["tasks"] = tasks
    if version == "2.0":
        event["job"]["userArguments"] = {}
    return event


def scheduled_event() -> dict[str, Any]:
    return _template("scheduled-event.json")


def custom_event(detail: Any, *, event_id: str = "a3c2e6b0-5d8f-4a8e-9f1d-1c2b3a4d5e6f") -> dict[str, Any]:
    """An application's own event on a bus (EventBridge user guide, event structure)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Prediction Requested",
        "source": "com.example.flowers",
        "account": ACCOUNT,
        "time": "2026-11-22T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


@cache
def _generated(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENT_TEMPLATES / name).read_text())
    return loaded


def _template(name: str) -> dict[str, Any]:
    return copy.deepcopy(_generated(name))


def _set_body(event: dict[str, Any], body: Body, b64: bool, *, empty: str | None) -> None:
    raw = body.encode() if isinstance(body, str) else body
    if raw is None:
        # AWS sends no body as null (API Gateway) or "" (ALB), never base64.
        event["body"], event["isBase64Encoded"] = empty, False
    elif b64:
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = raw.decode(), False


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _merge(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    names = {name.lower() for name in extra}
    return {**{k: v for k, v in base.items() if k.lower() not in names}, **extra}
