"""Numbers validate as the published schema says, and no request can make an error answer large.

Requests go to both transports (`both`: the server process over a socket and the Lambda
handler), which must agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support.both_transports import Targets, assert_problem, both, instances
from support.lambda_events import LambdaContext
from support.paths import FIXTURES

from predictor._loading import load_predictor_class
from predictor.aws_lambda import LambdaHandler
from predictor.problems import ProblemError

ITEM = {"x": 1.5, "name": "a"}
COUNT_LIMIT = "The request has 1001 instances, over the limit of 1000; split them across requests"


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    pool = Targets(tmp_path_factory.mktemp("artifacts"))
    yield pool
    pool.close()


def raw_instance(x: str) -> str:
    return f'{{"instances": [{{"x": {x}, "name": "a"}}]}}'


def errors(problem: dict[str, Any]) -> list[tuple[list[Any], str]]:
    return [(error["loc"], error["type"]) for error in problem["errors"]]


def test_one_instance_over_the_count_limit_gets_413_before_any_field_is_validated(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(*[{}] * 1001))

    problem = assert_problem(response, 413)
    assert (
        problem["detail"]
        == "The request has 1001 instances, over the limit of 1000; split them across requests"
    )


def test_field_errors_are_capped_at_100_with_the_total_in_detail(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(*[{}] * 1000))

    problem = assert_problem(response, 422)
    assert problem["detail"] == "2000 fields failed validation; the first 100 are listed"
    assert len(problem["errors"]) == 100
    assert problem["errors"][0]["loc"] == ["instances", 0, "x"]
    assert len(response.content) < 20_000


def test_exactly_100_field_errors_are_all_listed_without_a_note(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", instances(*[{}] * 50))

    problem = assert_problem(response, 422)
    assert problem["detail"] == "100 fields failed validation"
    assert len(problem["errors"]) == 100


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("Infinity", "finite_number"),
        ("-Infinity", "finite_number"),
        ("NaN", "finite_number"),
        ("1e400", "finite_number"),
        ('"Infinity"', "float_type"),
        ("true", "float_type"),
        ('"1.5"', "float_type"),
    ],
)
def test_non_finite_or_non_numeric_input_is_refused_with_422(
    targets: Targets, value: str, error_type: str
) -> None:
    response = both(targets, "echo.py", "POST", "/predict", raw_instance(value))

    problem = assert_problem(response, 422)
    assert errors(problem) == [(["instances", 0, "x"], error_type)]


def test_an_integer_is_still_a_number(targets: Targets) -> None:
    response = both(targets, "echo.py", "POST", "/predict", raw_instance("2"))

    assert response.json() == {"predictions": [{"name": "a", "doubled": 4.0}]}


def test_a_predictor_may_opt_in_to_non_finite_input(targets: Targets) -> None:
    body = '{"instances": [{"x": Infinity, "name": "a"}, {"x": 1e400, "name": "b"}, {"x": 2, "name": "c"}]}'

    response = both(targets, "allows_inf_nan.py", "POST", "/predict", body)

    assert [prediction["finite"] for prediction in response.json()["predictions"]] == [False, False, True]


def test_non_finite_prediction_is_a_500_with_a_request_id_never_a_null(targets: Targets) -> None:
    response = both(
        targets, "non_finite_output.py", "POST", "/predict", instances(ITEM), request_id="req-inf"
    )

    problem = assert_problem(response, 500)
    assert problem["request_id"] == "req-inf"
    assert "null" not in response.text


def handler(name: str) -> LambdaHandler:
    return LambdaHandler.for_predictor(load_predictor_class(str(FIXTURES / f"{name}.py")))


def test_non_finite_prediction_raises_from_a_direct_invocation_instead_of_returning_nan() -> None:
    with pytest.raises(ProblemError) as raised:
        handler("non_finite_output")({"instances": [ITEM]}, LambdaContext())

    assert raised.value.problem.status == 500
    assert raised.value.problem.request_id == LambdaContext().aws_request_id


def test_non_finite_input_to_a_direct_invocation_is_answered_in_band() -> None:
    answer = handler("echo")({"instances": [{"x": float("nan"), "name": "a"}]}, LambdaContext())

    assert answer["status"] == 422
    assert errors(answer) == [(["instances", 0, "x"], "finite_number")]
    json.dumps(answer, allow_nan=False)


def test_non_finite_numbers_inside_nested_models_are_refused_where_they_are() -> None:
    shape = {"corners": [{"x": 1, "y": 2}, {"x": 3, "y": float("inf")}]}

    answer = handler("nested_input")({"instances": [{"corners": []}, shape]}, LambdaContext())

    assert answer["status"] == 422
    assert errors(answer) == [(["instances", 1, "corners", 1, "y"], "finite_number")]
    assert answer["errors"][0]["pointer"] == "#/instances/1/corners/1/y"


def test_a_problem_with_the_whole_body_points_at_the_whole_body() -> None:
    answer = handler("echo")({"instances": 3}, LambdaContext())
    bare = handler("echo").runtime.predict_body(b"[]", "application/json", "req-1")

    assert answer["errors"][0]["pointer"] == "#/instances"
    assert json.loads(bare.body)["errors"][0]["pointer"] == "#"
