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
