"""Every event source, in the order the handler asks them: the first whose `infer` is true answers.

Order matters only where shapes could overlap, so the most specific shapes come first:
1. HTTP events carry `requestContext`, which no other source has.
2. S3 Batch Operations carry `invocationSchemaVersion` and `tasks`.
3. S3 notifications and 4. SQS batches are both `Records`, told apart by `eventSource`.
5. EventBridge: S3 "Object Created", then the schedule's ping (`aws.events`), then custom
   events (any other `source` not starting with `aws.`, with `detail-type` and `detail`).
6. Direct invocation (`instances`) comes last.
Adding a source is one module and one line here.
"""

from __future__ import annotations

from predictor.aws_lambda._source import EventSource
from predictor.aws_lambda.sources.direct import DirectInvoke
from predictor.aws_lambda.sources.eventbridge import CustomEvent, ScheduledEvent
from predictor.aws_lambda.sources.http import HttpEvent
from predictor.aws_lambda.sources.s3 import S3Notification
from predictor.aws_lambda.sources.s3_batch import S3BatchOperations
from predictor.aws_lambda.sources.s3_eventbridge import S3EventBridge
from predictor.aws_lambda.sources.sqs import SqsEvent

SOURCES: list[type[EventSource]] = [
    HttpEvent,
    S3BatchOperations,
    S3Notification,
    SqsEvent,
    S3EventBridge,
    ScheduledEvent,
    CustomEvent,
    DirectInvoke,
]
