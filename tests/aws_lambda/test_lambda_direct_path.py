"""The lean direct path for POST /predict answers exactly like Mangum + FastAPI, for every shape and case."""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from support.fresh_python import python_json
from support.lambda_events import SETOSA, SHAPES, VIRGINICA, LambdaContext, http_event
from support.paths import FIXTURES, REPO

from predictor import Limits
from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.sources.http import HttpEvent
from predictor.runtime import Runtime

CONTEXT = LambdaContext()
JSON = "application/json"
GOOD = json.dumps({"instances": [SETOSA, VIRGINICA]})
ITEM = {"x": 1.5, "name": "a"}


@dataclass(frozen=True)
class Case:
    predictor: str
    content_type: str | None
    body: str | None
    status: int
    b64: bool = False


CASES = {
    "good": Case("iris", JSON, GOOD, 200),
    "good-base64": Case("iris", JSON, GOOD, 200, b64=True),
    "json-with-charset": Case("iris", "application/json; charset=utf-8", GOOD, 200),
    "json-suffix-type": Case("iris", "application/vnd.api+json", GOOD, 200),
    "no-content-type": Case("iris", None, GOOD, 200),
    "non-ascii-names": Case("echo", JSON, json.dumps({"instances": [{"x": 1, "name": "Zoë ✓"}]}), 200),
    "hooks": Case("hooks", JSON, json.dumps({"instances": [ITEM]}), 200),
    "raw-csv": Case("raw_body", "text/csv", "a,1\nb,2.5\n", 200),
    "raw-csv-base64": Case("raw_body", "text/csv", "a,1\nb,2.5\n", 200, b64=True),
    "unparsable-400": Case("echo", JSON, '{"instances": [', 400),
    "absent-body-400": Case("echo", JSON, None, 400),
    "too-large-413": Case("limited", JSON, json.dumps({"instances": [{"x": 1, "name": "a" * 300}]}), 413),
    "too-many-413": Case("limited", JSON, json.dumps({"instances": [ITEM] * 4}), 413),
    "text-plain-415": Case("echo", "text/plain", "a,1", 415),
    "csv-to-json-only-415": Case("echo", "text/csv", "a,1", 415),
    "schema-422": Case("echo", JSON, json.dumps({"instances": [ITEM, {"x": -1}, "x"]}), 422),
    "schema-422-base64": Case("echo", JSON, json.dumps({"instances": [{"x": -1}]}), 422, b64=True),
    "empty-instances-422": Case("echo", JSON, '{"instances": []}', 422),
    "predictor-raises-500": Case("exc_in_predict", JSON, json.dumps({"instances": [ITEM]}), 500),
    "wrong-length-500": Case("wrong_length", JSON, json.dumps({"instances": [ITEM, ITEM]}), 500),
    "wrong-type-500": Case("wrong_type", JSON, json.dumps({"instances": [ITEM]}), 500),
    "refuses-429": Case("refuses", JSON, json.dumps({"instances": [ITEM]}), 429),
    "setup-failed-503": Case("exc_in_setup", JSON, json.dumps({"instances": [ITEM]}), 503),
}


@cache
def handler_for(predictor: str) -> LambdaHandler:
    if predictor == "iris":
        return LambdaHandler.for_predictor(load_predictor_class(str(REPO / "functions" / "iris")))
    if predictor == "limited":
        runtime = Runtime(
            load_predictor_class(str(FIXTURES / "echo.py")),
            limits=Limits(max_body_bytes=256, max_instances=3),
        )
        runtime.start()
        return LambdaHandler(runtime, EventSettings.from_environ(runtime.environ))
    return LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / f"{predictor}.py")))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_direct_path_answers_exactly_like_mangum(shape: str, case: Case) -> None:
    headers = {} if case.content_type is None else {"Content-Type": case.content_type}
    event = http_event(shape, "POST", "/predict", headers=headers, body=case.body, b64=case.b64)
    handler = handler_for(case.predictor)

    direct = handler(copy.deepcopy(event), CONTEXT)
    through_mangum = HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)

    assert direct["statusCode"] == case.status, direct["body"]
    assert direct == through_mangum


def capitalised_content_type(event: dict[str, Any]) -> None:
    event["headers"]["Content-Type"] = event["headers"].pop("content-type")


def without_request_id(event: dict[str, Any]) -> None:
    del event["requestContext"]["requestId"]


def empty_request_id(event: dict[str, Any]) -> None:
    event["requestContext"]["requestId"] = ""


def bytes_body(event: dict[str, Any]) -> None:
    event["body"] = event["body"].encode()


V2_FORMS = [capitalised_content_type, without_request_id, empty_request_id]


@pytest.mark.parametrize("shape", ["http-api-v2", "function-url"])
@pytest.mark.parametrize("form", V2_FORMS, ids=lambda form: form.__name__)
def test_payload_2_events_in_a_rarer_form_answer_like_mangum(shape: str, form: Callable[..., None]) -> None:
    # The most common form is read in one go; these take the general path, to the same answer.
    event = http_event(shape, "POST", "/predict", headers={"Content-Type": JSON}, body=GOOD)
    form(event)
    handler = handler_for("iris")

    direct = handler(copy.deepcopy(event), CONTEXT)
    through_mangum = HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)

    assert direct == through_mangum


def test_a_payload_2_content_type_that_is_not_text_is_refused_as_unsupported() -> None:
    # Mangum itself breaks on such a header; the direct path reads it as text and says so.
    event = http_event("http-api-v2", "POST", "/predict", headers={"Content-Type": JSON}, body=GOOD)
    event["headers"]["content-type"] = 5

    response = handler_for("iris")(event, CONTEXT)

    assert response["statusCode"] == 415
    assert json.loads(response["body"])["detail"].startswith("Content-Type '5' is not supported")


def test_a_payload_2_body_given_as_bytes_is_read_as_its_text() -> None:
    event = http_event("http-api-v2", "POST", "/predict", headers={"Content-Type": JSON}, body=GOOD)
    handler = handler_for("iris")
    as_text = handler(copy.deepcopy(event), CONTEXT)
    bytes_body(event)

    assert handler(event, CONTEXT) == as_text


@pytest.mark.parametrize(
    "names",
    [("content-type", "Content-Type"), ("Content-Type", "content-type")],
    ids=["lower-case-first", "capitalised-first"],
)
def test_direct_path_picks_the_same_content_type_as_mangum_when_a_client_repeats_it(
    names: tuple[str, str],
) -> None:
    # REST APIs pass header names through as the client spelled them, so one request can carry
    # the same header twice under different spellings; both paths must settle on the same value.
    event = http_event("rest-api", "POST", "/predict", body=GOOD)
    values = {names[0]: "application/json", names[1]: "text/plain"}
    event["headers"].update(values)
    event["multiValueHeaders"].update({name: [value] for name, value in values.items()})
    handler = handler_for("iris")

    direct = handler(copy.deepcopy(event), CONTEXT)
    through_mangum = HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)

    assert direct == through_mangum


# Handles POST /predict events of every shape in a fresh interpreter, then one GET /health,
# reporting which HTTP-stack modules were imported at each point.
PROBE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "tests")
    from support.lambda_events import SETOSA, SHAPES, LambdaContext, http_event, predict_event
    from predictor._loading import load_predictor_class
    from predictor.aws_lambda import LambdaHandler

    # asyncio too: the server's machinery needs it, and it costs a Lambda init about 13 ms.
    STACK = ("fastapi", "starlette", "mangum", "asyncio")
    handler = LambdaHandler.for_predictor(load_predictor_class("functions/iris"))
    statuses = []
    for shape in SHAPES:
        for event in (
            predict_event(shape, {"instances": [SETOSA]}),
            predict_event(shape, {"instances": [SETOSA]}, b64=True),
            predict_event(shape, {"instances": [{**SETOSA, "petal_width": -1}]}),
            predict_event(shape, {"instances": []}),
            http_event(shape, "POST", "/predict", headers={"Content-Type": "text/plain"}, body="x"),
            http_event(shape, "POST", "/predict", headers={"Content-Type": "application/json"}, body="{"),
        ):
            statuses.append(handler(event, LambdaContext())["statusCode"])
    after_predict = [name for name in STACK if name in sys.modules]
    health = handler(http_event("http-api-v2", "GET", "/health"), LambdaContext())["statusCode"]
    after_health = [name for name in STACK if name in sys.modules]
    print(json.dumps({"statuses": statuses, "after_predict": after_predict,
                      "health": health, "after_health": after_health}))
    """
)


def test_predict_events_never_import_the_http_stack() -> None:
    report = python_json(PROBE)

    assert report["statuses"] == [200, 200, 422, 422, 415, 400] * len(SHAPES)
    assert report["after_predict"] == []
    # The probe can see the stack when it is loaded: any other route goes through Mangum and FastAPI.
    assert report["health"] == 200
    assert report["after_health"] == ["fastapi", "starlette", "mangum", "asyncio"]
