"""SQS batches (`Records[].eventSource == "aws:sqs"`), answered with partial batch failures.

A message body is a request envelope, one bare instance, or an S3 notification
(S3 → SQS → Lambda). Every message ends answered (a reply holding its predictions or
its problem) or listed in `batchItemFailures` so SQS redelivers it, and in the end
moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from predictor import problems
from predictor._log import logger
from predictor.aws_lambda._batches import ChunkFailed, chunks, run_chunk
from predictor.aws_lambda._notifications import created_objects, is_s3_notification, is_s3_test_event, run_all
from predictor.aws_lambda._replies import Reply, deliver
from predictor.aws_lambda._s3_files import S3Files
from predictor.aws_lambda._settings import OUTPUT_URI_HINT, EventSettings
from predictor.aws_lambda._source import request_id
from predictor.problems import Problem, ProblemError
from predictor.runtime import Runtime

BODY_HINT = 'send {"instances": [...]} or one instance as the message body'


@dataclass
class Message:
    message_id: str
    group_id: str | None
    instances: list[Any] = field(default_factory=list)
    predictions: list[bytes] = field(default_factory=list)
    problem: Problem | None = None


class SqsEvent:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = EventSettings.from_environ(runtime.environ)
        self.files = S3Files(runtime, self.settings)

    @staticmethod
    def infer(event: dict[str, Any]) -> bool:
        records = event.get("Records")
        return (
            bool(records)
            and isinstance(records, list)
            and isinstance(records[0], dict)
            and (records[0].get("eventSource") == "aws:sqs")
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.data_classes import SQSEvent

        records = list(SQSEvent(event).records)
        fifo = bool(records) and records[0].event_source_arn.endswith(".fifo")
        order = [record.message_id for record in records]
        groups = {record.message_id: record.attributes.message_group_id for record in records}
        if self.settings.output is None:
            logger().error(f"no OUTPUT_URI: every message is reported failed; {OUTPUT_URI_HINT}")
            return failures(order)
        failed: set[str] = set()
        messages: list[Message] = []
        for record in records:
            body = _decode(record.body)
            if is_s3_test_event(body):
                continue
            if is_s3_notification(body):
                if fifo and _blocked(record.message_id, order, groups, failed):
                    failed.add(record.message_id)
                    continue
                try:
                    run_all(self.files, created_objects(body), context)
                except Exception:
                    failed.add(record.message_id)
                continue
            messages.append(self.validate(record.message_id, groups[record.message_id], body))
        failed |= self.predict(messages, request_id(context))
        if fifo:
            failed = _fifo_closure(order, groups, failed)
        answered = [reply(message) for message in messages if message.message_id not in failed]
        failed |= deliver(self.settings.output, answered)
        if fifo:
            failed = _fifo_closure(order, groups, failed)
        return failures([message_id for message_id in order if message_id in failed])

    def validate(self, message_id: str, group_id: str | None, body: object) -> Message:
        message = Message(message_id, group_id)
        schema = self.runtime.schema
        try:
            if isinstance(body, Problem):
                raise ProblemError(body)
            if isinstance(body, dict) and "instances" in body:
                message.instances = schema.parse_object(body)
            else:
                message.instances = [schema.parse_instance(body, 0)]
        except ProblemError as exc:
            message.problem = exc.problem
        return message

    def predict(self, messages: list[Message], rid: str) -> set[str]:
        """One vectorised pass over every valid instance of the batch; the ids of messages whose
        chunk failed (to retry)."""
        reason = self.runtime.not_ready_reason()
        if reason is not None:
            logger().error("not ready: the batch is reported failed", extra={"reason": reason})
            return {message.message_id for message in messages if message.problem is None}
        valid = [message for message in messages if message.problem is None]
        owners = [message for message in valid for _ in message.instances]
        instances = [instance for message in valid for instance in message.instances]
        failed: set[str] = set()
        encode = self.runtime.schema.encode_prediction
        for start, chunk in enumerate(chunks(instances, self.settings.batch_size)):
            chunk_owners = owners[start * self.settings.batch_size :][: len(chunk)]
            try:
                answers = run_chunk(self.runtime, list(chunk), rid)
            except ChunkFailed:
                failed.update(owner.message_id for owner in chunk_owners)
                continue
            for position, owner in enumerate(chunk_owners):
                if isinstance(answers, Problem):
                    owner.problem = answers
                else:
                    owner.predictions.append(encode(answers[position]))
        return failed


def reply(message: Message) -> Reply:
    head = b'{"messageId":' + json.dumps(message.message_id).encode()
    if message.problem is not None:
        body = head + b',"problem":' + problems.encode(message.problem) + b"}"
    else:
        body = head + b',"predictions":[' + b",".join(message.predictions) + b"]}"
    return Reply(message.message_id, message.group_id, body)


def _decode(body: str) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        return problems.problem(400, f"The message body is not valid JSON ({exc}); {BODY_HINT}")


def _blocked(message_id: str, order: list[str], groups: dict[str, str | None], failed: set[str]) -> bool:
    group = groups[message_id]
    return any(groups[earlier] == group for earlier in order[: order.index(message_id)] if earlier in failed)


def _fifo_closure(order: list[str], groups: dict[str, str | None], failed: set[str]) -> set[str]:
    """On a FIFO queue a failure fails every later message of its group, so order is kept."""
    stopped: set[str | None] = set()
    closed = set()
    for message_id in order:
        if message_id in failed or groups[message_id] in stopped:
            closed.add(message_id)
            stopped.add(groups[message_id])
    return closed


def failures(message_ids: list[str]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}
