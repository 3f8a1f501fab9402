"""The codec's JSON rules in-process: counting, error size, locations and non-finite numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from predictor import Limits, problems
from predictor.codec._json import MAX_LISTED_ERRORS, JsonInstances
from predictor.contract import ContractError
from predictor.finite import encoded_check
from predictor.problems import ProblemError, json_pointer
from predictor.schema import Schema


class Item(BaseModel):
    x: float = Field(gt=0)
    name: str


class Out(BaseModel):
    score: float | None
    label: str = "a"


class Loose(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="constants")
    score: float


class Stamped(BaseModel):
    at: datetime
    tags: set[str]


class Point(BaseModel):
    x: float


class Nested(BaseModel):
    points: list[Point]
    name: str = ""


class Annotated_(BaseModel):
    """Constraints on list items and on a nested model, as `Annotated` spells them."""

    pixels: list[Annotated[float, Field(ge=-100)]]
    points: list[Annotated[Point, Field(description="where")]]


class Example(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}]})
    x: float
    name: str


class Wrapper(BaseModel):
    loose: Loose


LIMITS = Limits(max_body_bytes=10_000, max_instances=5)


def schema(**options: Any) -> JsonInstances:
    """Built inside each test, so the test exercises the building too."""
    return JsonInstances(Item, Out, LIMITS, **options)


def refused(body: str | bytes, built: JsonInstances | None = None) -> dict[str, Any]:
    with pytest.raises(ProblemError) as raised:
        (built or schema()).parse_json(body)
    return raised.value.problem.model_dump(exclude_none=True)


def envelope(count: int, item: Any) -> str:
    return json.dumps({"instances": [item] * count}, separators=(",", ":"))


def test_a_body_at_the_byte_limit_is_parsed_and_one_byte_more_is_413() -> None:
    item = {"x": 1, "name": ""}
    body = envelope(1, item)
    item["name"] = "n" * (LIMITS.max_body_bytes - len(body))
    exact = envelope(1, item)

    assert len(schema().parse_json(exact)) == 1
    problem = refused(exact + " ")
    assert problem["status"] == 413
    assert problem["detail"].startswith(f"The body is {LIMITS.max_body_bytes + 1} bytes, over the limit of")


@pytest.mark.parametrize("count", [6, 7, 100])
def test_empty_instances_over_the_count_limit_are_counted_before_validation(count: int) -> None:
    problem = refused(envelope(count, {}))

    assert problem["status"] == 413
    assert problem["detail"] == (
        f"The request has {count} instances, over the limit of 5; split them across requests"
    )


def test_the_shortest_envelope_over_the_count_limit_is_still_counted_first() -> None:
    # `{"instances":[0,0,0,0,0,0]}`: the fewest bytes six instances can take.
    problem = refused('{"instances":[0,0,0,0,0,0]}')

    assert problem["status"] == 413


def test_instances_within_the_count_limit_get_their_field_errors() -> None:
    problem = refused(envelope(5, {}))

    assert problem["status"] == 422
    assert problem["detail"] == "10 fields failed validation"


LONG = " " * 40


@pytest.mark.parametrize(
    "body", [f'{{"instances": 3}}{LONG}', f'"text"{LONG}', f"[1,2]{LONG}", f'{{"instances": "x"}}{LONG}']
)
def test_an_envelope_that_cannot_be_counted_is_left_to_validation(body: str) -> None:
    built = JsonInstances(Item, Out, Limits(max_instances=1))

    assert refused(body, built)["status"] == 422


def test_an_unparsable_long_body_is_a_400_not_a_count() -> None:
    problem = refused('{"instances": [' + "{}," * 50)

    assert problem["status"] == 400
    assert problem["detail"].startswith("The body is not valid JSON (")


def test_field_errors_beyond_the_cap_are_counted_not_listed() -> None:
    built = JsonInstances(Item, Out, Limits(max_instances=1000))

    problem = refused(envelope(51, {}), built)

    assert problem["detail"] == f"102 fields failed validation; the first {MAX_LISTED_ERRORS} are listed"
    assert len(problem["errors"]) == MAX_LISTED_ERRORS
    assert problem["errors"][-1]["loc"] == ["instances", 49, "name"]


def test_one_field_error_is_worded_in_the_singular() -> None:
    problem = refused('{"instances": [{"x": 1}]}')

    assert problem["detail"] == "1 field failed validation"
    assert problem["errors"] == [
        {
            "loc": ["instances", 0, "name"],
            "pointer": "#/instances/0/name",
            "message": "Field required",
            "type": "missing",
        }
    ]


@pytest.mark.parametrize(
    ("location", "pointer"),
    [((), "#"), (("instances",), "#/instances"), (("a/b", 0, "c~d"), "#/a~1b/0/c~0d")],
)
def test_locations_are_json_pointer_fragments(location: tuple[str | int, ...], pointer: str) -> None:
    assert json_pointer(location) == pointer


def test_parse_object_validates_as_the_json_it_came_as() -> None:
    assert schema().parse_object({"instances": [{"x": 2, "name": "a"}]})[0].x == 2.0
    with pytest.raises(ProblemError) as problem:
        schema().parse_object({"instances": [{"x": True, "name": "a"}]})
    assert problem.value.problem.errors is not None
    assert problem.value.problem.errors[0].type == "float_type"


def test_parse_object_refuses_what_is_not_json_data() -> None:
    with pytest.raises(ProblemError) as raised:
        schema().parse_object({"instances": [{"x": {1, 2}, "name": "a"}]})

    assert raised.value.problem.status == 400
    assert raised.value.problem.detail.startswith("The request is not JSON data (")


def test_finite_predictions_encode_and_dump_alike() -> None:
    predictions = [Out(score=0.5), Out(score=None, label="null")]

    assert (
        schema().encode(predictions)
        == b'{"predictions":[{"score":0.5,"label":"a"},{"score":null,"label":"null"}]}'
    )
    assert schema().dump(predictions) == json.loads(schema().encode(predictions))


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_predictions_break_the_contract_on_both_encoders(value: float) -> None:
    predictions = [Out(score=1.0), Out(score=value)]
    message = "prediction 1 holds a non-finite number at score; JSON has no Infinity or NaN"

    with pytest.raises(ContractError, match=message):
        schema().encode(predictions)
    with pytest.raises(ContractError, match=message):
        schema().dump(predictions)


def test_non_finite_predictions_are_caught_whichever_way_the_model_writes_them() -> None:
    built = JsonInstances(Item, Loose, LIMITS)

    with pytest.raises(ContractError, match="at score;"):
        built.encode([Loose(score=float("nan"))])
    with pytest.raises(ContractError, match="at score;"):
        built.encode([Loose(score=float("-inf"))])
    with pytest.raises(ContractError, match=r"at loose\.score;"):
        JsonInstances(Item, Wrapper, LIMITS).encode([Wrapper(loose=Loose(score=float("inf")))])


@pytest.mark.parametrize("model", [Out, Loose], ids=["writes null", "writes constants"])
def test_the_answer_check_finds_every_non_finite_mark_wherever_it_lies(model: type[BaseModel]) -> None:
    may_hide = encoded_check(model)
    marks = [b"null", b"NaN", b"Infinity"] if model is Loose else [b"null"]
    texts = [b"", b"u", b"nul", b"N", b"I", b"Infinit", b'{"a":0.5}', b'{"quantum":"nu ll"}']
    for mark in marks:
        texts += [mark, b"u" + mark, b"uN" + mark, b'{"out":"u",' + mark + b"}", b"x" * 4000 + mark]
        texts += [b"NI" + mark + b"u", b"I" * 3 + b"N" * 3 + mark[:-1]]

    for text in texts:
        assert may_hide(text) == any(mark in text for mark in marks), text


def test_a_non_finite_prediction_after_the_marks_first_letter_is_caught() -> None:
    with pytest.raises(ContractError, match="prediction 2 holds a non-finite number at score;"):
        schema().encode([Out(score=1.0, label="u"), Out(score=2.0, label="nu"), Out(score=float("nan"))])


def test_a_predictor_that_allows_inf_nan_gets_them() -> None:
    built = schema(allow_inf_nan=True)

    assert built.parse_json('{"instances": [{"x": Infinity, "name": "a"}]}')[0].x == float("inf")


def test_validated_instances_are_instances_of_the_predictors_model() -> None:
    [instance] = schema().parse_json('{"instances": [{"x": 1, "name": "a"}]}')

    assert isinstance(instance, Item)
    assert type(instance).__name__ == "Item"


def test_non_finite_input_is_refused_unless_allowed() -> None:
    problem = refused('{"instances": [{"x": Infinity, "name": "a"}]}')

    assert [error["type"] for error in problem["errors"]] == ["finite_number"]


def test_exactly_the_cap_of_field_errors_is_listed_without_a_note() -> None:
    built = JsonInstances(Item, Out, Limits(max_instances=1000))

    problem = refused(envelope(50, {}), built)

    assert problem["detail"] == "100 fields failed validation"
    assert len(problem["errors"]) == 100


def test_non_finite_numbers_in_nested_models_are_located() -> None:
    built = JsonInstances(Nested, Out, LIMITS)
    body = '{"instances": [{"points": [{"x": 1}]}, {"points": [{"x": 1}, {"x": NaN}, {"x": 1e400}]}]}'

    with pytest.raises(ProblemError) as raised:
        built.parse_json(body)

    problem = raised.value.problem.model_dump(exclude_none=True)
    assert problem["detail"] == "2 fields failed validation"
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["instances", 1, "points", 1, "x"], "finite_number"),
        (["instances", 1, "points", 2, "x"], "finite_number"),
    ]
    assert problem["errors"][0]["message"] == "Input should be a finite number; JSON has no Infinity or NaN"
    assert len(built.parse_json('{"instances": [{"points": [{"x": 2}]}]}')) == 1


@pytest.mark.parametrize(
    ("instance", "where"),
    [
        ('{"pixels": [1, Infinity], "points": [{"x": 1}]}', ["instances", 0, "pixels", 1]),
        ('{"pixels": [1, 2], "points": [{"x": 1}, {"x": NaN}]}', ["instances", 0, "points", 1, "x"]),
    ],
)
def test_non_finite_numbers_behind_annotated_constraints_are_located(instance: str, where: list[Any]) -> None:
    problem = refused(f'{{"instances": [{instance}]}}', JsonInstances(Annotated_, Out, LIMITS))

    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(where, "finite_number")]


def test_nested_non_finite_numbers_pass_when_allowed() -> None:
    built = JsonInstances(Nested, Out, LIMITS, allow_inf_nan=True)

    [instance] = built.parse_json('{"instances": [{"points": [{"x": NaN}]}]}')

    assert instance.points[0].x != instance.points[0].x


def test_dump_gives_json_types_as_encode_does() -> None:
    built = JsonInstances(Item, Stamped, LIMITS)
    predictions = [Stamped(at=datetime(2026, 1, 2, tzinfo=UTC), tags={"a"})]

    assert built.dump(predictions) == {"predictions": [{"at": "2026-01-02T00:00:00Z", "tags": ["a"]}]}
    assert built.dump(predictions) == json.loads(built.encode(predictions))


def test_the_published_envelopes_describe_themselves() -> None:
    built = Schema(Item, Out)

    instances = built.request_model.model_json_schema()["properties"]["instances"]
    predictions = built.response_model.model_json_schema()["properties"]["predictions"]

    assert (instances["description"], instances["minItems"]) == ("Instances to predict, in order", 1)
    assert built.request_model.__name__ == "ItemRequest"
    assert predictions["description"] == "One prediction per instance, in request order"
    assert built.response_model.__name__ == "OutResponse"
    assert (built.input_model, built.output_model) == (Item, Out)


def test_an_empty_instances_list_is_refused() -> None:
    problem = refused('{"instances": []}')

    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(["instances"], "too_short")]


def test_the_example_request_holds_the_first_example_only() -> None:
    assert Schema(Example, Out).example_request() == {"instances": [{"x": 1, "name": "a"}]}
    assert Schema(Item, Out).example_request() is None


def test_a_non_finite_prediction_names_where_it_is() -> None:
    message = (
        "prediction 0 holds a non-finite number at score; JSON has no Infinity or NaN, "
        "so return finite numbers (or None where the output model allows it)"
    )

    with pytest.raises(ContractError) as raised:
        schema().dump([Out(score=float("nan"))])

    assert str(raised.value) == message


def test_problems_encode_without_empty_members() -> None:
    assert problems.encode(problems.problem(400, "x")) == (
        b'{"type":"about:blank","title":"Bad Request","status":400,"detail":"x"}'
    )


class Scores(BaseModel):
    by_label: dict[str, float]


def test_a_non_finite_prediction_inside_a_field_is_named_by_its_path() -> None:
    built = JsonInstances(Item, Scores, LIMITS)

    with pytest.raises(ContractError, match=r"prediction 1 holds a non-finite number at by_label\.b;"):
        built.encode([Scores(by_label={"a": 1.0}), Scores(by_label={"a": 1.0, "b": float("inf")})])


# Single records and rows, for the event paths and the SageMaker decoders.


def record_problem(call: Any) -> dict[str, Any]:
    with pytest.raises(ProblemError) as raised:
        call()
    return raised.value.problem.model_dump(exclude_none=True)


def test_a_json_record_is_validated_strictly_and_located_at_its_index() -> None:
    built = schema()
    assert built.parse_instance_json('{"x": 2, "name": "a"}', 7).model_dump() == {"x": 2.0, "name": "a"}

    problem = record_problem(lambda: built.parse_instance_json('{"x": true, "name": 3}', 7))

    assert problem["status"] == 422
    assert problem["detail"] == "2 fields failed validation"
    assert [error["loc"] for error in problem["errors"]] == [["instances", 7, "x"], ["instances", 7, "name"]]
    assert problem["errors"][0]["pointer"] == "#/instances/7/x"


def test_a_record_that_is_not_json_is_a_400_naming_it() -> None:
    problem = record_problem(lambda: schema().parse_instance_json(b'{"x": 1,', 4))

    assert problem["status"] == 400
    assert problem["detail"].startswith("Record 4 is not valid JSON (")
    assert problem["detail"].endswith("); write one object")


@pytest.mark.parametrize("text", ['{"x": Infinity, "name": "a"}', '{"x": 1e400, "name": "a"}'])
def test_a_non_finite_record_is_refused_unless_allowed(text: str) -> None:
    problem = record_problem(lambda: schema().parse_instance_json(text, 2))
    assert [error["loc"] for error in problem["errors"]] == [["instances", 2, "x"]]

    assert schema(allow_inf_nan=True).parse_instance_json(text, 2).x == float("inf")


def test_nested_non_finite_records_are_located_at_their_index() -> None:
    built = JsonInstances(Nested, Out, LIMITS)
    text = '{"points": [{"x": 1}, {"x": NaN}]}'

    problem = record_problem(lambda: built.parse_instance_json(text, 9))
    text_problem = record_problem(
        lambda: built.parse_instance({"points": [{"x": "1"}, {"x": "nan"}]}, 9, from_text=True)
    )

    for found in (problem, text_problem):
        assert [error["loc"] for error in found["errors"]] == [["instances", 9, "points", 1, "x"]]


def test_a_decoded_record_is_validated_as_the_json_it_came_as() -> None:
    built = schema()
    assert built.parse_instance({"x": 1, "name": "a"}, 0).model_dump() == {"x": 1.0, "name": "a"}

    problem = record_problem(lambda: built.parse_instance({"x": "1.5", "name": "a"}, 3))
    not_json = record_problem(lambda: built.parse_instance({"x": {1, 2}, "name": "a"}, 3))

    assert [error["loc"] for error in problem["errors"]] == [["instances", 3, "x"]]
    assert not_json["status"] == 400
    assert not_json["detail"].startswith("Record 3 is not JSON data (")


def test_text_cells_convert_as_the_field_types_allow_but_stay_finite() -> None:
    built = schema()
    assert built.parse_instance({"x": "1.5", "name": "a"}, 0, from_text=True).x == 1.5

    problem = record_problem(lambda: built.parse_instance({"x": "inf", "name": "a"}, 6, from_text=True))
    missing = record_problem(lambda: built.parse_instance({"x": "1"}, 6, from_text=True))

    assert [error["loc"] for error in problem["errors"]] == [["instances", 6, "x"]]
    assert [error["loc"] for error in missing["errors"]] == [["instances", 6, "name"]]


def test_rows_convert_validate_count_and_refuse_non_finite_cells() -> None:
    built = schema()
    assert [item.x for item in built.parse_rows([{"x": "1.5", "name": "a"}, {"x": 2, "name": "b"}])] == [
        1.5,
        2.0,
    ]

    problem = record_problem(lambda: built.parse_rows([{"x": "1", "name": "a"}, {"x": "nan", "name": "b"}]))
    too_many = record_problem(lambda: built.parse_rows([{"x": "1", "name": "a"}] * 6))
    nested_rules = JsonInstances(Nested, Out, LIMITS)
    nested = record_problem(lambda: nested_rules.parse_rows([{"points": [{"x": "inf"}]}]))

    assert [error["loc"] for error in problem["errors"]] == [["instances", 1, "x"]]
    assert too_many["status"] == 413
    assert [error["loc"] for error in nested["errors"]] == [["instances", 0, "points", 0, "x"]]


def test_predictions_encode_one_by_one_as_in_the_envelope() -> None:
    built = schema()
    predictions = [Out(score=0.5), Out(score=None, label="b")]

    texts = built.encode_predictions(predictions)

    assert texts == [b'{"score":0.5,"label":"a"}', b'{"score":null,"label":"b"}']
    assert b'{"predictions":[' + b",".join(texts) + b"]}" == built.encode(predictions)


def test_a_non_finite_prediction_breaks_the_contract_on_the_event_encoder() -> None:
    with pytest.raises(ContractError, match="prediction 1 holds a non-finite number at score"):
        schema().encode_predictions([Out(score=1.0), Out(score=float("nan"))])


def test_exactly_the_instance_limit_is_accepted() -> None:
    assert len(schema().parse_json(envelope(LIMITS.max_instances, {"x": 1, "name": "a"}))) == 5


def test_the_size_check_allows_the_limit_and_says_at_least_while_streaming() -> None:
    schema().check_size(LIMITS.max_body_bytes)

    problem = record_problem(lambda: schema().check_size(LIMITS.max_body_bytes + 1, at_least=True))

    assert problem["detail"].startswith(f"The body is at least {LIMITS.max_body_bytes + 1} bytes")


def test_records_validated_together_refuse_nested_non_finite_numbers() -> None:
    built = JsonInstances(Nested, Out, LIMITS)

    together = built.parse_instances_json(['{"points": [{"x": 1}]}', '{"points": [{"x": 2}]}'])

    assert [instance.points[0].x for instance in together or []] == [1.0, 2.0]
    assert built.parse_instances_json(['{"points": [{"x": 1}]}', '{"points": [{"x": NaN}]}']) is None
