"""The boto3 transport: every credential source boto3 knows (profiles, roles, SnapStart)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from predictor._aws_clients import fetch_s3_client
from predictor.artifacts._errors import ArtifactsError, RetryableFetchError
from predictor.artifacts._transport import (
    CREDENTIALS_ADVICE,
    Body,
    MissingCredentials,
    ObjectInfo,
    S3ResponseError,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class BotoS3:
    def __init__(self, timeout: float, concurrency: int, environ: Mapping[str, str]) -> None:
        """`environ`'s AWS settings win; what it lacks, boto3 finds where it always looks."""
        from botocore.exceptions import PartialCredentialsError, ProfileNotFound

        try:
            self.client: S3Client = fetch_s3_client(timeout, concurrency, environ)
        except (PartialCredentialsError, ProfileNotFound) as exc:  # the credential chain, read at once
            raise ArtifactsError(f"{exc}; {CREDENTIALS_ADVICE}") from exc

    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectInfo:
        with _translated():
            response = self.client.head_object(Bucket=bucket, Key=key, **_version(version_id))
        return ObjectInfo(
            key, response["ContentLength"], response["ETag"].strip('"'), response.get("VersionId")
        )

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        with _translated():  # each page is requested as the iteration reaches it
            return [
                ObjectInfo(item["Key"], item["Size"], item["ETag"].strip('"'), None)
                for page in pages
                for item in page.get("Contents", [])
            ]

    def get(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        byte_range: tuple[int, int],
        if_match: str | None,
    ) -> Body:
        extra: dict[str, Any] = _version(version_id)
        if if_match:
            extra["IfMatch"] = f'"{if_match}"'
        with _translated():
            response = self.client.get_object(
                Bucket=bucket, Key=key, Range=f"bytes={byte_range[0]}-{byte_range[1]}", **extra
            )
        return _BotoBody(response["Body"])


class _BotoBody:
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readinto(self, buffer: memoryview) -> int:
        with _translated():
            chunk: bytes = self.stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self.stream.close()


def _version(version_id: str | None) -> dict[str, Any]:
    return {"VersionId": version_id} if version_id else {}


@contextmanager
def _translated() -> Iterator[None]:
    """botocore's and urllib3's failures, in the terms every transport raises."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from urllib3.exceptions import HTTPError

    try:
        yield
    except NoCredentialsError as exc:  # raised when signing, before any request is sent
        raise MissingCredentials("no AWS credentials found") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = str(error.get("Code", ""))
        # A HEAD error has no body: botocore then reports the status as the code.
        raise S3ResponseError(
            status, "" if code == str(status) else code, str(error.get("Message", ""))
        ) from exc
    except (BotoCoreError, HTTPError) as exc:
        raise RetryableFetchError(f"{type(exc).__name__}: {exc}") from exc
