"""SQS message bodies sorted and validated by the codec: the bare instances of a whole batch at once.

Records are read as the raw dicts Lambda passes: Powertools' `SQSRecord` wrapper costs more per
record than validating the record does, and a batch holds up to 10,000 of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

from pydantic_core import to_json

from predictor import problems
from predictor.aws_lambda._source import MalformedEvent
from predictor.aws_lambda.s3_files import is_s3_notification, is_s3_test_event
from predictor.codec import Codec
from predictor.problems import Problem, ProblemError


class Known(NamedTuple):
    """Per body that can only be a bare instance: its position, and its instance or its problem."""

    positions: Sequence[int]
    found: list[Any]
    #: Every body is a bare instance and every one is valid: the usual batch.
    all_valid: bool


BODY_HINT = 'send {"instances": [...]} or one instance as the message body'
RECORD_HINT = "write each record as SQS does (`sam local generate-event sqs receive-message` prints one)"


# Each with a character of it that bodies seldom hold: a one-character find is a memchr, many times
# faster than a longer marker's search, which then starts only where that character first occurs.
_MARKERS = (('"instances"', "c"), ('"Records"', "R"), ('"Event"', "E"), ("\\", "\\"))


def _only_an_instance(body: str) -> bool:
    """A body holding none of these cannot be an envelope, an S3 notification or S3's test event,
    so it can only be one bare instance. The backslash keeps out keys spelled with escapes."""
    for marker, probe in _MARKERS:
        at = body.find(probe)
        if at >= 0 and body.find(marker, max(0, at - marker.index(probe))) >= 0:
            return False
    return True


_NONE = object()


@dataclass(slots=True)
class Message:
    message_id: str
    group_id: str | None
    instances: list[Any] = field(default_factory=list)
    predictions: list[bytes] = field(default_factory=list)
    problem: Problem | None = None


@dataclass(frozen=True)
class Notification:
    """A message whose body is an S3 notification: its objects are processed as files."""

    message_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class SqsBatch:
    records: list[dict[str, Any]]
    order: list[str]
    #: Each record's MessageGroupId (FIFO and fair queues), None where it has none, in order.
    group_ids: list[str | None]
    fifo: bool
    #: The records' bodies, in order.
    bodies: list[str]
    #: The bodies joined by NUL, which no marker searched for holds.
    joined_bodies: str

    @classmethod
    def of(cls, event: dict[str, Any]) -> SqsBatch:
        """The batch, or MalformedEvent naming the first record that lacks what SQS always sends.

        Raised, not reported in batchItemFailures: a record without an id cannot be named there,
        so the whole batch is retried."""
        records: list[dict[str, Any]] = event["Records"]
        try:
            # Read field by field with C-level maps: a batch holds up to 10,000 records.
            order = list(map(_MESSAGE_ID, records))
            bodies = list(map(_BODY, records))
            group_ids = _group_ids(records)
            # Joining refuses anything but strings, so it checks the fields' types too.
            "".join(order)
            joined_bodies = "\0".join(bodies)
        except (KeyError, TypeError, AttributeError):
            raise MalformedEvent(_malformed(records)) from None
        fifo = bool(records) and str(records[0].get("eventSourceARN", "")).endswith(".fifo")
        return cls(records, order, group_ids, fifo, bodies, joined_bodies)

    @cached_property
    def groups(self) -> dict[str, str | None]:
        """Each message's MessageGroupId by its id, for FIFO batches and replies read one by one."""
        return dict(zip(self.order, self.group_ids, strict=True))


_MESSAGE_ID, _BODY, _ATTRIBUTES = itemgetter("messageId"), itemgetter("body"), itemgetter("attributes")


def _group_ids(records: list[dict[str, Any]]) -> list[str | None]:
    """Each record's MessageGroupId (FIFO and fair queues), None where it has none."""
    try:
        # As SQS sends them: every record with its attributes object.
        return list(map(dict.get, map(_ATTRIBUTES, records), repeat("MessageGroupId")))
    except (KeyError, TypeError):
        return [(record.get("attributes") or {}).get("MessageGroupId") for record in records]


def _malformed(records: list[Any]) -> str:
    """What is wrong with the first malformed record, and what to do about it."""
    for position, record in enumerate(records):
        wrong = (
            _wrong_field(record)
            if isinstance(record, dict)
            else f"is a JSON {type(record).__name__}, where SQS always sends an object"
        )
        if wrong:
            where = f"The SQS event's Records[{position}]"
            return f"{where} {wrong}, so this event was not made by SQS: {RECORD_HINT}"
    return f"The SQS event is malformed: {RECORD_HINT}"  # unreachable while `of` checks what this does


def _wrong_field(record: dict[str, Any]) -> str | None:
    for name in ("messageId", "body"):
        if name not in record:
            return f'has no "{name}", which SQS always sends'
        if not isinstance(record[name], str):
            return f'has "{name}" as a JSON {type(record[name]).__name__}, where SQS always sends a string'
    attributes = record.get("attributes")
    if attributes and not isinstance(attributes, dict):
        return f'has "attributes" as a JSON {type(attributes).__name__}, where SQS always sends an object'
    return None


def bare_instances(codec: Codec, batch: SqsBatch) -> Known:
    """The positions of the bodies that can only be bare instances, and per body its validated
    instance or its problem (the codec validates them all in one call while they all pass)."""
    bodies = batch.bodies
    # The usual batch holds bare instances only: one search of all the bodies joined instead of
    # four per body. Exact: no marker holds the NUL, so none can span two bodies.
    if _only_an_instance(batch.joined_bodies):
        bare: Sequence[int] = range(len(bodies))
        # The one call answers whether all are valid: no need to look through what it returns.
        validated = codec.decode_all(bodies) if bodies else None
        if validated is not None:
            return Known(bare, validated, all_valid=True)
        found = codec.decode_records(bodies, together=False) if bodies else []
        return Known(bare, found, all_valid=False)
    bare = [index for index, body in enumerate(bodies) if _only_an_instance(body)]
    bodies = [bodies[index] for index in bare]
    return Known(bare, codec.decode_records(bodies) if bare else [], all_valid=False)


def sort_messages(codec: Codec, batch: SqsBatch, known: Known | None = None) -> list[Message | Notification]:
    """Every message but S3's test events, in order: validated, or an S3 notification to run.

    Bodies that can only be bare instances are validated together (`known`: what `bare_instances`
    found, if it already ran); one that fails is read alone, so every problem is the one the
    message would get on its own."""
    bare, found, _ = known if known is not None else bare_instances(codec, batch)
    together = {
        index: instance
        for index, instance in zip(bare, found, strict=True)
        if not isinstance(instance, Problem)
    }
    sorted_: list[Message | Notification] = []
    for index, record in enumerate(batch.records):
        message_id = record["messageId"]
        instance = together.get(index, _NONE)
        if instance is not _NONE:
            sorted_.append(Message(message_id, batch.groups[message_id], [instance]))
            continue
        read = read_body(codec, message_id, batch.groups[message_id], record["body"])
        if read is not None:
            sorted_.append(read)
    return sorted_


def read_body(
    codec: Codec, message_id: str, group_id: str | None, text: str
) -> Message | Notification | None:
    """One body on its own: a validated message, a notification, or None for S3's test event."""
    message = Message(message_id, group_id)
    try:
        body = codec.load_json(text, "The message body", BODY_HINT)
    except ProblemError as exc:
        message.problem = exc.problem
        return message
    if is_s3_test_event(body):
        return None
    if is_s3_notification(body):
        return Notification(message_id, body)
    try:
        if isinstance(body, dict) and "instances" in body:
            message.instances = codec.decode_envelope(body)
        else:
            message.instances = [codec.decode_instance(text, 0)]
    except ProblemError as exc:
        message.problem = exc.problem
    return message


PREDICTIONS_REPLY = b'{"messageId":%b,"predictions":[%b]}'
# PREDICTIONS_REPLY in the pieces around a message id's JSON string without its quotes, and around
# the prediction: joining five pieces costs less than formatting.
_BEFORE_ID, _BEFORE_PREDICTION, _AFTER_PREDICTION = b'{"messageId":"', b'","predictions":[', b"]}"
PROBLEM_REPLY = b'{"messageId":%b,"problem":%b}'


def _json_string_insides(texts: list[str]) -> list[bytes]:
    """Each text as a JSON string without its quotes, from one call for them all: in JSON every
    quote inside a string is escaped, so `","` occurs only between two."""
    if not texts:
        return []
    return to_json(texts)[2:-2].split(b'","')


def predictions_replies(message_ids: list[str], encoded: list[bytes]) -> list[bytes]:
    """The reply body to each message (as `reply_body` writes it), holding its one encoded prediction:
    joined by C-level maps, the message ids JSON-encoded in one call for them all."""
    insides = _json_string_insides(message_ids)
    pieces = zip(
        repeat(_BEFORE_ID),
        insides,
        repeat(_BEFORE_PREDICTION),
        encoded,
        repeat(_AFTER_PREDICTION),
        strict=False,
    )
    if len(insides) != len(encoded):
        raise ValueError(f"{len(message_ids)} message ids for {len(encoded)} predictions")
    return list(map(b"".join, pieces))


def reply_body(message: Message) -> bytes:
    if message.problem is not None:
        return PROBLEM_REPLY % (to_json(message.message_id), problems.encode(message.problem))
    return PREDICTIONS_REPLY % (to_json(message.message_id), b",".join(message.predictions))
