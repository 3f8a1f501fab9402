"""Every transport answers as the one codec does, for every media type, non-finite predictions included.

The reference is the codec alone: `decode` -> `Runtime.run` -> `encode`, a problem or a broken
contract answered as `Runtime.problem_for` says. Each transport's answer (Lambda's HTTP fast path
and its Mangum path, direct invoke, EventBridge, SQS, S3 files, /predict and /invocations) must
equal it. A codec that dropped a check would break every transport here at once.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from support.aws_events import custom_event, sqs_batch
from support.lambda_events import LambdaContext, http_api_v2
from support.paths import FIXTURES

from predictor import problems
from predictor._loading import load_predictor_class
from predictor.aws_lambda._settings import EventSettings
from predictor.aws_lambda.s3_files import S3Files
from predictor.aws_lambda.sources._sqs_messages import SqsBatch
from predictor.aws_lambda.sources.direct import DirectInvoke
from predictor.aws_lambda.sources.eventbridge import CustomEvent, PredictionFailed
from predictor.aws_lambda.sources.http import HttpEvent
from predictor.aws_lambda.sources.sqs import SqsEvent
from predictor.codec import CSV, JSON, JSON_LINES, NPY
from predictor.problems import PROBLEM_JSON, ProblemError
from predictor.runtime import Runtime
from predictor.server.app import create_app
from predictor.server.batcher import Batcher, BatchSettings
from predictor.server.sagemaker import SageMakerRoutes

RID = LambdaContext.aws_request_id
Answer = tuple[int, str, bytes]

# Items of the fixtures' Item model: finite answers, a non-finite prediction ("inf"), a
# non-finite input, and a schema violation.
ITEMS = {
    "finite": [{"x": 1.5, "name": "a"}, {"x": 2, "name": "b"}],
    "non-finite prediction": [{"x": 1.5, "name": "a"}, {"x": 2, "name": "inf"}],
    "non-finite input": [{"x": 1.5, "name": "a"}, {"x": float("inf"), "name": "b"}],
    "invalid": [{"x": 1.5, "name": "a"}, {"x": -1, "name": "b"}],
}
# Rows of the vector fixture (one list field): the sum of the second overflows to infinity.
ROWS = {
    "finite": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
    "non-finite prediction": [[1.0, 2.0, 3.0], [1e308, 1e308, 1.0]],
}


def body_of(items: list[dict[str, Any]], media_type: str) -> bytes:
    if media_type == JSON:
        return json.dumps({"instances": items}).encode()
    if media_type == JSON_LINES:
        return b"".join(json.dumps(item).encode() + b"\n" for item in items)
    if media_type == CSV:  # a header row naming the fields, as S3 files need
        names = list(items[0])
        lines = [",".join(names), *(",".join(str(item[name]) for name in names) for item in items)]
        return "\n".join(lines).encode() + b"\n"
    raise AssertionError(media_type)


def npy_of(rows: list[list[float]]) -> bytes:
    out = io.BytesIO()
    np.save(out, np.array(rows))
    return out.getvalue()


@pytest.fixture(scope="module")
def runtimes() -> Iterator[dict[str, Runtime]]:
    built = {}
    for name in ("inf_on_name", "vector", "raw_body"):
        runtime = Runtime(load_predictor_class(str(FIXTURES / f"{name}.py")), environ={})
        runtime.start()
        built[name] = runtime
    yield built


def by_codec(
    runtime: Runtime, body: bytes, content_type: str, accept: str = JSON, *, tables: bool = False
) -> Answer:
    """The reference: the codec and `run`, nothing else."""
    codec = runtime.codec
    try:
        instances = codec.decode(body, content_type, tables=tables)
        answer_type = codec.choose(accept)
        return 200, answer_type, codec.encode(runtime.run(instances), answer_type)
    except Exception as exc:
        failure = runtime.problem_for(exc, RID)
        return failure.status, PROBLEM_JSON, problems.encode(failure)


def lambda_http(runtime: Runtime, body: bytes, content_type: str, *, mangum: bool) -> Answer:
    event = http_api_v2("POST", "/predict", headers={"content-type": content_type}, body=body.decode())
    event["requestContext"]["requestId"] = RID  # the id API Gateway gives the request
    source = HttpEvent(runtime)
    response = source.mangum(event, LambdaContext()) if mangum else source(event, LambdaContext())
    return response["statusCode"], response["headers"]["content-type"], response["body"].encode()


def server(runtime: Runtime, path: str, body: bytes, content_type: str, accept: str = JSON) -> Answer:
    """The answer of `predictor serve`'s app (SageMaker's routes ahead of FastAPI), in process."""
    batcher = Batcher(runtime, BatchSettings.from_environ({}))
    app = SageMakerRoutes(runtime, create_app(runtime, batcher), batcher, workers=1)
    headers = {"content-type": content_type, "accept": accept, "x-request-id": RID}

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=body, headers=headers)

    try:
        response = asyncio.run(post())
    finally:
        batcher.close()
    return response.status_code, response.headers["content-type"].partition(";")[0], response.content


def as_json(answer: Answer) -> tuple[int, Any]:
    status, _, body = answer
    return status, json.loads(body)


@pytest.mark.parametrize("case", list(ITEMS))
def test_every_http_transport_answers_the_json_envelope_as_the_codec(
    runtimes: dict[str, Runtime], case: str
) -> None:
    runtime = runtimes["inf_on_name"]
    body = body_of(ITEMS[case], JSON) if case != "non-finite input" else _infinite_envelope()
    expected = by_codec(runtime, body, JSON)

    assert lambda_http(runtime, body, JSON, mangum=False) == expected
    assert lambda_http(runtime, body, JSON, mangum=True) == expected
    assert server(runtime, "/predict", body, JSON) == expected
    assert server(runtime, "/invocations", body, JSON) == expected
    assert expected[0] == {"finite": 200, "non-finite prediction": 500}.get(case, 422)


def _infinite_envelope() -> bytes:
    return b'{"instances": [{"x": 1.5, "name": "a"}, {"x": Infinity, "name": "b"}]}'


@pytest.mark.parametrize("case", list(ITEMS))
def test_direct_invoke_and_eventbridge_answer_the_envelope_as_the_codec(
    runtimes: dict[str, Runtime], case: str
) -> None:
    runtime = runtimes["inf_on_name"]
    envelope = {"instances": ITEMS[case]}
    status, expected = as_json(by_codec(runtime, json.dumps(envelope).encode(), JSON))
    assert status == {"finite": 200, "non-finite prediction": 500}.get(case, 422)
    if status >= 500:
        with pytest.raises(ProblemError) as raised:
            DirectInvoke(runtime, EventSettings())(envelope, LambdaContext())
        assert raised.value.problem.model_dump(mode="json", exclude_none=True) == expected
        with pytest.raises(PredictionFailed):
            CustomEvent(runtime, EventSettings())(custom_event(envelope), LambdaContext())
    else:
        assert DirectInvoke(runtime, EventSettings())(envelope, LambdaContext()) == expected
        assert CustomEvent(runtime, EventSettings())(custom_event(envelope), LambdaContext()) == expected


@pytest.mark.parametrize("accept", [JSON, JSON_LINES, CSV])
@pytest.mark.parametrize("media_type", [JSON, JSON_LINES, CSV])
@pytest.mark.parametrize("case", list(ITEMS))
def test_invocations_answer_every_media_type_as_the_codec(
    runtimes: dict[str, Runtime], case: str, media_type: str, accept: str
) -> None:
    runtime = runtimes["inf_on_name"]
    if case == "non-finite input" and media_type == JSON:
        body = _infinite_envelope()
    else:
        body = body_of(ITEMS[case], media_type)
    expected = by_codec(runtime, body, media_type, accept, tables=True)

    assert server(runtime, "/invocations", body, media_type, accept) == expected
    assert expected[0] == {"finite": 200, "non-finite prediction": 500}.get(case, 422)


@pytest.mark.parametrize("accept", [JSON, JSON_LINES, CSV])
@pytest.mark.parametrize("media_type", [JSON, JSON_LINES, CSV, NPY])
@pytest.mark.parametrize("case", list(ROWS))
def test_invocations_answer_rows_of_a_list_field_as_the_codec(
    runtimes: dict[str, Runtime], case: str, media_type: str, accept: str
) -> None:
    runtime = runtimes["vector"]
    rows = ROWS[case]
    if media_type == NPY:
        body = npy_of(rows)
    elif media_type == CSV:
        body = "".join(",".join(map(repr, row)) + "\n" for row in rows).encode()
    else:
        body = body_of([{"values": row} for row in rows], media_type)
    expected = by_codec(runtime, body, media_type, accept, tables=True)

    assert server(runtime, "/invocations", body, media_type, accept) == expected
    assert expected[0] == (200 if case == "finite" else 500)


@pytest.mark.parametrize(
    ("rows", "status"), [(b"a,1.5\nb,2\n", 200), (b"a,1.5\ninf,2\n", 200), (b"a,1.5\nb,inf\n", 500)]
)
def test_a_raw_body_is_answered_as_the_codec_on_every_http_transport(
    runtimes: dict[str, Runtime], rows: bytes, status: int
) -> None:
    runtime = runtimes["raw_body"]
    expected = by_codec(runtime, rows, CSV)
    assert expected[0] == status

    assert lambda_http(runtime, rows, CSV, mangum=False) == expected
    assert lambda_http(runtime, rows, CSV, mangum=True) == expected
    assert server(runtime, "/predict", rows, CSV) == expected
    assert server(runtime, "/invocations", rows, CSV) == expected


@pytest.mark.parametrize("case", ["finite", "non-finite prediction", "non-finite input"])
def test_sqs_messages_are_answered_as_the_codec(runtimes: dict[str, Runtime], case: str) -> None:
    """Bare instances (the fast path) and envelopes (the general path): each message's predictions
    are the codec's; a prediction the codec refuses fails its chunk, to be retried."""
    runtime = runtimes["inf_on_name"]
    items = ITEMS[case]
    status, expected = as_json(by_codec(runtime, body_of(items, JSON_LINES), JSON_LINES, tables=True))
    assert status == {"finite": 200, "non-finite prediction": 500}.get(case, 422)
    source = SqsEvent(runtime, EventSettings())
    for bodies in (items, [{"instances": [item]} for item in items]):
        replies, failed = source.answer(SqsBatch.of(sqs_batch(list(bodies))), LambdaContext())
        if status == 422:  # the valid message answered as the codec answers it alone, the other refused
            first, second = (json.loads(reply.body) for reply in replies)
            alone = by_codec(runtime, body_of(items[:1], JSON_LINES), JSON_LINES, tables=True)
            assert {"predictions": first["predictions"]} == as_json(alone)[1]
            assert (second["problem"]["status"], second["problem"]["errors"][0]["type"]) == (
                422,
                expected["errors"][0]["type"],
            )
        elif status == 200:
            assert failed == set()
            answered = [json.loads(reply.body)["predictions"][0] for reply in replies]
            assert {"predictions": answered} == expected
        else:
            assert status == 500
            assert (list(replies), failed) == ([], {f"msg-{n}" for n in range(len(items))})


@pytest.mark.parametrize("form", ["jsonl", "csv", "json"])
@pytest.mark.parametrize("case", ["finite", "non-finite prediction", "non-finite input"])
def test_s3_file_records_are_answered_as_the_codec(
    runtimes: dict[str, Runtime], case: str, form: str
) -> None:
    """The .out lines hold the codec's predictions; a prediction the codec refuses fails the file."""
    runtime = runtimes["inf_on_name"]
    media_type = {"jsonl": JSON_LINES, "csv": CSV, "json": JSON}[form]
    body = body_of(ITEMS[case], media_type)
    status, expected = as_json(by_codec(runtime, body, media_type, tables=True))
    assert status == {"finite": 200, "non-finite prediction": 500}.get(case, 422)
    files = S3Files(runtime, EventSettings.from_environ({}))
    [chunk] = list(runtime.codec.records(form, [body]))
    if status == 422:  # the valid record predicted as the codec predicts it alone, the other refused
        lines, answered = files._answer_chunk(chunk, 0, RID)
        first, second = map(json.loads, lines.splitlines())
        alone = as_json(by_codec(runtime, body_of(ITEMS[case][:1], media_type), media_type, tables=True))
        assert ({"predictions": [first["prediction"]]}, answered) == (alone[1], 1)
        assert (second["problem"]["status"], second["problem"]["errors"]) == (422, expected["errors"])
    elif status == 200:
        lines, answered = files._answer_chunk(chunk, 0, RID)
        assert answered == len(ITEMS[case])
        predictions = [json.loads(line)["prediction"] for line in lines.splitlines()]
        assert {"predictions": predictions} == expected
    else:
        assert status == 500
        with pytest.raises(Exception, match="non-finite"):
            files._answer_chunk(chunk, 0, RID)
