"""HTTP events: API Gateway HTTP API (2.0 and 1.0), REST API, ALB and Function URL.

`POST /predict` takes a lean path: event → runtime → the response Mangum would build.
Everything else (other routes, methods, odd paths) goes through Mangum and FastAPI,
imported on first use. tests/aws_lambda/test_lambda_direct_path.py proves both paths answer
alike for every event shape.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from predictor import problems
from predictor.aws_lambda._source import MalformedEvent
from predictor.context import RequestContext
from predictor.observability.request_ids import REQUEST_ID_HEADER, VERSION_HEADER, for_http_event
from predictor.problems import PROBLEM_JSON
from predictor.runtime import Reply, Runtime

if TYPE_CHECKING:
    from mangum import Mangum

    from predictor.aws_lambda._settings import EventSettings

PREDICT_PATH = "/predict"
TEXT_MIME_TYPES = ("application/json", "application/problem+json")

V2, V1, ALB = "v2", "v1", "alb"
BAD_BASE64 = "The event's body is flagged isBase64Encoded but is not valid base64"


class HttpEvent:
    def __init__(self, runtime: Runtime, settings: EventSettings | None = None) -> None:
        self.runtime = runtime
        self.version = str(runtime.predictor_class.version)
        # The identity headers' characters but the request id's.
        self._identity_chars = len(REQUEST_ID_HEADER + VERSION_HEADER + self.version) + 2 * _CHARS_PER_HEADER
        self._mangum: Mangum | None = None

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return event_shape(event) is not None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        shape = event_shape(event)
        assert shape is not None
        rid = for_http_event(event, context)
        identity = {REQUEST_ID_HEADER: rid, VERSION_HEADER: self.version}
        try:
            request = predict_event(event, shape)
            if request is None:
                return self.mangum(event, context)
            # The context is built only for a predict that reads it: the others pay nothing.
            ctx = event_context(event, shape, rid) if self.runtime.wants_context else None
        except binascii.Error:
            return bad_encoding(event, shape, identity)
        except (KeyError, TypeError, AttributeError) as exc:
            return half_formed(event, shape, exc, identity)
        reply = self.runtime.predict_body(request.body, request.content_type, rid, ctx)
        counted = self._identity_chars + len(rid) if type(rid) is str else None
        return request.respond(reply, identity, counted)

    def mangum(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._mangum is None:
            from mangum import Mangum
            from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

            from predictor.observability.asgi import ObservedRequests
            from predictor.server.app import create_app

            self._mangum = Mangum(
                ObservedRequests(create_app(self.runtime), self.runtime),
                lifespan="off",
                text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, *TEXT_MIME_TYPES],
            )
        return self._mangum(event, context)


def half_formed(
    event: dict[str, Any], shape: str, exc: Exception, identity: dict[str, str]
) -> dict[str, Any]:
    """The 400 answer for an HTTP event missing what API Gateway always sends: still an HTTP response."""
    if isinstance(exc, MalformedEvent):
        reason = str(exc)
    else:
        reason = "a field API Gateway always sends is missing or null"
    detail = f"The HTTP event is malformed: {reason}; send it as API Gateway, ALB or a Function URL does"
    reply = Reply(400, PROBLEM_JSON, problems.encode(problems.problem(400, detail)))
    return PredictEvent(shape, b"", None, "multiValueHeaders" in event).respond(reply, identity)


class SizedResponse(dict[str, Any]):
    """An HTTP response built here, knowing how many characters its JSON text holds at most
    (`most_chars`, None when not counted), so the response limit is checked without encoding it.
    Lambda's runtime writes it as the dict it is."""

    __slots__ = ("most_chars",)
    most_chars: int | None


# What a response holds besides its body's and headers' text, counted generously: the longest
# shape's keys, their quotes and separators, a three-digit status (HTTPStatus) and `false`.
_SKELETON_CHARS = len('{"statusCode": 200, "headers": {}, "multiValueHeaders": {}, "body": "", ') + len(
    '"isBase64Encoded": false}'
)
# Per header: its name's and value's quotes, ": ", ", ", and a multi-value form's brackets.
_CHARS_PER_HEADER = 10
# All but the text put in: the skeleton, and the content headers' names and punctuation.
_COUNTED_CHARS = _SKELETON_CHARS + len("content-length") + len("content-type") + 2 * _CHARS_PER_HEADER


@dataclass(slots=True)
class PredictEvent:
    shape: str
    body: bytes
    content_type: str | None
    alb_multi_value: bool

    def respond(
        self, reply: Reply, identity: dict[str, str], identity_chars: int | None = None
    ) -> SizedResponse:
        """The response Mangum would build; `identity`: the request id and model version headers,
        which add `identity_chars` characters, punctuation included, when the caller counted them."""
        length = str(len(reply.body))
        headers = {"content-length": length, "content-type": reply.content_type}
        if reply.headers:
            headers.update(reply.headers)
        headers.update(identity)
        body = reply.body.decode()
        response = SizedResponse()
        response["statusCode"] = reply.status
        if self.shape == V2:
            response["body"], response["headers"], response["isBase64Encoded"] = body, headers, False
        elif self.shape == V1:
            response["headers"], response["multiValueHeaders"] = headers, {}
            response["body"], response["isBase64Encoded"] = body, False
        else:
            response["body"], response["isBase64Encoded"] = body, False
            if self.alb_multi_value:
                response["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
            else:
                response["headers"] = headers
        if identity_chars is None or reply.headers:
            # A predictor's own answer headers are not counted: the response is measured instead.
            response.most_chars = None
        else:
            chars = len(body) + len(length) + len(reply.content_type) + identity_chars
            response.most_chars = chars + _COUNTED_CHARS
        return response


def event_shape(event: dict[str, Any]) -> str | None:
    """Which HTTP event this is, in Mangum's order of inference; None if not HTTP."""
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return None
    if "elb" in context:
        return ALB
    if "version" in event:
        return V2 if event["version"] == "2.0" else V1
    if "resource" in event:
        return V1
    return None


def predict_event(event: dict[str, Any], shape: str) -> PredictEvent | None:
    """The decoded request if this `shape` of event is `POST /predict` in a plain form, else None."""
    if shape == V2:
        http = event["requestContext"].get("http") or {}
        method, path = http.get("method"), http.get("path")
    else:
        method, path = event.get("httpMethod"), event.get("path")
    if method != "POST" or path != PREDICT_PATH:
        return None
    return PredictEvent(shape, _body(event), _content_type(event, shape), "multiValueHeaders" in event)


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or b""
    if not isinstance(raw, (str, bytes)):
        raise MalformedEvent(f"its body is a JSON {type(raw).__name__}, not the string API Gateway sends")
    if event.get("isBase64Encoded"):
        return base64.b64decode(raw)
    return raw if isinstance(raw, bytes) else raw.encode()


def bad_encoding(event: dict[str, Any], shape: str, identity: dict[str, str]) -> dict[str, Any]:
    """The 400 answer for a body flagged base64 that does not decode."""
    reply = Reply(400, PROBLEM_JSON, problems.encode(problems.problem(400, BAD_BASE64)))
    return PredictEvent(shape, b"", None, "multiValueHeaders" in event).respond(reply, identity)


def _content_type(event: dict[str, Any], shape: str) -> str | None:
    """The Content-Type Starlette would see behind Mangum for this event."""
    if shape == ALB:
        # Mangum passes ALB headers on in order; Starlette answers with the first match.
        if "multiValueHeaders" in event:
            multi = event["multiValueHeaders"] or {}
            pairs = [(key, value) for key, values in multi.items() for value in values]
        else:
            pairs = list((event.get("headers") or {}).items())
        return next((str(value) for key, value in pairs if key.lower() == "content-type"), None)
    headers = event.get("headers") or {}
    if shape == V2 and "content-type" in headers:
        # Payload 2.0 arrives with lower-cased names and repeats joined: one lookup suffices.
        return str(headers["content-type"])
    # Mangum folds API Gateway headers into one lower-cased dict, multiValueHeaders
    # (joined) last, so the last spelling of the name wins.
    found: str | None = None
    for key, value in headers.items():
        if key.lower() == "content-type":
            found = value
    multi_value = event.get("multiValueHeaders") if shape == V1 else None
    for key, values in (multi_value or {}).items():
        if key.lower() == "content-type":
            found = ", ".join(values) if isinstance(values, list) else ""
    return found


def event_context(event: dict[str, Any], shape: str, rid: str) -> RequestContext:
    """The request context of an HTTP event, with headers and query as Starlette would see them."""
    headers: dict[str, str] = {}
    if shape == ALB and "multiValueHeaders" in event:
        for key, values in (event["multiValueHeaders"] or {}).items():
            name, joined = key.lower(), ", ".join(values)
            # Mangum passes every value on; the server's context joins repeats in order.
            headers[name] = f"{headers[name]}, {joined}" if name in headers else joined
    else:
        headers = {key.lower(): str(value) for key, value in (event.get("headers") or {}).items()}
        if shape == V2 and event.get("cookies"):
            # Payload 2.0 carries cookies apart from the headers; Mangum restores the header.
            headers["cookie"] = "; ".join(event["cookies"])
        if shape == V1:
            for key, values in (event.get("multiValueHeaders") or {}).items():
                if isinstance(values, list):
                    headers[key.lower()] = ", ".join(values)
    if shape != V2 and event.get("multiValueQueryStringParameters"):
        multi = event["multiValueQueryStringParameters"]
        query = {key: values[-1] for key, values in multi.items() if values}
    else:
        query = {key: str(value) for key, value in (event.get("queryStringParameters") or {}).items()}
    if shape == ALB:
        # ALB passes the query string on still percent-encoded.
        query = {unquote_plus(key): unquote_plus(value) for key, value in query.items()}
    return RequestContext(rid, query, headers)
