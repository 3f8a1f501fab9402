"""Artifact settings: environment variable names and their parsed values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from predictor._environ import env, positive_fields
from predictor.artifacts._errors import ArtifactsError

MODEL_URI_ENV = "MODEL_URI"
MODEL_SHA256_ENV = "MODEL_SHA256"
CACHE_DIR_ENV = "PREDICTOR_CACHE_DIR"
ATTEMPTS_ENV = "PREDICTOR_S3_ATTEMPTS"
TIMEOUT_ENV = "PREDICTOR_S3_TIMEOUT"
PART_BYTES_ENV = "PREDICTOR_S3_PART_BYTES"
CONCURRENCY_ENV = "PREDICTOR_S3_CONCURRENCY"
PREFETCH_ENV = "PREDICTOR_PREFETCH"
MAX_EXTRACTED_BYTES_ENV = "PREDICTOR_MAX_EXTRACTED_BYTES"
MAX_MEMBERS_ENV = "PREDICTOR_MAX_ARCHIVE_MEMBERS"

CLIENT_ENV = "PREDICTOR_S3_CLIENT"
SESSION_TOKEN_ENV = "AWS_SESSION_TOKEN"
# What decides how S3 is reached: read from the environ resolve_artifacts is given.
TRANSPORT_ENV = (
    CLIENT_ENV,
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    SESSION_TOKEN_ENV,
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
AwsEnviron = tuple[tuple[str, str], ...]

DEFAULT_CACHE_DIR = "/tmp/predictor-artifacts"
MIB = 1024 * 1024
# Lambda's largest ephemeral storage: an archive may never expand past what any function could hold.
DEFAULT_MAX_EXTRACTED_BYTES = 10 * 1024 * MIB
DEFAULT_MAX_MEMBERS = 100_000


def aws_environ(environ: Mapping[str, str]) -> AwsEnviron:
    return tuple((name, environ[name]) for name in TRANSPORT_ENV if environ.get(name))


@dataclass(frozen=True)
class FetchSettings:
    cache_dir: Path = field(
        default=Path(DEFAULT_CACHE_DIR),
        metadata=env(
            CACHE_DIR_ENV,
            "where downloaded artifacts are cached, keyed by ETag or version, so a warm restart reuses them",
        ),
    )
    sha256: str | None = field(
        default=None,
        metadata=env(
            MODEL_SHA256_ENV,
            "pins the content of a single object or archive (its sha256): on a mismatch the function "
            "refuses to start",
        ),
    )
    attempts: int = field(
        default=5,
        metadata=env(
            ATTEMPTS_ENV, "tries per S3 request: throttling, 5xx, resets, timeouts and truncated bodies retry"
        ),
    )
    timeout: float = field(
        default=10.0,
        metadata=env(TIMEOUT_ENV, "seconds an S3 request may wait to connect or for the next bytes"),
    )
    part_bytes: int = field(
        default=16 * MIB, metadata=env(PART_BYTES_ENV, "large objects are fetched in ranges of this size")
    )
    concurrency: int = field(default=8, metadata=env(CONCURRENCY_ENV, "ranges in flight at once"))
    max_extracted_bytes: int = field(
        default=DEFAULT_MAX_EXTRACTED_BYTES,
        metadata=env(
            MAX_EXTRACTED_BYTES_ENV,
            "an archive extracting past this fails (Lambda's largest ephemeral storage)",
        ),
    )
    max_members: int = field(
        default=DEFAULT_MAX_MEMBERS,
        metadata=env(MAX_MEMBERS_ENV, "an archive holding more members than this fails"),
    )
    #: What decides how S3 is reached, from the environ the settings were read from.
    aws: AwsEnviron = field(default=(), repr=False)

    def check_pin(self, uri: str, digest: str | None) -> None:
        """Refuse content whose digest is not the one MODEL_SHA256 pins (if it pins one)."""
        if self.sha256 is not None and digest != self.sha256:
            raise ArtifactsError(
                f"{uri} does not match {MODEL_SHA256_ENV}: expected {self.sha256}, got {digest}; "
                "update the pin or point MODEL_URI at the intended artifact"
            )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> FetchSettings:
        sha256 = (environ.get(MODEL_SHA256_ENV) or "").strip().lower() or None
        if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"{MODEL_SHA256_ENV} must be 64 hex digits (a sha256 digest), got {sha256!r}")
        return cls(
            cache_dir=Path(environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR),
            sha256=sha256,
            aws=aws_environ(environ),
            **positive_fields(cls, environ, exclude=("cache_dir", "sha256")),
        )
