"""The standard-library S3 transport: signatures identical to botocore's, chosen only when it can work."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from support.resolve import resolve_in_fresh_process
from support.s3_server import LockedS3

from predictor.artifacts import _s3
from predictor.artifacts._s3_boto import BotoS3
from predictor.artifacts._s3_http import HttpS3, parse_listing
from predictor.artifacts._settings import TRANSPORT_ENV, FetchSettings
from predictor.artifacts._sigv4 import Credentials, canonical_query, encode_path, sign

REQUESTS = {
    "head": ("HEAD", "/models/model.onnx", [], {}),
    "ranged-get-pinned": (
        "GET",
        "/models/model.onnx",
        [("versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo")],
        {"range": "bytes=0-16777215", "if-match": '"9b2cf535f27731c974343645a3985328"'},
    ),
    "list-page": (
        "GET",
        "/",
        [("list-type", "2"), ("prefix", "models/iris v2/"), ("continuation-token", "a+b/c=")],
        {},
    ),
    "odd-key": ("GET", "/models/ünïcode key+(1).bin", [], {"range": "bytes=5-9"}),
    "folded-header-value": ("GET", "/m.bin", [], {"range": " bytes=0-9 ", "x-amz-meta-note": "a  b\t c"}),
}


@pytest.mark.parametrize("token", [None, "session-token/with+chars="], ids=["keys", "session"])
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_signature_matches_botocore_for_every_request_the_fetch_makes(name: str, token: str | None) -> None:
    method, path, query, headers = REQUESTS[name]
    host = "my-bucket.s3.eu-west-1.amazonaws.com"
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)

    url = f"https://{host}{encode_path(path)}" + (f"?{canonical_query(query)}" if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    S3SigV4Auth(BotoCredentials("AKIDEXAMPLE", credentials.secret_key, token), "s3", "eu-west-1").add_auth(
        request
    )
    # botocore signs at its own clock's instant: sign ours at the same one.
    signed_at = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    ours = sign(method, host, encode_path(path), query, headers, credentials, "eu-west-1", signed_at)

    assert ours["authorization"] == request.headers["Authorization"]


def test_a_wrong_secret_is_refused_by_a_server_that_checks_signatures(
    locked_s3: LockedS3, tmp_path: Path
) -> None:
    env = {**locked_s3.env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}

    error, _ = resolve_in_fresh_process(f"s3://{locked_s3.bucket}/open/model.onnx", env, tmp_path)

    assert error is not None
    assert "SignatureDoesNotMatch" in error


def fetch_settings() -> FetchSettings:
    return FetchSettings.from_environ(os.environ)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-1"}, HttpS3),
        ({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}, HttpS3),
        ({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}, BotoS3),
        ({"AWS_REGION": "eu-west-1"}, BotoS3),
        (
            {
                "AWS_ACCESS_KEY_ID": "a",
                "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_REGION": "eu-west-1",
                "PREDICTOR_S3_CLIENT": "boto3",
            },
            BotoS3,
        ),
    ],
    ids=["lambda-env", "default-region", "no-region", "no-keys", "forced-boto3"],
)
def test_standard_library_transport_only_when_the_environment_holds_keys_and_region(
    environment: dict[str, str], expected: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in TRANSPORT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert type(_s3.transport(fetch_settings())) is expected


def test_a_changed_environment_gets_a_new_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    first = _s3.transport(fetch_settings())
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")

    assert _s3.transport(fetch_settings()) is not first
    assert _s3.transport(fetch_settings()) is _s3.transport(FetchSettings.from_environ(os.environ))


LISTING = """<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult{namespace}><Name>b</Name><Prefix>m/</Prefix><KeyCount>2</KeyCount>
<IsTruncated>{truncated}</IsTruncated>{token}
<Contents><Key>m/model.onnx</Key><ETag>&quot;abc&quot;</ETag><Size>623</Size></Contents>
<Contents><Key>m/labels.json</Key><ETag>&quot;def&quot;</ETag><Size>38</Size></Contents>
</ListBucketResult>"""


@pytest.mark.parametrize(
    "namespace",
    [
        ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"',
        ' xmlns="http://doc.s3.amazonaws.com/2006-03-01/"',
        "",
    ],
    ids=["aws", "other-namespace", "none"],
)
def test_listing_pages_parse_whatever_namespace_the_server_uses(namespace: str) -> None:
    last_page = LISTING.format(namespace=namespace, truncated="false", token="").encode()
    next_page = LISTING.format(
        namespace=namespace, truncated="true", token="<NextContinuationToken>t/1=</NextContinuationToken>"
    ).encode()

    objects, token = parse_listing(last_page)
    _, continuation = parse_listing(next_page)

    assert [(o.key, o.size, o.etag) for o in objects] == [
        ("m/model.onnx", 623, "abc"),
        ("m/labels.json", 38, "def"),
    ]
    assert token is None
    assert continuation == "t/1="


# The examples in AWS's S3 SigV4 documentation ("Examples: Signature Calculations", 2013-05-24).
AWS_EXAMPLE_CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
AWS_DOCUMENTED_SIGNATURES = {
    "get-object-range": (
        "/test.txt",
        [],
        {"range": "bytes=0-9"},
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
    "list-objects": (
        "/",
        [("max-keys", "2"), ("prefix", "J")],
        {},
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
    "bucket-lifecycle": (
        "/",
        [("lifecycle", "")],
        {},
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
}


@pytest.mark.parametrize("name", sorted(AWS_DOCUMENTED_SIGNATURES))
def test_signature_matches_the_aws_documented_example(name: str) -> None:
    path, query, headers, signature = AWS_DOCUMENTED_SIGNATURES[name]
    at = datetime(2013, 5, 24, tzinfo=UTC)

    signed = sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        path,
        query,
        headers,
        AWS_EXAMPLE_CREDENTIALS,
        "us-east-1",
        at,
    )

    assert signed["authorization"].endswith(f"Signature={signature}")


RAW_KEYS = [
    "models/iris v2/model.onnx",
    "a+b=c&d?e#f;g:h@i$j,k'l(m)n*o!p~q_r.s-t/u",
    "ünïcödé/日本語/emoji-🙂.bin",
    "percent%41%2F/and%",
    "//leading/double//slashes/",
    "tab\tbell\x07carriage\rreturn",
    '[brackets]{braces}|pipe\\backslash^caret`tick"quote<lt>gt',
]


class _Captured(Exception):
    """Raised from botocore's before-send hook: the request is built and signed, and goes nowhere."""


def botocore_request(operation: str, token: str | None, **params: Any) -> AWSRequest:
    """The request botocore's own S3 client builds from the raw parameters, signed, never sent."""
    client = boto3.session.Session().client(
        "s3",
        region_name="eu-west-1",
        endpoint_url="http://s3.eu-west-1.amazonaws.com",  # http: botocore then signs the empty payload too
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    captured: list[AWSRequest] = []

    def capture(request: AWSRequest, **_: Any) -> None:
        captured.append(request)
        raise _Captured

    client.meta.events.register("before-send.s3", capture)
    with pytest.raises(_Captured):
        getattr(client, operation)(**params)
    return captured[0]


@pytest.mark.parametrize("token", [None, "session-token/with+chars="], ids=["keys", "session"])
@pytest.mark.parametrize("key", RAW_KEYS)
@pytest.mark.parametrize("operation", ["head", "ranged-get", "list"])
def test_requests_for_raw_keys_are_encoded_and_signed_exactly_as_botocore_does(
    operation: str, key: str, token: str | None
) -> None:
    transport = HttpS3(
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        "eu-west-1",
        "http://s3.eu-west-1.amazonaws.com",
        timeout=1,
    )
    headers: dict[str, str] = {}
    query: list[tuple[str, str]] = []
    if operation == "head":
        theirs = botocore_request("head_object", token, Bucket="bucket", Key=key)
    elif operation == "ranged-get":
        version = "3/L4kq+tJl=40 Nr"
        headers = {"range": "bytes=0-16777215", "if-match": '"9b2cf535f27731c974343645a3985328"'}
        query = [("versionId", version)]
        theirs = botocore_request(
            "get_object",
            token,
            Bucket="bucket",
            Key=key,
            VersionId=version,
            Range=headers["range"],
            IfMatch=headers["if-match"],
        )
    else:
        query = [("list-type", "2"), ("prefix", key), ("encoding-type", "url"), ("continuation-token", key)]
        theirs = botocore_request(
            "list_objects_v2", token, Bucket="bucket", Prefix=key, ContinuationToken=key, EncodingType="url"
        )

    def their(name: str) -> str:
        value = theirs.headers[name]
        return value.decode() if isinstance(value, bytes) else str(value)

    signed_by_them = re.search(r"SignedHeaders=([^,]+)", their("Authorization"))
    assert signed_by_them is not None
    # botocore also signs its own bookkeeping headers (amz-sdk-*): sign them on our side too.
    for name in signed_by_them.group(1).split(";"):
        if name not in ("host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", *headers):
            headers[name] = their(name)
    at = datetime.strptime(their("X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    _, host, target, ours = transport.prepare(
        "HEAD" if operation == "head" else "GET",
        "bucket",
        "" if operation == "list" else key,
        query,
        headers,
        "eu-west-1",
        at,
    )

    url = urlsplit(theirs.url)
    path, _, their_query = target.partition("?")
    assert (host, path) == (url.netloc, url.path)
    assert sorted(filter(None, their_query.split("&"))) == sorted(filter(None, url.query.split("&")))
    assert ours["authorization"] == their("Authorization")


QUERY_PAIRS = [
    ("prefix", "a/b c+d=e&f"),
    ("odd/name with space", "ünï~cödé"),
    ("continuation-token", "1/AbC+dEf=="),
    ("empty", ""),
]


def test_canonical_query_matches_botocore_for_reserved_characters_in_names_and_values() -> None:
    url = "http://s3.eu-west-1.amazonaws.com/bucket"
    request = AWSRequest(method="GET", url=url, params=dict(QUERY_PAIRS))
    botocore_auth = S3SigV4Auth(BotoCredentials("a", "s"), "s3", "eu-west-1")

    assert canonical_query(QUERY_PAIRS) == botocore_auth.canonical_query_string(request)
