"""The S3-file pipeline: an object notification in, `<OUTPUT_URI><key>.out` and its manifest out.

In the order a file goes through it:
- `_notifications`: S3 object notifications, however they arrive (S3, SQS, EventBridge),
  to the objects created, each run and its failures gathered;
- `_files`: one object from GET to manifest: its format, records through the codec, batches
  through `predict` (aws_lambda/_batches.py), the time left watched;
- `_stream`: the body read in chunks by a thread that keeps a few ahead;
- `_output`: the results written as a multipart upload while the next part fills.

The event sources (S3, S3 Batch Operations, EventBridge S3, SQS) call what this exports;
this package imports no source.
"""

from predictor.aws_lambda.s3_files._files import NotConfigured, S3Files
from predictor.aws_lambda.s3_files._notifications import (
    CreatedObject,
    created_objects,
    is_s3_notification,
    is_s3_test_event,
    run_all,
)
from predictor.aws_lambda.s3_files._output import put_json

__all__ = [
    "CreatedObject",
    "NotConfigured",
    "S3Files",
    "created_objects",
    "is_s3_notification",
    "is_s3_test_event",
    "put_json",
    "run_all",
]
