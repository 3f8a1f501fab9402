"""Event paths validate many instances in one call; each record must end exactly as it would alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.aws_events import sqs_batch
from support.paths import FIXTURES

from predictor import problems
from predictor._loading import load_predictor_class
from predictor.aws_lambda._settings import EventSettings, S3Prefix
from predictor.aws_lambda.sources._sqs_messages import Message, SqsBatch, sort_messages
from predictor.codec import Codec, Decoded, Record
from predictor.problems import Problem, ProblemError, problem
from predictor.runtime import Runtime

# Edge texts for Item (x: float > 0, name: str): numbers in every JSON spelling, wrong types,
# extra and missing fields, values that are not objects, text that is not JSON.
TEXTS = [
    '{"x": 1.5, "name": "a"}',
    '{"x": 2, "name": "int for a float"}',
    '{"x": "2.5", "name": "string for a float"}',
    '{"x": true, "name": "bool for a float"}',
    '{"x": NaN, "name": "nan"}',
    '{"x": Infinity, "name": "infinity"}',
    '{"x": 1e999, "name": "overflows to infinity"}',
    '{"x": -1, "name": "not positive"}',
    '{"x": 1, "name": 7}',
    '{"x": 1, "name": "extra", "y": [1, {"z": 2}]}',
    '{"x": 1}',
    "[1, 2]",
    "5",
    '"text"',
    "not json",
    '{"x": 1, "name": "a"',
    '{"x": 1, "name": "a"} {"x": 2, "name": "b"}',
    "",
]


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Runtime(load_predictor_class(str(FIXTURES / "echo.py")), environ={}).codec


def alone(codec: Codec, text: str) -> Any:
    try:
        return codec.decode_instance(text, 0)
    except ProblemError as exc:
        return exc.problem


@pytest.mark.parametrize("text", TEXTS)
def test_instances_validated_together_accept_exactly_what_one_by_one_accepts(codec: Codec, text: str) -> None:
    expected = alone(codec, text)
    # The codec's private fast branch, held to what one by one accepts.
    together = codec._json.parse_instances_json([text, '{"x": 1, "name": "valid"}'])

    if isinstance(expected, Problem):
        assert together is None
    else:
        assert together is not None
        assert together[0] == expected


def outcome(message: Message) -> tuple[str, list[Any], dict[str, Any] | None]:
    problem_ = message.problem.model_dump(mode="json") if message.problem else None
    # Instances as their fields: the validated class is the input model refusing inf and nan.
    return message.message_id, [instance.model_dump() for instance in message.instances], problem_


def test_a_mixed_sqs_batch_gets_the_problems_each_message_gets_alone(codec: Codec) -> None:
    bodies: list[Any] = [*TEXTS, {"instances": [{"x": 1, "name": "e"}, {"x": -1}]}]
    event = sqs_batch(bodies)

    found_together = sort_messages(codec, SqsBatch.of(event))
    together = [outcome(found) for found in found_together if isinstance(found, Message)]
    one_by_one = []
    for record in event["Records"]:
        [found] = sort_messages(codec, SqsBatch.of({"Records": [record]}))
        assert isinstance(found, Message)
        one_by_one.append(outcome(found))

    assert together == one_by_one
    assert len(together) == len(bodies)
    assert sum(problem_ is None for _, _, problem_ in together) < len(bodies)


def test_a_valid_sqs_batch_is_validated_in_one_call(codec: Codec) -> None:
    event = sqs_batch([{"x": n + 1, "name": f"n{n}"} for n in range(5)])

    found = sort_messages(codec, SqsBatch.of(event))

    assert [outcome(message) for message in found if isinstance(message, Message)] == [
        (f"msg-{n}", [{"x": n + 1, "name": f"n{n}"}], None) for n in range(5)
    ]


def test_a_body_spelling_the_envelope_key_with_an_escape_is_read_as_an_envelope(codec: Codec) -> None:
    # As a bare instance this body is valid (x and name present, "instances" an ignored extra);
    # as the envelope it is, it holds two instances.
    body = '{"\\u0069nstances": [{"x": 1, "name": "a"}, {"x": 2, "name": "b"}], "x": 9, "name": "z"}'
    assert json.loads(body)["instances"]

    [message] = sort_messages(codec, SqsBatch.of(sqs_batch([body])))

    assert isinstance(message, Message)
    assert [instance.name for instance in message.instances] == ["a", "b"]


def test_records_whose_one_call_failed_are_validated_alone_as_when_tried_together(codec: Codec) -> None:
    chunk: list[Record] = [text.encode() for text in TEXTS]

    assert codec.decode_all(chunk) is None
    assert codec.decode_records(chunk, 10, together=False) == codec.decode_records(chunk, 10)


def test_a_batch_with_one_invalid_bare_instance_is_not_taken_for_an_all_valid_one(codec: Codec) -> None:
    from predictor.aws_lambda.sources._sqs_messages import bare_instances

    bodies = [{"x": 1.5, "name": "a"}, {"x": "not a number", "name": "b"}, {"x": 2.5, "name": "c"}]

    positions, found, all_valid = bare_instances(codec, SqsBatch.of(sqs_batch(bodies)))

    assert not all_valid
    assert list(positions) == [0, 1, 2]
    assert [isinstance(slot, Problem) for slot in found] == [False, True, False]
    assert b'"loc":["instances",1,"x"]' in problems.encode(found[1])


def test_replies_without_failed_messages_keep_the_others_in_order() -> None:
    from predictor.aws_lambda.sources._sqs_replies import Replies, Reply

    replies = Replies(["m0", "m1", "m2", "m3"], ["g", None, "g", None], [b"0", b"1", b"2", b"3"])

    kept = replies.without({"m1", "m2"})

    assert list(kept) == [Reply("m0", "g", b"0"), Reply("m3", None, b"3")]
    assert len(kept) == 2
    assert len(replies) == 4  # the batch's own lists are left as they were


def test_replies_refuse_a_message_without_its_body() -> None:
    from predictor.aws_lambda.sources._sqs_replies import Replies

    with pytest.raises(ValueError, match="each reply needs"):
        Replies(["m0", "m1"], [None, None], [b"0"])


def test_a_mixed_file_chunk_gets_the_problems_each_line_gets_alone(codec: Codec) -> None:
    chunk: list[Record] = [text.encode() for text in TEXTS]
    chunk += [Decoded({"x": "3", "name": "csv"}), Decoded({"x": "-3"}), problem(413, "too long")]

    together = codec.decode_records(chunk, 10)
    one_by_one = [codec.decode_records([record], 10 + index)[0] for index, record in enumerate(chunk)]

    assert together == one_by_one
    assert len(together) == len(chunk)
    found = [slot for slot in together if isinstance(slot, Problem)]
    assert found
    assert b'"loc":["instances",17,"x"]' in b"".join(map(problems.encode, found))


@pytest.mark.parametrize(
    ("predictor", "names", "batch_size", "queue", "groups"),
    [
        ("echo", ["a", "b", "c", "d", "e"], "2", "predictions", None),
        ("exc_on_name", ["a", "b", "boom", "c", "d"], "2", "predictions", None),
        ("inf_on_name", ["a", "inf", "b"], "1", "predictions", None),
        ("refuses", ["a", "b", "c"], "2", "predictions", None),
        ("refuses_name", ["a", "no", "b", "c"], "2", "predictions", None),
        ("exc_in_setup", ["a", "b", "c"], "2", "predictions", None),  # not ready: all retried
        (
            "exc_on_name",
            ["a", "boom", "b", "c", "d"],
            "1",
            "predictions.fifo",
            ["g1", "g1", "g2", "g1", "g2"],
        ),
    ],
)
def test_a_batch_of_bare_instances_is_answered_as_the_general_path_answers_it(
    predictor: str, names: list[str], batch_size: str, queue: str, groups: list[str] | None
) -> None:
    from support.lambda_events import LambdaContext

    from predictor.aws_lambda.sources._sqs_messages import bare_instances
    from predictor.aws_lambda.sources.sqs import SqsEvent

    runtime = Runtime(load_predictor_class(str(FIXTURES / f"{predictor}.py")), environ={})
    runtime.start()
    source = SqsEvent(runtime, EventSettings(S3Prefix("unused", ""), batch_size=int(batch_size)))
    batch = SqsBatch.of(sqs_batch([{"x": 1.5, "name": name} for name in names], queue=queue, groups=groups))
    positions, instances, all_valid = bare_instances(runtime.codec, batch)
    assert len(positions) == len(names)
    assert all_valid
    assert not any(isinstance(instance, Problem) for instance in instances)

    fast = source.answer_instances(batch, instances, LambdaContext.aws_request_id)
    general = source.answer_messages(batch, LambdaContext())

    assert fast == general
    replies, failed = fast
    assert {reply.message_id for reply in replies} | failed == {f"msg-{n}" for n in range(len(names))}
    assert source.answer(batch, LambdaContext()) == fast


@pytest.mark.parametrize(
    "message_ids",
    [
        [],
        ["msg-0"],
        ['a","b', "c\\", '"', "", '\\","', "é😀", "tab\there", "\x7f"],
    ],
)
def test_replies_built_together_equal_each_built_alone(message_ids: list[str]) -> None:
    from predictor.aws_lambda.sources._sqs_messages import Message, predictions_replies, reply_body

    encoded = [b'{"n":%d}' % n for n in range(len(message_ids))]
    alone = [
        reply_body(Message(message_id, None, predictions=[text]))
        for message_id, text in zip(message_ids, encoded, strict=True)
    ]

    assert predictions_replies(message_ids, encoded) == alone


@pytest.mark.parametrize(
    "body",
    [
        '{"instances": []}',
        '{"c": 1, "instances": []}',
        'c"instances"',
        '"instances"c',
        'RE "Records" "Event"',
        '"Event" E R',
        '"Recor" R "Records"',
        "cRE\\",
        "\\",
        "cRE",
        '{"x": 1.5, "name": "cRE"}',
        '{"x": 1.5, "name": "a"}',
    ],
)
def test_a_body_is_taken_for_a_bare_instance_only_when_it_holds_no_marker(body: str) -> None:
    from predictor.aws_lambda.sources._sqs_messages import _only_an_instance

    markers = ('"instances"', '"Records"', '"Event"', "\\")

    assert _only_an_instance(body) == (not any(marker in body for marker in markers))


@pytest.mark.parametrize(
    "attributes",
    [None, {}, "absent"],
    ids=["null attributes", "no group", "no attributes"],
)
def test_records_without_a_group_are_answered_with_none_for_it(attributes: Any) -> None:
    event = sqs_batch([{"x": 1.5, "name": "a"}, {"x": 2.5, "name": "b"}])
    for record in event["Records"]:
        if attributes == "absent":
            del record["attributes"]
        else:
            record["attributes"] = attributes

    batch = SqsBatch.of(event)

    assert batch.group_ids == [None, None]
    assert batch.groups == {"msg-0": None, "msg-1": None}
    assert batch.bodies == [record["body"] for record in event["Records"]]
