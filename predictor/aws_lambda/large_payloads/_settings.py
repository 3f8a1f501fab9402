"""Settings of the response limit and the S3 claim-check, read once at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from predictor._environ import env, positive_fields
from predictor.aws_lambda._settings import S3Prefix
from predictor.payload_limits import LAMBDA_RESPONSE_LIMIT

MAX_RESPONSE_BYTES_ENV = "PREDICTOR_MAX_RESPONSE_BYTES"
LARGE_PAYLOAD_URI_ENV = "PREDICTOR_LARGE_PAYLOAD_URI"
EXPIRES_ENV = "PREDICTOR_LARGE_PAYLOAD_EXPIRES_S"
MAX_INSTANCES_ENV = "PREDICTOR_LARGE_PAYLOAD_MAX_INSTANCES"
MAX_BYTES_ENV = "PREDICTOR_LARGE_PAYLOAD_MAX_BYTES"
# SigV4 presigned URLs last at most 7 days.
MAX_EXPIRES_S = 7 * 24 * 3600


@dataclass(frozen=True)
class LargePayloadSettings:
    max_response_bytes: int = field(
        default=LAMBDA_RESPONSE_LIMIT,
        metadata=env(
            MAX_RESPONSE_BYTES_ENV,
            "the largest response, measured as Lambda counts it (the whole JSON response, "
            "base64 bodies included); past it a 413, or the claim-check. The default is Lambda's 6 MB",
        ),
    )
    uri: S3Prefix | None = field(
        default=None,
        metadata=env(
            LARGE_PAYLOAD_URI_ENV,
            "`s3://bucket/prefix/` turns the claim-check on: a larger answer is written "
            'there and answered with a presigned URL, and `{"instances_uri": ...}` may name a request '
            "under it (see docs/large-payloads.md)",
            default="none: larger answers are refused (413)",
        ),
    )
    expires_s: int = field(
        default=3600,
        metadata=env(EXPIRES_ENV, "how long a claim-check's presigned URL stays valid, in seconds"),
    )
    max_instances: int = field(
        default=100_000,
        metadata=env(MAX_INSTANCES_ENV, '413 beyond: instances in one `{"instances_uri": ...}` request'),
    )
    max_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=env(MAX_BYTES_ENV, '413 beyond: the size of the object an `{"instances_uri": ...}` names'),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> LargePayloadSettings:
        environ = os.environ if environ is None else environ
        uri = environ.get(LARGE_PAYLOAD_URI_ENV) or None
        prefix = parse_prefix(uri) if uri else None
        settings = cls(uri=prefix, **positive_fields(cls, environ, exclude=("uri",)))
        if settings.expires_s > MAX_EXPIRES_S:
            raise ValueError(
                f"{EXPIRES_ENV}={settings.expires_s} is longer than a presigned URL may last "
                f"({MAX_EXPIRES_S} s, 7 days); set it lower"
            )
        return settings


def parse_prefix(uri: str) -> S3Prefix:
    """`s3://bucket/prefix/`; a prefix without a final `/` gets one, so it never matches a sibling."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(
            f"{LARGE_PAYLOAD_URI_ENV}={uri!r} is not an s3:// URI; set it to s3://bucket/prefix/"
        )
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Prefix(parts.netloc, prefix)
