"""SQS batches (`Records[].eventSource == "aws:sqs"`), answered with partial batch failures.

A message body is a request envelope, one bare instance, or an S3 notification
(S3 → SQS → Lambda). Every message ends answered (a reply holding its predictions or
its problem) or listed in `batchItemFailures` so SQS redelivers it, and in the end
moves it to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic_core import to_json

from predictor import problems
from predictor._log import logger
from predictor.aws_lambda._batches import ChunkFailed, run_chunk
from predictor.aws_lambda._settings import OUTPUT_URI_HINT, EventSettings
from predictor.aws_lambda._source import request_id
from predictor.aws_lambda.s3_files import S3Files, created_objects, run_all
from predictor.aws_lambda.sources._sqs_messages import (
    PROBLEM_REPLY,
    Known,
    Message,
    Notification,
    SqsBatch,
    bare_instances,
    predictions_replies,
    reply_body,
    sort_messages,
)
from predictor.aws_lambda.sources._sqs_replies import Replies, deliver
from predictor.contract import ContractError
from predictor.observability import count_records, traced
from predictor.problems import Problem
from predictor.runtime import Runtime


class SqsEvent:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.runtime = runtime
        self.settings = settings
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
        batch = SqsBatch.of(event)
        if self.settings.output is None:
            logger().error(f"no OUTPUT_URI: every message is reported failed; {OUTPUT_URI_HINT}")
            count_records(failed=len(batch.order))
            return failures(batch.order)
        answered, failed = self.answer(batch, context)
        with traced(self.runtime.observer, "write"):
            failed |= deliver(self.settings.output, answered)
        if batch.fifo:
            failed = _fifo_closure(batch.order, batch.groups, failed)
        _count(answered, failed)
        return failures([message_id for message_id in batch.order if message_id in failed])

    def answer(self, batch: SqsBatch, context: Any) -> tuple[Replies, set[str]]:
        """The replies to send, and the ids of messages to report failed (S3 files run here)."""
        known = bare_instances(self.runtime.codec, batch)
        if known.all_valid:
            return self.answer_instances(batch, known.found, request_id(context))
        return self.answer_messages(batch, context, known)

    def answer_instances(self, batch: SqsBatch, instances: list[Any], rid: str) -> tuple[Replies, set[str]]:
        """The usual batch, every body one valid instance: replies built straight from each chunk's
        predictions. Answers exactly as `answer_messages` would (a test holds the two together)."""
        ids, group_ids = batch.order, batch.group_ids
        reason = self.runtime.not_ready_reason()
        if reason is not None:
            logger().error("not ready: the batch is reported failed", extra={"reason": reason})
            return Replies(), set(ids)
        outcomes = list(self._chunks(instances, rid))
        predicted = [outcome for _, outcome in outcomes if isinstance(outcome, list)]
        if len(predicted) == len(outcomes):
            # Every chunk predicted: the replies share the batch's lists of ids, and are built by
            # C-level maps, the message ids encoded in one call. Per message, this is most of
            # what the adapter adds to validate, predict and encode.
            encoded: list[bytes] = []
            for texts in predicted:
                encoded += texts
            return Replies(ids, group_ids, predictions_replies(ids, encoded)), set()
        answered_ids: list[str] = []
        answered_groups: list[str | None] = []
        bodies: list[bytes] = []
        failed: set[str] = set()
        for span, outcome in outcomes:
            chunk_ids = ids[span]
            if outcome is None:
                failed.update(chunk_ids)
                continue
            if isinstance(outcome, Problem):
                problem = problems.encode(outcome)
                bodies += [PROBLEM_REPLY % (to_json(message_id), problem) for message_id in chunk_ids]
            else:
                bodies += predictions_replies(chunk_ids, outcome)
            answered_ids += chunk_ids
            answered_groups += group_ids[span]
        replies = Replies(answered_ids, answered_groups, bodies)
        if batch.fifo and failed:
            failed = _fifo_closure(ids, batch.groups, failed)
            replies = replies.without(failed)
        return replies, failed

    def answer_messages(
        self, batch: SqsBatch, context: Any, known: Known | None = None
    ) -> tuple[Replies, set[str]]:
        """Any batch: envelopes, bare instances, invalid bodies and S3 notifications, in order."""
        failed: set[str] = set()
        messages: list[Message] = []
        for found in sort_messages(self.runtime.codec, batch, known):
            if isinstance(found, Message):
                messages.append(found)
                continue
            if batch.fifo and _blocked(found.message_id, batch.order, batch.groups, failed):
                failed.add(found.message_id)
                continue
            if not self.run_files(found, context):
                failed.add(found.message_id)
        failed |= self.predict(messages, request_id(context))
        if batch.fifo:
            failed = _fifo_closure(batch.order, batch.groups, failed)
        answered = [message for message in messages if message.message_id not in failed]
        replies = Replies(
            [message.message_id for message in answered],
            [message.group_id for message in answered],
            list(map(reply_body, answered)),
        )
        return replies, failed

    def run_files(self, notification: Notification, context: Any) -> bool:
        try:
            run_all(self.files, created_objects(notification.body), context)
        except Exception:
            return False
        return True

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
        for span, outcome in self._chunks(instances, rid):
            chunk_owners = owners[span]
            if outcome is None:
                failed.update(owner.message_id for owner in chunk_owners)
            elif isinstance(outcome, Problem):
                for owner in chunk_owners:
                    owner.problem = outcome
            else:
                for owner, text in zip(chunk_owners, outcome, strict=True):
                    owner.predictions.append(text)
        return failed

    def _chunks(self, instances: list[Any], rid: str) -> Iterator[tuple[slice, list[bytes] | Problem | None]]:
        """Each PREDICTOR_BATCH_SIZE chunk of `instances` with its outcome: the encoded predictions,
        the problem that answers every instance in it, or None when it failed (to retry)."""
        size = self.settings.batch_size
        for start in range(0, len(instances), size):
            span = slice(start, start + size)
            outcome: list[bytes] | Problem | None
            try:
                answers = run_chunk(self.runtime, instances[span], rid)
                outcome = answers if isinstance(answers, Problem) else self._encode(answers, rid)
            except ChunkFailed:
                outcome = None
            yield span, outcome

    def _encode(self, predictions: list[Any], rid: str) -> list[bytes]:
        try:
            return self.runtime.codec.encode_each(predictions)
        except ContractError as exc:
            # A non-finite prediction cannot be written as JSON: retry rather than answer null.
            logger().exception("predictor broke its contract on a chunk", extra={"request_id": rid})
            raise ChunkFailed(str(exc)) from exc


def _count(answered: Replies, failed: set[str]) -> None:
    """The batch's messages by outcome, for its log line and metrics."""
    delivered = [
        (message_id, body)
        for message_id, body in zip(answered.message_ids, answered.bodies, strict=True)
        if message_id not in failed
    ]
    invalid = sum(1 for message_id, body in delivered if _is_problem(message_id, body))
    count_records(len(delivered) - invalid, invalid, len(failed))


def _is_problem(message_id: str, body: bytes) -> bool:
    # The reply opens with the message id; a problem follows it where predictions would.
    return body.startswith(b',"problem":', len(b'{"messageId":') + len(to_json(message_id)))


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
