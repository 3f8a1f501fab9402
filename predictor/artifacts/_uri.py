"""Parsed `s3://bucket/key[?versionId=V]` locations."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

from predictor.artifacts._errors import ArtifactsError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    version_id: str | None = None

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def is_archive(self) -> bool:
        return self.key.endswith(ARCHIVE_SUFFIXES)

    @property
    def basename(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        version = f"?versionId={self.version_id}" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"


def parse_s3_uri(uri: str) -> S3Location:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ArtifactsError(f"{uri!r} is not an S3 URI; write s3://bucket/key or s3://bucket/prefix/")
    versions = parse_qs(parsed.query).get("versionId")
    return S3Location(parsed.netloc, unquote(parsed.path.lstrip("/")), versions[0] if versions else None)
