"""No Lambda answer passes the response limit silently: measured as Lambda counts it (the whole JSON
response, base64 included), an answer over it becomes a 413 that says how many instances fit."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from support.aws_events import custom_event, sqs_batch
from support.event_sources import handler_for
from support.lambda_events import SHAPES, LambdaContext, predict_event, response_headers

from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda.large_payloads import ResponseTooLarge
from predictor.aws_lambda.sources.http import HttpEvent, SizedResponse
from predictor.payload_limits import example_fit, fit_from_answer

CONTEXT = LambdaContext(aws_request_id="5e0c1d2a-limit")
# Ten embeddings of 1,024 floats: about 100 kB, so small limits keep every test quick.
TEN = {"instances": [{"text": "t"}] * 10}
LIMIT = 60_000
TRANSPORTS = [*SHAPES, "direct-invoke", "eventbridge"]


def event_for(transport: str, envelope: dict[str, Any]) -> dict[str, Any]:
    if transport == "direct-invoke":
        return copy.deepcopy(envelope)
    if transport == "eventbridge":
        return custom_event(envelope)
    return predict_event(transport, envelope)


def lambda_bytes(response: Any) -> int:
    """What the Lambda runtime writes for a returned value (python3.11: \\u escapes, json's separators)."""
    return len(json.dumps(response))


def handler(limit: int | None = None) -> LambdaHandler:
    environ = {} if limit is None else {"PREDICTOR_MAX_RESPONSE_BYTES": str(limit)}
    return handler_for("embedding", environ)


def refusal(transport: str, response: dict[str, Any]) -> dict[str, Any]:
    """The 413 problem a transport answered, checked to be one."""
    if transport in ("direct-invoke", "eventbridge"):
        problem = response
    else:
        assert response["statusCode"] == 413
        assert response_headers(response)["content-type"] == "application/problem+json"
        problem = json.loads(response["body"])
    assert problem["status"] == 413, problem
    return problem


def is_answer(transport: str, response: dict[str, Any]) -> bool:
    if transport in ("direct-invoke", "eventbridge"):
        return "predictions" in response
    return response["statusCode"] == 200 and "predictions" in json.loads(response["body"])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_answer_at_the_limit_is_returned_whole_and_one_byte_over_is_a_413_with_its_size(
    transport: str,
) -> None:
    unlimited = handler()(event_for(transport, TEN), CONTEXT)
    size = lambda_bytes(unlimited)

    for limit in (size + 1, size):
        assert handler(limit)(event_for(transport, TEN), CONTEXT) == unlimited
    problem = refusal(transport, handler(size - 1)(event_for(transport, TEN), CONTEXT))

    assert problem["response_bytes"] == size
    assert problem["limit_bytes"] == size - 1
    assert problem["instances"] == 10
    assert f"The answer is {size} bytes" in problem["detail"]
    assert "PREDICTOR_MAX_RESPONSE_BYTES" in problem["detail"]
    assert "PREDICTOR_LARGE_PAYLOAD_URI" in problem["detail"]
    assert problem["request_id"] == CONTEXT.aws_request_id


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_413_says_how_many_instances_fit_and_exactly_that_many_do(transport: str) -> None:
    limited = handler(LIMIT)
    problem = refusal(transport, limited(event_for(transport, TEN), CONTEXT))
    fit = problem["instances_that_fit"]
    assert 0 < fit < 10

    fitting = limited(event_for(transport, {"instances": [{"text": "t"}] * fit}), CONTEXT)
    assert is_answer(transport, fitting)
    assert lambda_bytes(fitting) <= LIMIT
    one_more = limited(event_for(transport, {"instances": [{"text": "t"}] * (fit + 1)}), CONTEXT)
    assert refusal(transport, one_more)["instances_that_fit"] == fit
    # The size an instance adds, as the answer itself shows it.
    assert lambda_bytes(fitting) + problem["bytes_per_instance"] > LIMIT


def long_id_event(shape: str, rid: str) -> dict[str, Any]:
    """A small request whose id, from API Gateway or (ALB) the invocation, is `rid`."""
    event = predict_event(shape, {"instances": [{"x": 1.5, "name": "a"}]})
    if "requestId" in event["requestContext"]:
        event["requestContext"]["requestId"] = rid
    return event


@pytest.mark.parametrize("shape", SHAPES)
def test_a_long_request_id_counts_toward_the_limit_though_the_body_is_small(shape: str) -> None:
    rid = "r" * 30_000
    context = LambdaContext(aws_request_id=rid)
    unlimited = handler_for("echo", {})(long_id_event(shape, rid), context)
    size = lambda_bytes(unlimited)
    assert len(unlimited["body"]) < 100 and size > 30_000

    at_limit = handler_for("echo", {"PREDICTOR_MAX_RESPONSE_BYTES": str(size)})
    over = handler_for("echo", {"PREDICTOR_MAX_RESPONSE_BYTES": str(size - 1)})

    assert at_limit(long_id_event(shape, rid), context) == unlimited
    assert refusal(shape, over(long_id_event(shape, rid), context))["response_bytes"] == size


@pytest.mark.parametrize("shape", SHAPES)
def test_a_predictors_own_answer_headers_count_toward_the_limit(shape: str) -> None:
    event = predict_event(shape, {"instances": [{"x": 30_000, "name": "a"}]})
    unlimited = handler_for("long_answer_attributes", {})(copy.deepcopy(event), CONTEXT)
    size = lambda_bytes(unlimited)
    assert len(unlimited["body"]) < 100 and size > 30_000

    at_limit = handler_for("long_answer_attributes", {"PREDICTOR_MAX_RESPONSE_BYTES": str(size)})
    over = handler_for("long_answer_attributes", {"PREDICTOR_MAX_RESPONSE_BYTES": str(size - 1)})

    assert at_limit(copy.deepcopy(event), CONTEXT) == unlimited
    assert refusal(shape, over(copy.deepcopy(event), CONTEXT))["response_bytes"] == size


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("status", [200, 422])
def test_an_http_answer_counts_every_character_it_holds_but_the_escapes(shape: str, status: int) -> None:
    # The count, times the most bytes one character can be written as, is what the limit is held to
    # before measuring: it must hold every character of the response's JSON text, escapes aside.
    x = 1.5 if status == 200 else -1
    response = handler_for("echo", {})(predict_event(shape, {"instances": [{"x": x, "name": "a"}]}), CONTEXT)
    assert response["statusCode"] == status

    assert isinstance(response, SizedResponse) and response.most_chars is not None
    assert lambda_bytes({**response, "body": ""}) + len(response["body"]) <= response.most_chars


def test_the_mangum_path_is_measured_and_refused_like_the_direct_path() -> None:
    limited = handler(LIMIT)
    for shape in SHAPES:
        event = predict_event(shape, TEN)
        through_mangum = HttpEvent(limited.runtime).mangum(copy.deepcopy(event), CONTEXT)
        assert through_mangum["statusCode"] == 200

        assert limited.large_payloads.bounded(event, through_mangum, CONTEXT) == limited(event, CONTEXT)


def binary_response(size: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request and Mangum's real response for a route answering `size` bytes of octet-stream."""
    from mangum import Mangum
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def blob(request: Any) -> Response:
        return Response(bytes(range(256)) * (size // 256), media_type="application/octet-stream")

    event = predict_event("http-api-v2", TEN)
    response = Mangum(Starlette(routes=[Route("/predict", blob, methods=["POST"])]), lifespan="off")(
        copy.deepcopy(event), CONTEXT
    )
    assert response["isBase64Encoded"] is True
    return event, response


def test_a_binary_body_is_counted_after_base64() -> None:
    event, response = binary_response(30_720)
    size = lambda_bytes(response)
    assert size > 30_720 * 4 // 3
    assert len(base64.b64decode(response["body"])) == 30_720

    for limit in (size + 1, size):
        assert handler(limit).large_payloads.bounded(event, response, CONTEXT) is response
    refused = handler(size - 1).large_payloads.bounded(event, response, CONTEXT)

    problem = refusal("http-api-v2", refused)
    assert problem["response_bytes"] == size
    assert "instances_that_fit" not in problem  # not an answer of predictions: no count to give


def test_a_response_that_is_not_an_answer_raises_rather_than_be_dropped() -> None:
    failures = {"batchItemFailures": [{"itemIdentifier": f"message-{n}"} for n in range(2000)]}

    over = r"over the limit of 60000 bytes \(PREDICTOR_MAX_RESPONSE_BYTES\)"
    with pytest.raises(ResponseTooLarge, match=over):
        handler(LIMIT).large_payloads.bounded(sqs_batch([]), failures, CONTEXT)


def test_a_refused_request_is_answered_as_before_and_never_measured_as_an_answer() -> None:
    limited = handler(LIMIT)
    bad = limited(predict_event("http-api-v2", {"instances": [{"text": 3}]}), CONTEXT)

    assert bad["statusCode"] == 422


@pytest.mark.parametrize("utf8", [False, True], ids=["python3.11", "python3.12"])
def test_non_ascii_text_is_counted_as_the_runtime_writes_it(utf8: bool) -> None:
    environ = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12" if utf8 else "AWS_Lambda_python3.11"}
    sized: Callable[[Any], int] = (
        (lambda r: len(json.dumps(r, ensure_ascii=False).encode())) if utf8 else lambda_bytes
    )
    response = {"predictions": [{"label": "Stiefmütterchen 🌼"}] * 5}
    size = sized(response)

    at_limit = handler_for("embedding", {**environ, "PREDICTOR_MAX_RESPONSE_BYTES": str(size)})
    over = handler_for("embedding", {**environ, "PREDICTOR_MAX_RESPONSE_BYTES": str(size - 1)})

    assert at_limit.large_payloads.bounded({}, response, CONTEXT) is response
    assert over.large_payloads.bounded({}, response, CONTEXT)["response_bytes"] == size


def test_the_example_fit_is_what_every_transport_then_answers() -> None:
    limited = handler(LIMIT)
    fit = example_fit(limited.runtime, limit_bytes=LIMIT)
    example = limited.runtime.codec.schema.example_request()
    assert example is not None and fit.instances > 0

    for transport in TRANSPORTS:
        fitting = {"instances": example["instances"] * fit.instances}
        assert is_answer(transport, limited(event_for(transport, fitting), CONTEXT)), transport
    over = {"instances": example["instances"] * (fit.instances + 2)}
    refused = [t for t in TRANSPORTS if not is_answer(t, limited(event_for(t, over), CONTEXT))]
    assert refused, "two more instances than the fit should pass the limit somewhere"


def test_an_answer_exactly_at_the_limit_shows_all_its_instances_fit() -> None:
    # Ten predictions of 99 bytes, nine separators, 200 bytes of envelope around `[]`.
    answer_bytes = 200 + 10 * 99 + 9

    fit = fit_from_answer(answer_bytes, 200, 10, 1, limit_bytes=answer_bytes)

    assert (fit.per_instance_bytes, fit.instances) == (100, 10)
    assert fit_from_answer(answer_bytes, 200, 10, 1, limit_bytes=answer_bytes - 1).instances == 9
