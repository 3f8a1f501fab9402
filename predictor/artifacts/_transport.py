"""What the fetch needs from S3, and the error both transports raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version_id: str | None


class S3ResponseError(Exception):
    """S3 answered with an error status; `code` is S3's error code when the body had one."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{code or status} {message}".strip())
        self.status = status
        self.code = code
        self.message = message


# Where boto3 looks, in its order (the AWS CLI's): what a credentials error tells the user.
CREDENTIALS_ADVICE = (
    "credentials are looked for in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then the AWS_PROFILE "
    "profile (else default) in ~/.aws/credentials and ~/.aws/config (or AWS_SHARED_CREDENTIALS_FILE "
    "and AWS_CONFIG_FILE), then the Lambda function's, ECS task's or EC2 instance's role; "
    "run `aws configure` or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


class MissingCredentials(Exception):
    """No credential source gave credentials: retrying never helps."""


class Body(Protocol):
    def readinto(self, buffer: memoryview) -> int: ...

    def close(self) -> None: ...


class S3Transport(Protocol):
    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectInfo: ...

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]: ...

    def get(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        byte_range: tuple[int, int],
        if_match: str | None,
    ) -> Body: ...
