"""Replies to SQS messages: `<prefix><messageId>.json` objects, or messages on a reply queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from typing import NamedTuple

from predictor._aws_clients import client
from predictor._log import logger
from predictor.aws_lambda._settings import Output, QueueUrl
from predictor.aws_lambda.s3_files import put_json

# SQS takes at most 10 entries and 256 KiB per SendMessageBatch.
BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024
WRITERS = 8


class Reply(NamedTuple):
    message_id: str
    group_id: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Replies:
    """The replies to a batch's messages, as three parallel lists in message order; the lists
    may be the batch's own, so neither changes them.

    Not a `Reply` per message: a batch holds up to 10,000 messages, and building, freeing and
    garbage-collecting a tuple for each cost more than the adapter's other per-message work.
    A `Reply` is built only for a reply being sent."""

    message_ids: list[str] = field(default_factory=list)
    #: Each message's MessageGroupId (FIFO and fair queues), None where it has none.
    group_ids: list[str | None] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not len(self.message_ids) == len(self.group_ids) == len(self.bodies):
            raise ValueError("each reply needs a message id, a group id and a body")

    def without(self, message_ids: set[str]) -> Replies:
        """These replies but those to `message_ids`."""
        kept = [message_id not in message_ids for message_id in self.message_ids]
        return Replies(
            list(compress(self.message_ids, kept)),
            list(compress(self.group_ids, kept)),
            list(compress(self.bodies, kept)),
        )

    def __len__(self) -> int:
        return len(self.message_ids)

    def __iter__(self) -> Iterator[Reply]:
        return map(Reply, self.message_ids, self.group_ids, self.bodies)


def deliver(output: Output, replies: Replies) -> set[str]:
    """Write every reply; the message ids whose reply could not be written."""
    if not replies:
        return set()
    if isinstance(output, QueueUrl):
        batches = _batches(replies)
        send = _sender(output)
    else:
        batches = [[reply] for reply in replies]
        s3 = client("s3")

        def send(batch: list[Reply]) -> set[str]:
            reply = batch[0]
            try:
                put_json(s3, output.bucket, f"{output.prefix}{reply.message_id}.json", reply.body)
            except Exception:
                logger().exception("could not write a reply", extra={"message_id": reply.message_id})
                return {reply.message_id}
            return set()

    with ThreadPoolExecutor(min(WRITERS, len(batches)), thread_name_prefix="predictor-reply") as pool:
        return set().union(*pool.map(send, batches))


def _batches(replies: Replies) -> list[list[Reply]]:
    batches: list[list[Reply]] = []
    size = BATCH_BYTES
    for reply in replies:
        if len(batches[-1] if batches else ()) == BATCH_ENTRIES or size + len(reply.body) > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(reply)
        size += len(reply.body)
    return batches


def _sender(queue: QueueUrl) -> Callable[[list[Reply]], set[str]]:
    sqs = client("sqs")

    def send(batch: list[Reply]) -> set[str]:
        entries = []
        for number, reply in enumerate(batch):
            entry = {"Id": str(number), "MessageBody": reply.body.decode()}
            if queue.fifo:
                # The source message id makes a redelivered reply a duplicate SQS drops.
                entry["MessageGroupId"] = reply.group_id or "predictions"
                entry["MessageDeduplicationId"] = reply.message_id
            entries.append(entry)
        try:
            response = sqs.send_message_batch(QueueUrl=queue.url, Entries=entries)
        except Exception:
            logger().exception("could not send replies", extra={"queue": queue.url})
            return {reply.message_id for reply in batch}
        failed = {batch[int(entry["Id"])].message_id for entry in response.get("Failed", [])}
        if failed:
            logger().error("replies refused by SQS", extra={"failed": json.dumps(response["Failed"])})
        return failed

    return send
