"""Parsed `s3://bucket/key[?versionId=V]` locations.

The key is read literally, as the AWS CLI reads it: `%41` stays three characters and
`s3://b//abs.bin` names the key `/abs.bin`. Only a trailing `?versionId=V` is taken apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from predictor.artifacts._errors import ArtifactsError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
VERSION_MARKER = "?versionId="


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
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not bucket:
        raise ArtifactsError(f"{uri!r} is not an S3 URI; write s3://bucket/key or s3://bucket/prefix/")
    key, marker, version_id = key.rpartition(VERSION_MARKER)
    if not marker:
        key, version_id = version_id, ""
    return S3Location(bucket, key, version_id or None)
