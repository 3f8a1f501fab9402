"""An S3 object written as a stream: parts go up as a multipart upload while the next one fills."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from predictor._log import logger

# S3's smallest part (except the last) is 5 MiB; a few parts in flight bound memory.
PART_BYTES = 8 * 1024 * 1024
# Two parts going up at once: the next part is ready before a slow PUT of the last one ends,
# so predicting rarely waits on S3; memory stays below (IN_FLIGHT + 1) * PART_BYTES.
IN_FLIGHT = 2


class OutputWriteError(Exception):
    """Writing results failed; the records were not answered and must be retried."""


def write_failed(uri: str, exc: BaseException) -> OutputWriteError:
    return OutputWriteError(
        f"could not write {uri}: {s3_error(exc)}; check the bucket in OUTPUT_URI exists "
        "and that the function may s3:PutObject there"
    )


def s3_error(exc: BaseException) -> str:
    """S3's own error code first (`AccessDenied: ...`): botocore raises a modelled class for some codes
    and a bare ClientError for others, and which depends on its version."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    if isinstance(error, dict) and error.get("Code"):
        return f"{error['Code']}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def put_json(s3: Any, bucket: str, key: str, body: bytes) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as exc:
        raise write_failed(f"s3://{bucket}/{key}", exc) from exc


class MultipartOutput:
    """Write with `write`, then `complete`; `abort` on any failure leaves no partial object.

    An output that fits in one part is written with one PUT instead."""

    def __init__(self, s3: Any, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES):
        self.s3, self.bucket, self.key = s3, bucket, key
        self.content_type = content_type
        self.part_bytes = part_bytes
        self.uri = f"s3://{bucket}/{key}"
        self._pieces: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: deque[Future[dict[str, Any]]] = deque()
        self._uploader: ThreadPoolExecutor | None = None

    def write(self, data: bytes) -> None:
        self._pieces.append(data)
        self._buffered += len(data)
        if self._buffered >= self.part_bytes:
            self._send_part()

    def complete(self) -> None:
        try:
            if self._upload_id is None:
                self.s3.put_object(
                    Bucket=self.bucket, Key=self.key, Body=self._take(), ContentType=self.content_type
                )
                return
            if self._buffered:
                self._send_part()
            self._wait_for_parts(0)
            self.s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        except OutputWriteError:
            raise
        except Exception as exc:
            raise write_failed(self.uri, exc) from exc
        finally:
            self._close_uploader()

    def abort(self) -> None:
        """Best effort: an upload left behind is cleaned by the bucket's lifecycle rule, if any."""
        try:
            for in_flight in self._in_flight:
                in_flight.exception()
            if self._upload_id is not None:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        except Exception:
            logger().warning("could not abort a multipart upload", extra={"uri": self.uri})
        finally:
            self._close_uploader()

    def _take(self) -> bytes:
        body = b"".join(self._pieces)
        self._pieces, self._buffered = [], 0
        return body

    def _send_part(self) -> None:
        try:
            if self._upload_id is None:
                created = self.s3.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, ContentType=self.content_type
                )
                self._upload_id = created["UploadId"]
                self._uploader = ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="predictor-upload")
            self._wait_for_parts(IN_FLIGHT - 1)
        except Exception as exc:
            raise write_failed(self.uri, exc) from exc
        assert self._uploader is not None
        number = len(self._parts) + len(self._in_flight) + 1
        self._in_flight.append(self._uploader.submit(self._upload, number, self._take()))

    def _upload(self, number: int, body: bytes) -> dict[str, Any]:
        response = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _wait_for_parts(self, left: int) -> None:
        """Wait, oldest first, until at most `left` parts are still going up."""
        while len(self._in_flight) > left:
            self._parts.append(self._in_flight.popleft().result())

    def _close_uploader(self) -> None:
        if self._uploader is not None:
            self._uploader.shutdown(wait=True)
            self._uploader = None
