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
        # A response's characters besides its body's, Content-Length's, Content-Type's and request id's.
        self._counted_chars = self._identity_chars + _COUNTED_CHARS
        self._mangum: Mangum | None = None

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        return event_shape(event) is not None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        plain = plain_v2_predict(event)
        if plain is None or self.runtime.wants_context:
            return self.answer(event, context)
        body, content_type, rid = plain
        status, content_type, raw, _ = self.runtime.predict_body(body, content_type, rid)
        # As Responder.respond builds it for V2, without a predictor's own headers (it asks for none).
        text, length = raw.decode(), str(len(raw))
        headers = {
            "content-length": length,
            "content-type": content_type,
            REQUEST_ID_HEADER: rid,
            VERSION_HEADER: self.version,
        }
        response = SizedResponse(statusCode=status, body=text, headers=headers, isBase64Encoded=False)
        response.most_chars = len(text) + len(length) + len(content_type) + len(rid) + self._counted_chars
        return response

    def answer(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Any HTTP event, in any of its forms."""
        shape = event_shape(event)
        assert shape is not None
        rid = for_http_event(event, context)
        try:
            request = predict_request(event, shape)
            if request is None:
                return self.mangum(event, context)
            # The context is built only for a predict that reads it: the others pay nothing.
            ctx = event_context(event, shape, rid) if self.runtime.wants_context else None
        except binascii.Error:
            return bad_encoding(event, shape, self.identity(rid))
        except (KeyError, TypeError, AttributeError) as exc:
            return half_formed(event, shape, exc, self.identity(rid))
        reply = self.runtime.predict_body(request[0], request[1], rid, ctx)
        counted = self._identity_chars + len(rid) if type(rid) is str else None
        return responder(event, shape).respond(reply, self.identity(rid), counted)

    def identity(self, rid: str) -> dict[str, str]:
        """The headers every answer names its request and model by."""
        return {REQUEST_ID_HEADER: rid, VERSION_HEADER: self.version}

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
    return responder(event, shape).respond(reply, identity)


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


@dataclass(frozen=True, slots=True)
class Responder:
    """Builds the response Mangum would for one shape of HTTP event (and for ALB, one header form)."""

    shape: str
    alb_multi_value: bool = False

    def respond(
        self, reply: Reply, identity: dict[str, str], identity_chars: int | None = None
    ) -> SizedResponse:
        """The response to `reply`; `identity`: the request id and model version headers, which add
        `identity_chars` characters, punctuation included, when the caller counted them."""
        status, content_type, raw, extra = reply
        length = str(len(raw))
        headers = {"content-length": length, "content-type": content_type}
        if extra:
            headers.update(extra)
        headers.update(identity)
        body = raw.decode()
        shape = self.shape
        if shape == V2:
            response = SizedResponse(statusCode=status, body=body, headers=headers, isBase64Encoded=False)
        elif shape == V1:
            response = SizedResponse(
                statusCode=status, headers=headers, multiValueHeaders={}, body=body, isBase64Encoded=False
            )
        elif self.alb_multi_value:
            multi = {key: [value] for key, value in headers.items()}
            response = SizedResponse(
                statusCode=status, body=body, isBase64Encoded=False, multiValueHeaders=multi
            )
        else:
            response = SizedResponse(statusCode=status, body=body, isBase64Encoded=False, headers=headers)
        if identity_chars is None or extra:
            # A predictor's own answer headers are not counted: the response is measured instead.
            response.most_chars = None
        else:
            chars = len(body) + len(length) + len(content_type) + identity_chars
            response.most_chars = chars + _COUNTED_CHARS
        return response


RESPONDERS = {(shape, multi): Responder(shape, multi) for shape in (V2, V1, ALB) for multi in (False, True)}
V2_RESPONDER = RESPONDERS[V2, False]


def responder(event: dict[str, Any], shape: str) -> Responder:
    """How to answer this `shape` of event: an ALB event's header form is the one it came in."""
    return RESPONDERS[shape, shape == ALB and "multiValueHeaders" in event]


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


def plain_v2_predict(event: dict[str, Any]) -> tuple[bytes, str, str] | None:
    """Body, Content-Type and request id of the most common predict event, read in one go: HTTP API
    2.0 or a Function URL (an HTTP event, so `requestContext` is an object), `POST /predict`, a text
    body, the Content-Type as payload 2.0 sends it (lower-cased names, repeats joined) and API
    Gateway's request id. None for any other form, which the general path reads (to the same answer
    where both apply)."""
    try:
        request_context = event["requestContext"]
        http = request_context["http"]
        content_type = event["headers"]["content-type"]
        rid = request_context["requestId"]
        if (
            event["version"] != "2.0"
            or "elb" in request_context
            or http["method"] != "POST"
            or http["path"] != PREDICT_PATH
            or event.get("isBase64Encoded")
            or type(content_type) is not str
            or type(rid) is not str
            or not rid
        ):
            return None
        return event["body"].encode(), content_type, rid
    except (KeyError, TypeError, AttributeError):
        return None


def predict_request(event: dict[str, Any], shape: str) -> tuple[bytes, str | None] | None:
    """The body and Content-Type if this `shape` of event is `POST /predict` in a plain form, else None."""
    if shape == V2:
        http = event["requestContext"].get("http") or {}
        if http.get("method") != "POST" or http.get("path") != PREDICT_PATH:
            return None
        raw = event.get("body")
        headers = event.get("headers")
        if type(raw) is str and not event.get("isBase64Encoded") and type(headers) is dict:
            # The common form, read in one go: a text body, and the Content-Type as payload 2.0 sends
            # it (lower-cased names, repeats joined); any other form is read below.
            content_type = headers.get("content-type")
            if type(content_type) is str:
                return raw.encode(), content_type
    elif event.get("httpMethod") != "POST" or event.get("path") != PREDICT_PATH:
        return None
    return _body(event), _content_type(event, shape)


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
    return responder(event, shape).respond(reply, identity)


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
