"""The S3 claim-check: answers too large for Lambda's response are stored under the configured prefix
and answered with a presigned GET URL; requests may name their instances by an object under it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from predictor import problems
from predictor._aws_clients import client
from predictor.aws_lambda._settings import S3Prefix
from predictor.aws_lambda.large_payloads._settings import LARGE_PAYLOAD_URI_ENV, MAX_BYTES_ENV
from predictor.problems import ProblemError

ANSWERS = "answers/"
# Object keys carry the request id; anything else in it is replaced so the key stays one segment.
_UNSAFE_IN_KEY = re.compile(r"[^A-Za-z0-9._-]")
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
_FORBIDDEN = frozenset({"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidObjectState"})


class ClaimCheck:
    def __init__(self, prefix: S3Prefix, expires_s: int, max_bytes: int) -> None:
        self.prefix = prefix
        self.expires_s = expires_s
        self.max_bytes = max_bytes

    def store(self, body: bytes, content_type: str, request_id: str) -> dict[str, Any]:
        """Write an answer under the prefix; the small envelope that names it."""
        key = f"{self.prefix.prefix}{ANSWERS}{_UNSAFE_IN_KEY.sub('_', request_id)}.json"
        s3 = client("s3")
        s3.put_object(
            Bucket=self.prefix.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata={"request-id": request_id},
        )
        # The URL is valid from its signing time, which is this second or the next.
        signed = datetime.now(UTC).replace(microsecond=0)
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.prefix.bucket, "Key": key}, ExpiresIn=self.expires_s
        )
        return {
            "predictions_uri": self.prefix.uri(key[len(self.prefix.prefix) :]),
            "predictions_url": url,
            "expires_at": (signed + timedelta(seconds=self.expires_s)).isoformat().replace("+00:00", "Z"),
            "content_type": content_type,
            "bytes": len(body),
            "request_id": request_id,
        }

    def read(self, uri: object) -> bytes:
        """The bytes of the object `uri` names, which must lie under the prefix; a 4xx problem naming
        it when it does not, is missing, cannot be read or is too large."""
        bucket, key = self.locate(uri)
        from botocore.exceptions import BotoCoreError, ClientError

        named = f"s3://{bucket}/{key}"
        try:
            got = client("s3").get_object(Bucket=bucket, Key=key)
            size = int(got["ContentLength"])
            if size > self.max_bytes:
                got["Body"].close()
                raise ProblemError(
                    problems.problem(
                        413,
                        f"The object {named} is {size} bytes, over the limit of {self.max_bytes} bytes "
                        f"({MAX_BYTES_ENV}); split its instances across objects",
                        instances_uri=named,
                    )
                )
            data: bytes = got["Body"].read()
        except ClientError as exc:
            raise ProblemError(_read_failure(named, exc.response.get("Error", {}).get("Code", ""))) from None
        except BotoCoreError as exc:
            detail = f"The object {named} could not be read ({type(exc).__name__}: {exc}); try again"
            raise ProblemError(problems.problem(502, detail, instances_uri=named)) from None
        return data

    def locate(self, uri: object) -> tuple[str, str]:
        """Bucket and key of an `instances_uri`, refused (403) unless it names an object under the prefix."""
        where = self.prefix.uri()
        if not isinstance(uri, str):
            detail = f'"instances_uri" must be a string, an s3:// URI under {where}'
            raise ProblemError(problems.problem(422, detail, instances_uri=None))
        parts = urlsplit(uri)
        key = parts.path.lstrip("/")
        segments = key.split("/")
        if (
            parts.scheme != "s3"
            or parts.netloc != self.prefix.bucket
            or not key.startswith(self.prefix.prefix)
            or key == self.prefix.prefix
            or parts.query
            or parts.fragment
            or any(segment in (".", "..") for segment in segments)
        ):
            detail = (
                f"instances_uri {uri!r} is not an object under {where}; this function reads requests "
                f"only there ({LARGE_PAYLOAD_URI_ENV}): upload the request under it and name that object"
            )
            raise ProblemError(problems.problem(403, detail, instances_uri=uri))
        return parts.netloc, key


def _read_failure(named: str, code: str) -> problems.Problem:
    if code in _MISSING:
        detail = f"The object {named} does not exist (S3 answered {code}); upload the request there first"
        return problems.problem(404, detail, instances_uri=named)
    if code in _FORBIDDEN:
        detail = (
            f"The object {named} cannot be read (S3 answered {code}); check that the function's role "
            "may read it and that it is not archived"
        )
        return problems.problem(403, detail, instances_uri=named)
    detail = f"The object {named} could not be read (S3 answered {code or 'an error'}); try again"
    return problems.problem(502, detail, instances_uri=named)
