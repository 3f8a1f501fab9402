"""The plain ways to move a large object from S3 to disk, written as minimally as they get.

These are the baselines the artifact fetcher is measured against: SigV4-signed
GETs over http.client (a third of a boto3 client's CPU per request), no retries,
no cache, no integrity checks, just bytes from S3 to a local file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CHUNK = 1 << 20
PART = 16 << 20
THREADS = 8


@dataclass(frozen=True)
class Endpoint:
    url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def get(self, bucket: str, key: str, byte_range: str | None = None) -> http.client.HTTPResponse:
        """A signed path-style GET on a new connection; the caller reads and closes it."""
        path = f"/{bucket}/{quote(key)}"
        headers = {"Range": byte_range} if byte_range else {}
        request = AWSRequest(method="GET", url=self.url + path, headers=headers)
        S3SigV4Auth(Credentials(self.access_key, self.secret_key), "s3", self.region).add_auth(request)
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        connection.request("GET", path, headers=dict(request.headers.items()))
        response = connection.getresponse()
        if response.status not in (200, 206):
            raise RuntimeError(f"GET s3://{bucket}/{key} {byte_range or ''}: HTTP {response.status}")
        return response


def stream_get(endpoint: Endpoint, bucket: str, key: str, path: Path) -> None:
    """One GET, its body streamed to disk in 1 MB chunks."""
    response = endpoint.get(bucket, key)
    with response, path.open("wb") as out:
        while chunk := response.read(CHUNK):
            out.write(chunk)


def range_get(
    endpoint: Endpoint, bucket: str, key: str, size: int, path: Path, part: int = PART, threads: int = THREADS
) -> None:
    """Parallel ranged GETs of `part` bytes, each written in place into a preallocated file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, size)

        def fetch(start: int) -> None:
            end = min(start + part, size) - 1
            offset = start
            with endpoint.get(bucket, key, f"bytes={start}-{end}") as response:
                while chunk := response.read(CHUNK):
                    os.pwrite(fd, chunk, offset)
                    offset += len(chunk)
            if offset != end + 1:
                raise RuntimeError(f"range {start}-{end} of s3://{bucket}/{key} ended at {offset}")

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fetch, range(0, size, part)))
    finally:
        os.close(fd)


def put_random(client: Any, bucket: str, key: str, size: int, part: int = 64 << 20) -> str:
    """Upload `size` random bytes with a boto3 multipart upload; returns their sha256 in hex."""
    digest = hashlib.sha256()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, size, part), start=1):
        # Fresh random bytes in every part: no block repeats, so a misplaced range cannot match.
        body = os.urandom(min(part, size - start))
        digest.update(body)
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        parts.append({"PartNumber": number, "ETag": etag["ETag"]})
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK * 8):
            digest.update(chunk)
    return digest.hexdigest()
