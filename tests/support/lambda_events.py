"""Lambda HTTP events in the shapes AWS sends, for any method, path, headers and body.

tests/fixtures/events/ holds `sam local generate-event` output verbatim (HTTP API payload 2.0,
REST API proxy, ALB). SAM CLI has no generator for HTTP API payload 1.0 or Function URL events,
so those are derived here from the generated ones, following the shapes AWS documents.
`PYTHONPATH=tests python -m support.lambda_events` rewrites the sample events in events/ from these builders.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from support.paths import EVENT_TEMPLATES, SAMPLES

JSON_HEADERS = {"Content-Type": "application/json"}
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
URL_ID = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"

Headers = Mapping[str, str] | None
Body = str | bytes | None


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object a handler reads, with a fixed request id: the one fake
    context every test passes (`LambdaContext(aws_request_id=...)`, `LambdaContext(remaining_ms=...)`)."""

    aws_request_id: str = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    function_name: str = "iris"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:iris"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


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


def request_id_of(event: Mapping[str, Any], context: LambdaContext) -> str:
    """The id a Lambda HTTP answer names its request by: API Gateway's and Function URLs'
    `requestContext.requestId`, or for ALB, which has none, the invocation's."""
    return str(event["requestContext"].get("requestId") or context.aws_request_id)


def response_headers(response: Mapping[str, Any]) -> dict[str, str]:
    """A response's headers with lower-case names, whichever field the shape puts them in."""
    if "multiValueHeaders" in response and "headers" not in response:
        return {name.lower(): values[0] for name, values in response["multiValueHeaders"].items()}
    return {name.lower(): value for name, value in response["headers"].items()}


def response_json(response: Mapping[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response["isBase64Encoded"] else body)


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


if __name__ == "__main__":
    write_samples()
