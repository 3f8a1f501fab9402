"""The standard-library transport: http.client and SigV4, for credentials in the environment.

Lambda always provides the function's credentials and region as environment
variables; reaching S3 without importing boto3 takes about a quarter second of
CPU off a cold start.
"""

from __future__ import annotations

import http.client
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote_plus, urlsplit

from predictor.artifacts._sigv4 import Credentials, canonical_query, encode_path, sign
from predictor.artifacts._transport import Body, ObjectInfo, S3ResponseError


class HttpS3:
    def __init__(self, credentials: Credentials, region: str, endpoint: str | None, timeout: float) -> None:
        self.credentials = credentials
        self.region = region
        self.endpoint = urlsplit(endpoint) if endpoint else None
        self.timeout = timeout
        self._bucket_regions: dict[str, str] = {}
        self._local = threading.local()

    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectInfo:
        response, _ = self._request("HEAD", bucket, key, _version(version_id), {})
        response.read()
        return ObjectInfo(
            key,
            int(response.getheader("content-length", "0")),
            response.getheader("etag", "").strip('"'),
            response.getheader("x-amz-version-id"),
        )

    def list_objects(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        token: str | None = None
        while True:
            # Keys may hold characters XML 1.0 cannot carry (\x07) or that parsers rewrite (\r):
            # ask for them URL-encoded, as boto3 does.
            query = [("list-type", "2"), ("prefix", prefix), ("encoding-type", "url")]
            if token:
                query.append(("continuation-token", token))
            response, _ = self._request("GET", bucket, "", query, {})
            page, token = parse_listing(response.read())
            found.extend(page)
            if token is None:
                return found

    def get(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        byte_range: tuple[int, int],
        if_match: str | None,
    ) -> Body:
        headers = {"range": f"bytes={byte_range[0]}-{byte_range[1]}"}
        if if_match:
            headers["if-match"] = f'"{if_match}"'
        response, (scheme, host) = self._request("GET", bucket, key, _version(version_id), headers)
        return _StreamedBody(response, lambda: self._discard(scheme, host))

    def _request(
        self, method: str, bucket: str, key: str, query: list[tuple[str, str]], headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, tuple[str, str]]:
        """The response and the (scheme, host) of the connection that carries it."""
        for attempt in range(2):  # the second pass follows S3's redirect to the bucket's region
            region = self._bucket_regions.get(bucket, self.region)
            scheme, host, target, signed = self.prepare(
                method, bucket, key, query, headers, region, datetime.now(UTC)
            )
            connection = self._connection(scheme, host)
            try:
                connection.request(method, target, headers=signed)
                response = connection.getresponse()
            except BaseException:
                self._discard(scheme, host)
                raise
            if response.status < 300:
                return response, (scheme, host)
            error = _error(response, method)
            moved_to = response.getheader("x-amz-bucket-region")
            redirected = response.status in (301, 400) and moved_to not in (None, region)
            if attempt == 0 and self.endpoint is None and redirected and moved_to:
                self._bucket_regions[bucket] = moved_to
                continue
            raise error
        raise AssertionError("unreachable")

    def prepare(
        self,
        method: str,
        bucket: str,
        key: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        region: str,
        now: datetime,
    ) -> tuple[str, str, str, dict[str, str]]:
        """The scheme, host, request target and signed headers of a request for the raw `key`."""
        scheme, host, path = self._address(bucket, key, region)
        signed = sign(method, host, path, query, headers, self.credentials, region, now)
        return scheme, host, f"{path}?{canonical_query(query)}" if query else path, signed

    def _address(self, bucket: str, key: str, region: str) -> tuple[str, str, str]:
        # In path style a request on the bucket itself (a listing) has no slash after it, as botocore's.
        in_bucket = f"/{bucket}/{key}" if key else f"/{bucket}"
        if self.endpoint is not None:
            base = self.endpoint.path.rstrip("/")
            return self.endpoint.scheme, self.endpoint.netloc, encode_path(base + in_bucket)
        if "." not in bucket:
            return "https", f"{bucket}.s3.{region}.amazonaws.com", encode_path(f"/{key}")
        return "https", f"s3.{region}.amazonaws.com", encode_path(in_bucket)

    def _connections(self) -> dict[tuple[str, str], http.client.HTTPConnection]:
        pool: dict[tuple[str, str], http.client.HTTPConnection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _connection(self, scheme: str, host: str) -> http.client.HTTPConnection:
        pool = self._connections()
        connection = pool.get((scheme, host))
        if connection is None:
            factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = pool[(scheme, host)] = factory(host, timeout=self.timeout)
        return connection

    def _discard(self, scheme: str, host: str) -> None:
        connection = self._connections().pop((scheme, host), None)
        if connection is not None:
            connection.close()


class _StreamedBody:
    """A GET body; a connection left mid-body cannot carry another request, so it is dropped."""

    def __init__(self, response: http.client.HTTPResponse, drop_connection: Callable[[], None]) -> None:
        self.response = response
        self.drop_connection = drop_connection

    def readinto(self, buffer: memoryview) -> int:
        return self.response.readinto(buffer)

    def close(self) -> None:
        finished = self.response.isclosed() or self.response.length == 0
        self.response.close()
        if not finished:
            self.drop_connection()


def _error(response: http.client.HTTPResponse, method: str) -> S3ResponseError:
    body = response.read()
    code = message = ""
    if body and method != "HEAD":
        try:
            root = _without_namespaces(ElementTree.fromstring(body))
            code, message = root.findtext("Code") or "", root.findtext("Message") or ""
        except ElementTree.ParseError:
            message = body[:200].decode(errors="replace")
    return S3ResponseError(response.status, code, message)


def parse_listing(body: bytes) -> tuple[list[ObjectInfo], str | None]:
    """One ListObjectsV2 page and the token for the next, if any."""
    page = _without_namespaces(ElementTree.fromstring(body))
    # A server that ignores encoding-type answers without EncodingType, and its keys are plain.
    decode = unquote_plus if page.findtext("EncodingType") == "url" else str
    objects = [
        ObjectInfo(
            decode(item.findtext("Key") or ""),
            int(item.findtext("Size") or 0),
            (item.findtext("ETag") or "").strip('"'),
            None,
        )
        for item in page.iter("Contents")
    ]
    token = page.findtext("NextContinuationToken")
    return objects, token if page.findtext("IsTruncated") == "true" and token else None


def _without_namespaces(root: ElementTree.Element) -> ElementTree.Element:
    # S3 answers in its 2006-03-01 namespace; compatible servers vary, and botocore ignores it too.
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _version(version_id: str | None) -> list[tuple[str, str]]:
    return [("versionId", version_id)] if version_id else []
