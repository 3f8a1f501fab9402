"""The standard-library S3 transport: signatures identical to botocore's, chosen only when it can work."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from s3_server import LockedS3
from test_artifacts_s3 import resolve_in_fresh_process

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

    assert type(_s3.transport(FetchSettings())) is expected


def test_a_changed_environment_gets_a_new_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    first = _s3.transport(FetchSettings())
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")

    assert _s3.transport(FetchSettings()) is not first
    assert _s3.transport(FetchSettings()) is _s3.transport(FetchSettings())


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
