"""One S3 input file in, `<OUTPUT_URI><key>.out` and then `.manifest.json` out, streamed in chunks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from predictor import problems
from predictor._aws_clients import client
from predictor._log import logger
from predictor.aws_lambda._batches import rebatch, run_chunk
from predictor.aws_lambda._settings import OUTPUT_URI_HINT, EventSettings, S3Prefix
from predictor.aws_lambda._source import remaining_seconds, request_id
from predictor.aws_lambda.s3_files._output import MultipartOutput, put_json
from predictor.aws_lambda.s3_files._stream import Stream
from predictor.codec import BadObject, Record, file_format
from predictor.observability import count_file, traced
from predictor.problems import Problem
from predictor.runtime import Runtime

# Kept back from the invocation's remaining time to abort the upload and report.
RESERVE_S = 2.0


class OutOfTime(Exception):
    """The file cannot finish before the invocation times out."""


class MissingObject(BadObject):
    """The input object does not exist."""


class NotConfigured(ValueError):
    """Results have nowhere to go: OUTPUT_URI is missing or not an S3 prefix."""


@dataclass(frozen=True)
class FileResult:
    input: str
    output: str | None = None
    manifest: str | None = None
    records: int = 0
    predicted: int = 0
    invalid: int = 0
    skipped: str | None = None

    def summary(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


class S3Files:
    def __init__(self, runtime: Runtime, settings: EventSettings) -> None:
        self.runtime = runtime
        self.settings = settings

    def output_prefix(self) -> S3Prefix:
        if not isinstance(self.settings.output, S3Prefix):
            raise NotConfigured(f"S3 files need somewhere to write their results; {OUTPUT_URI_HINT}")
        return self.settings.output

    def process(self, bucket: str, key: str, version_id: str | None, context: Any) -> FileResult:
        """Predict every record of s3://bucket/key. Raises BadObject (retrying cannot help),
        NotConfigured, or anything else for a failure worth retrying; never writes a manifest
        for output that is not complete. Counted in the event's log line and metrics."""
        try:
            result = self._process(bucket, key, version_id, context)
        except Exception:
            count_file(0, 0, failed=True)
            raise
        count_file(result.predicted, result.invalid)
        return result

    def _process(self, bucket: str, key: str, version_id: str | None, context: Any) -> FileResult:
        input_uri = f"s3://{bucket}/{key}"
        out = self.output_prefix()
        if bucket == out.bucket and key.startswith(out.prefix):
            logger().warning(
                "input is under OUTPUT_URI; skipped so results cannot trigger more runs",
                extra={"input": input_uri},
            )
            return FileResult(input_uri, skipped=f"{input_uri} is under OUTPUT_URI {out.uri()}")
        form = file_format(key)
        reason = self.runtime.not_ready_reason()
        if reason is not None:
            raise RuntimeError(f"Not ready: {reason}")
        started = time.monotonic()
        clock = Clock(started, remaining_seconds(context), input_uri)
        clock.check(0, 0, 1)
        s3 = client("s3")
        try:
            extra = {"VersionId": version_id} if version_id else {}
            response = s3.get_object(Bucket=bucket, Key=key, **extra)
        except s3.exceptions.NoSuchKey:
            raise MissingObject(f"{input_uri} does not exist (deleted since the event was sent?)") from None
        size = int(response["ContentLength"])
        stream = Stream(response["Body"])
        output = MultipartOutput(s3, out.bucket, f"{out.prefix}{key}.out", "application/x-ndjson")
        try:
            counts = self._predict(
                self.runtime.codec.records(form, stream.chunks()),
                output,
                lambda records: clock.check(records, stream.read, size),
                request_id(context),
            )
            with traced(self.runtime.observer, "write"):
                output.complete()
        except BaseException:
            output.abort()
            raise
        finally:
            stream.close()
        result = FileResult(input_uri, output.uri, out.uri(f"{key}.manifest.json"), *counts)
        manifest = {
            "input": input_uri,
            "input_etag": str(response.get("ETag", "")).strip('"'),
            "input_version_id": response.get("VersionId"),
            "output": output.uri,
            "records": result.records,
            "predicted": result.predicted,
            "invalid": result.invalid,
            "model": {
                "name": self.runtime.predictor_class.name,
                "version": self.runtime.predictor_class.version,
            },
            "seconds": round(time.monotonic() - started, 3),
        }
        put_json(s3, out.bucket, f"{out.prefix}{key}.manifest.json", json.dumps(manifest).encode())
        return result

    def _predict(
        self, found: Iterator[list[Record]], output: MultipartOutput, progress: Any, rid: str
    ) -> tuple[int, int, int]:
        total = predicted = 0
        # One "predict" span for the file: a span per chunk would send thousands of subsegments
        # for a large file, and cost more time than predicting a small model's chunk.
        with traced(self.runtime.observer, "predict"):
            for chunk in rebatch(found, self.settings.batch_size):
                lines, answered = self._answer_chunk(chunk, total, rid)
                output.write(lines)
                total += len(chunk)
                predicted += answered
                progress(total)
        return total, predicted, total - predicted

    def _answer_chunk(self, chunk: list[Record], first: int, rid: str) -> tuple[bytes, int]:
        """The output lines of a chunk of records (1:1, in order) and how many are predictions."""
        decoded = self.runtime.codec.decode_records(chunk, first)
        # The kinds of slot, found at C speed: a chunk usually holds one, its instances' model.
        if any(issubclass(kind, Problem) for kind in set(map(type, decoded))):
            slots = [problem_line(slot) if isinstance(slot, Problem) else slot for slot in decoded]
            valid = [slot for slot in slots if not isinstance(slot, bytes)]
        else:  # every record valid, the usual case: one pass over the chunk, not three
            slots = valid = decoded
        answers: list[Any] | Problem = run_chunk(self.runtime, valid, rid, span=False) if valid else []
        if isinstance(answers, Problem):
            shared = problem_line(answers)
            return b"".join(shared if not isinstance(slot, bytes) else slot for slot in slots), 0
        texts = self.runtime.codec.encode_each(answers)
        if len(texts) == len(slots):
            return b'{"prediction":' + b'}\n{"prediction":'.join(texts) + b"}\n", len(texts)
        encoded = [b'{"prediction":' + text + b"}\n" for text in texts]
        predictions = iter(encoded)
        lines = [slot if isinstance(slot, bytes) else next(predictions) for slot in slots]
        return b"".join(lines), len(encoded)


def problem_line(problem: Problem) -> bytes:
    return b'{"problem":' + problems.encode(problem) + b"}\n"


@dataclass
class Clock:
    started: float
    remaining: float | None
    input_uri: str

    def check(self, records: int, read: int, size: int) -> None:
        """Fail early when, at the rate so far, the rest of the file cannot finish in time."""
        if self.remaining is None:
            return
        elapsed = time.monotonic() - self.started
        left = self.remaining - elapsed - RESERVE_S
        needed = (size - read) * elapsed / read if read else 0.0
        if left <= 0 or needed > left:
            raise OutOfTime(
                f"stopped {self.input_uri} after {records} records ({read} of {size} bytes read) in "
                f"{elapsed:.1f} s: the rest needs about {needed:.0f} s more and {max(left, 0):.1f} s "
                "remain; raise the function's timeout (up to 900 s), or split the input into smaller "
                "objects and run them through S3 Batch Operations"
            )
