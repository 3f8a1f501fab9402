"""The S3 claim-check on a moto server: an answer past the limit is stored under the prefix and named
by a presigned URL that fetches it over HTTP; a request may name its instances by an object there."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.event_sources import handler_for, keys
from support.lambda_events import LambdaContext, predict_event, response_headers
from support.s3_server import EventsAws

from predictor import Limits
from predictor.aws_lambda import LambdaHandler
from predictor.aws_lambda.large_payloads import LargePayloadSettings
from predictor.aws_lambda.sources.http import HttpEvent

REQUEST_ID = "9d5c3a1e-claim-check"
CONTEXT = LambdaContext(aws_request_id=REQUEST_ID)
TEN = {"instances": [{"text": "t"}] * 10}
LIMIT = 60_000
EXPIRES_S = 2
PREFIX = "large/"


def claim_checked(bucket: str, **settings: str) -> LambdaHandler:
    return handler_for(
        "embedding",
        {
            "PREDICTOR_LARGE_PAYLOAD_URI": f"s3://{bucket}/{PREFIX}",
            "PREDICTOR_MAX_RESPONSE_BYTES": str(LIMIT),
            "PREDICTOR_LARGE_PAYLOAD_EXPIRES_S": str(EXPIRES_S),
            **settings,
        },
        limits=Limits(max_body_bytes=20_000),
    )


def fetch(url: str) -> tuple[int, bytes, str]:
    with urllib.request.urlopen(url, timeout=10) as got:
        return got.status, got.read(), got.headers["Content-Type"]


def http_json(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("shape", ["http-api-v2", "rest-api", "alb-multi-value"])
def test_an_http_answer_past_the_limit_is_stored_and_answered_with_a_presigned_url(
    events_aws: EventsAws, shape: str
) -> None:
    bucket = events_aws.server.create_bucket()
    whole = handler_for("embedding", {})(predict_event(shape, TEN), CONTEXT)["body"].encode()
    assert len(whole) > LIMIT

    response = claim_checked(bucket)(predict_event(shape, TEN), CONTEXT)

    status, envelope = http_json(response)
    assert status == 303
    assert response_headers(response)["location"] == envelope["predictions_url"]
    key = f"{PREFIX}answers/{REQUEST_ID}.json"
    assert envelope["predictions_uri"] == f"s3://{bucket}/{key}"
    assert envelope["bytes"] == len(whole) and envelope["request_id"] == REQUEST_ID
    assert fetch(envelope["predictions_url"]) == (200, whole, "application/json")
    stored = events_aws.s3.head_object(Bucket=bucket, Key=key)
    assert stored["Metadata"] == {"request-id": REQUEST_ID}


def test_a_direct_invocation_past_the_limit_gets_the_envelope_and_the_answer_from_s3(
    events_aws: EventsAws,
) -> None:
    bucket = events_aws.server.create_bucket()
    whole = handler_for("embedding", {})(copy.deepcopy(TEN), CONTEXT)

    envelope = claim_checked(bucket)(copy.deepcopy(TEN), CONTEXT)

    assert set(envelope) >= {"predictions_uri", "predictions_url", "expires_at"}
    status, body, _ = fetch(envelope["predictions_url"])
    assert status == 200 and json.loads(body) == whole


def test_the_presigned_url_carries_the_expiry_the_setting_asks_for(events_aws: EventsAws) -> None:
    """moto serves a presigned URL whatever its age; S3 refuses one after X-Amz-Date plus
    X-Amz-Expires, so the URL must carry the setting and the envelope say when that is."""
    bucket = events_aws.server.create_bucket()
    before = datetime.now(UTC).replace(microsecond=0)

    envelope = claim_checked(bucket)(copy.deepcopy(TEN), CONTEXT)

    query = parse_qs(urlsplit(envelope["predictions_url"]).query)
    assert query["X-Amz-Expires"] == [str(EXPIRES_S)]
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= signed <= before + timedelta(seconds=2)
    expires_at = datetime.fromisoformat(envelope["expires_at"].replace("Z", "+00:00"))
    # Never later than S3's own expiry, and at most the one second the signing may straddle earlier.
    assert signed + timedelta(seconds=EXPIRES_S - 1) <= expires_at <= signed + timedelta(seconds=EXPIRES_S)


def test_an_answer_within_the_limit_is_returned_and_nothing_is_stored(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()

    response = claim_checked(bucket)(predict_event("http-api-v2", {"instances": [{"text": "t"}]}), CONTEXT)

    assert response["statusCode"] == 200
    assert keys(events_aws.s3, bucket) == []


def test_an_answer_that_cannot_be_stored_is_refused_with_the_reason(events_aws: EventsAws) -> None:
    handler = claim_checked("no-such-bucket-for-answers")

    status, problem = http_json(handler(predict_event("http-api-v2", TEN), CONTEXT))

    assert status == 413
    assert (
        "storing it under s3://no-such-bucket-for-answers/large/ failed (S3 answered NoSuchBucket)"
        in problem["detail"]
    )
    assert problem["instances_that_fit"] > 0


def put_request(events_aws: EventsAws, bucket: str, key: str, envelope: Any) -> str:
    events_aws.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(envelope).encode())
    return f"s3://{bucket}/{key}"


def test_instances_named_by_uri_are_predicted_as_if_sent_past_the_body_limit(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    envelope = {"instances": [{"text": "x" * 5000, "seed": seed} for seed in range(5)]}
    assert len(json.dumps(envelope)) > 20_000  # the handler's PREDICTOR_MAX_BODY_BYTES
    uri = put_request(events_aws, bucket, f"{PREFIX}requests/five.json", envelope)
    handler = claim_checked(bucket, PREDICTOR_MAX_RESPONSE_BYTES=str(10**7))

    status, answer = http_json(handler(predict_event("http-api-v2", {"instances_uri": uri}), CONTEXT))
    direct = handler({"instances_uri": uri}, CONTEXT)

    assert status == 200
    assert [p["vector"][0] for p in answer["predictions"]] == [0.0078125, -0.0078125] * 2 + [0.0078125]
    assert direct == answer
    status, inline = http_json(handler(predict_event("http-api-v2", envelope), CONTEXT))
    assert status == 413 and "over the limit of 20000 bytes" in inline["detail"]


def test_requests_by_uri_have_their_own_instance_limit(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    uri = put_request(events_aws, bucket, f"{PREFIX}six.json", {"instances": [{"text": "t"}] * 6})
    handler = claim_checked(
        bucket, PREDICTOR_LARGE_PAYLOAD_MAX_INSTANCES="5", PREDICTOR_MAX_RESPONSE_BYTES=str(10**7)
    )

    status, problem = http_json(handler(predict_event("http-api-v2", {"instances_uri": uri}), CONTEXT))

    assert status == 413
    assert problem["detail"] == (
        f"In {uri}: The request has 6 instances, over the limit of 5; split them across requests"
    )
    assert handler(copy.deepcopy({"instances": [{"text": "t"}] * 6}), CONTEXT)["predictions"]


@pytest.mark.parametrize(
    "where",
    ["s3://{other}/large/x.json", "s3://{bucket}/large-other/x.json", "s3://{bucket}/large/../secret.json",
     "s3://{bucket}/large/", "s3://{bucket}/x.json", "https://{bucket}.s3.amazonaws.com/large/x.json"],
)  # fmt: skip
def test_instances_uri_outside_the_prefix_is_refused_naming_it(events_aws: EventsAws, where: str) -> None:
    bucket, other = events_aws.server.create_bucket(), events_aws.server.create_bucket()
    uri = where.format(bucket=bucket, other=other)
    # Every object named exists: only the prefix refuses it.
    for key in ("large/x.json", "large-other/x.json", "secret.json", "x.json"):
        put_request(events_aws, bucket, key, TEN)
    put_request(events_aws, other, "large/x.json", TEN)
    handler = claim_checked(bucket)

    status, problem = http_json(handler(predict_event("http-api-v2", {"instances_uri": uri}), CONTEXT))
    direct = handler({"instances_uri": uri}, CONTEXT)

    assert status == 403 and direct == problem
    assert problem["instances_uri"] == uri
    assert problem["detail"].startswith(f"instances_uri {uri!r} is not an object under s3://{bucket}/large/")


def test_a_missing_object_is_a_404_naming_it(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    uri = f"s3://{bucket}/{PREFIX}missing.json"

    status, problem = http_json(
        claim_checked(bucket)(predict_event("http-api-v2", {"instances_uri": uri}), CONTEXT)
    )

    assert status == 404
    assert (
        problem["detail"]
        == f"The object {uri} does not exist (S3 answered NoSuchKey); upload the request there first"
    )


def test_an_unreadable_object_is_a_403_naming_it(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    key = f"{PREFIX}archived.json"
    events_aws.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(TEN).encode(), StorageClass="GLACIER")
    uri = f"s3://{bucket}/{key}"

    status, problem = http_json(
        claim_checked(bucket)(predict_event("http-api-v2", {"instances_uri": uri}), CONTEXT)
    )

    assert status == 403
    assert problem["detail"].startswith(f"The object {uri} cannot be read (S3 answered InvalidObjectState)")


def test_an_object_too_large_or_not_a_request_is_a_4xx_naming_it(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    big = put_request(events_aws, bucket, f"{PREFIX}big.json", TEN)
    events_aws.s3.put_object(Bucket=bucket, Key=f"{PREFIX}notes.txt", Body=b"not json")
    handler = claim_checked(bucket, PREDICTOR_LARGE_PAYLOAD_MAX_BYTES="100")

    status, too_big = http_json(handler(predict_event("http-api-v2", {"instances_uri": big}), CONTEXT))
    assert status == 413
    assert too_big["detail"].startswith(
        f"The object {big} is {len(json.dumps(TEN))} bytes, over the limit of 100"
    )
    assert "PREDICTOR_LARGE_PAYLOAD_MAX_BYTES" in too_big["detail"]

    notes = f"s3://{bucket}/{PREFIX}notes.txt"
    status, not_json = http_json(handler(predict_event("http-api-v2", {"instances_uri": notes}), CONTEXT))
    assert status == 400
    assert not_json["detail"].startswith(f"In {notes}: The body is not valid JSON")
    assert not_json["instances_uri"] == notes


def test_the_mangum_path_reads_instances_uri_as_the_direct_path_does(events_aws: EventsAws) -> None:
    bucket = events_aws.server.create_bucket()
    uri = put_request(events_aws, bucket, f"{PREFIX}two.json", {"instances": [{"text": "a"}, {"text": "b"}]})
    handler = claim_checked(bucket)
    event = predict_event("rest-api", {"instances_uri": uri})

    through_mangum = HttpEvent(handler.runtime).mangum(copy.deepcopy(event), CONTEXT)

    assert through_mangum["statusCode"] == 200
    assert json.loads(through_mangum["body"]) == json.loads(handler(event, CONTEXT)["body"])


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PREDICTOR_LARGE_PAYLOAD_URI": "https://bucket/large/"}, "is not an s3:// URI; set it to s3://bucket/prefix/"),
        ({"PREDICTOR_LARGE_PAYLOAD_URI": "s3://b/p/", "PREDICTOR_LARGE_PAYLOAD_EXPIRES_S": "604801"},
         "is longer than a presigned URL may last (604800 s, 7 days)"),
        ({"PREDICTOR_MAX_RESPONSE_BYTES": "0"}, "PREDICTOR_MAX_RESPONSE_BYTES='0' must be a positive number"),
    ],
)  # fmt: skip
def test_a_setting_the_claim_check_cannot_use_fails_naming_it(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LargePayloadSettings.from_environ(environ)


def test_a_prefix_without_a_final_slash_never_reaches_its_siblings() -> None:
    settings = LargePayloadSettings.from_environ({"PREDICTOR_LARGE_PAYLOAD_URI": "s3://bucket/large"})

    assert settings.uri is not None and settings.uri.uri() == "s3://bucket/large/"
