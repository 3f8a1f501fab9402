"""Event-path settings, set by argument or by environment variable (the argument wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from predictor._environ import env, positive_number
from predictor.limits import BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE

OUTPUT_URI_ENV = "OUTPUT_URI"
OUTPUT_URI_HINT = "set OUTPUT_URI to an s3://bucket/prefix/ (or, for SQS replies, an SQS queue URL)"


@dataclass(frozen=True)
class S3Prefix:
    bucket: str
    prefix: str

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


@dataclass(frozen=True)
class QueueUrl:
    url: str

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")


Output = S3Prefix | QueueUrl


def parse_output_uri(uri: str) -> Output:
    """`s3://bucket/prefix/` or an SQS queue URL; a prefix that does not end in `/` gets one."""
    parts = urlsplit(uri)
    if parts.scheme == "s3" and parts.netloc:
        prefix = parts.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Prefix(parts.netloc, prefix)
    if parts.scheme in ("https", "http") and parts.netloc and parts.path.count("/") >= 2:
        return QueueUrl(uri)
    raise ValueError(
        f"{OUTPUT_URI_ENV}={uri!r} is neither an s3:// URI nor an SQS queue URL; {OUTPUT_URI_HINT}"
    )


@dataclass(frozen=True)
class EventSettings:
    output: Output | None = field(
        default=None,
        metadata=env(
            OUTPUT_URI_ENV,
            "where results go, `s3://bucket/prefix/` (a prefix without a final `/` gets one), "
            "or for SQS replies an SQS queue URL",
            default="none: S3 files raise, SQS records are reported failed",
        ),
    )
    batch_size: int = field(
        default=DEFAULT_BATCH_SIZE,
        metadata=env(
            BATCH_SIZE_ENV,
            "most instances in one `predict` call: the chunks of an event's records, and the batches "
            "`predictor serve` forms from concurrent requests (one request is never split)",
        ),
    )

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        output_uri: str | None = None,
        batch_size: int | None = None,
    ) -> EventSettings:
        environ = os.environ if environ is None else environ
        uri = output_uri or environ.get(OUTPUT_URI_ENV) or None
        return cls(
            output=parse_output_uri(uri) if uri else None,
            batch_size=batch_size or positive_number(environ, BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE),
        )
