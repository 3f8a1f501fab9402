"""How large an answer is as Lambda counts it, and how many instances fit in one synchronous response.

Lambda counts a synchronous response as the JSON document its runtime writes from the handler's
return value: the whole HTTP response object (status, headers, the body as a JSON string, base64
text for a binary body) or the whole direct-invoke answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from predictor.runtime import Runtime

# "For synchronous invocations, the maximum payload size is 6 MB"
# (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html). The runtime refuses larger with
# "Response payload size exceeded maximum allowed payload size (6291556 bytes)"
# (Function.ResponseSizeTooLarge): 6 MiB and 100 bytes. 6 MiB keeps those 100 bytes in hand.
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024

# The Python runtime (awslambdaric's marshaller) writes non-ASCII text as UTF-8 from python3.12 on
# and as \u escapes before; its separators are json's defaults, ", " and ": ".
_UTF8_FROM = (3, 12)


def runtime_writes_utf8(environ: Mapping[str, str]) -> bool:
    """Whether this Lambda runtime writes non-ASCII as UTF-8 (python3.12 and later). Where it is not
    known (outside Lambda), no: \\u escapes are never shorter, so the measure never undercounts."""
    execution_env = environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python"
    if not execution_env.startswith(prefix):
        return False
    try:
        major, minor = (int(part) for part in execution_env[len(prefix) :].split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= _UTF8_FROM


def lambda_json_bytes(document: Any, *, utf8: bool = False) -> int:
    """The bytes the Lambda runtime sends for this return value."""
    text = json.dumps(document, ensure_ascii=not utf8, allow_nan=True)
    return len(text.encode()) if utf8 else len(text)


@dataclass(frozen=True)
class AnswerFit:
    """What one synchronous response holds at a given size per instance.

    `envelope_bytes` is what the answer costs with no instance (status, headers, `{"predictions":[]}`),
    `per_instance_bytes` what each instance adds (its prediction, escaped as Lambda writes it, and
    its separator); `instances` of them fit in `limit_bytes`."""

    per_instance_bytes: int
    envelope_bytes: int
    instances: int
    limit_bytes: int


def fit(per_instance_bytes: int, envelope_bytes: int, limit_bytes: int) -> AnswerFit:
    room = limit_bytes - envelope_bytes
    instances = max(0, room // per_instance_bytes) if per_instance_bytes > 0 else 0
    return AnswerFit(per_instance_bytes, envelope_bytes, instances, limit_bytes)


def fit_from_answer(
    answer_bytes: int, empty_bytes: int, count: int, separator_bytes: int, limit_bytes: int
) -> AnswerFit:
    """The fit an actual answer shows: `answer_bytes` for `count` predictions, `empty_bytes` for the
    same answer with none. The first prediction has no separator, so each costs
    (answer - empty + separator) / count, rounded up."""
    per_instance = math.ceil((answer_bytes - empty_bytes + separator_bytes) / count)
    return fit(per_instance, empty_bytes - separator_bytes, limit_bytes)


# An HTTP response's Content-Length header for a body near the limit has more digits than for
# one example instance: keep room for them.
_CONTENT_LENGTH_DIGITS = len(str(LAMBDA_RESPONSE_LIMIT))


def example_fit(
    runtime: Runtime, *, instances: list[Any] | None = None, limit_bytes: int = LAMBDA_RESPONSE_LIMIT
) -> AnswerFit:
    """For `predictor check`: run the predictor (the started `runtime`) on each of `instances`
    (JSON data; by default its schema's example) and answer on every Lambda transport (each HTTP
    shape, direct invoke); the largest answer per instance any of them gives, and the instances
    that fit in one synchronous response at that size on every transport. Raises ValueError when
    there is no example or an instance is not answered."""
    from predictor.aws_lambda.sources.http import ALB, V1, V2, Responder
    from predictor.observability.request_ids import REQUEST_ID_HEADER, VERSION_HEADER

    # The headers every HTTP answer names its request and model by, at their usual sizes.
    identity = {REQUEST_ID_HEADER: "0" * 36, VERSION_HEADER: "0" * 16}

    # Function URLs answer in the V2 shape; ALB has a multi-value form.
    http_shapes = ((V2, False), (V1, False), (ALB, False), (ALB, True))

    request = runtime.codec.schema.example_request() if instances is None else {"instances": instances}
    if request is None:
        raise ValueError(
            f"{runtime.predictor_class.__qualname__}'s input model has no example: add "
            'json_schema_extra={"examples": [...]} to its model_config, or pass instances='
        )
    utf8 = runtime_writes_utf8(runtime.environ)
    per_instance, envelope = 0, 0
    for instance in request["instances"]:
        for copies in (1, 2):
            envelope_json = {"instances": [instance] * copies}
            status, answer = runtime.predict_envelope(envelope_json, "payload-limits")
            if status != 200:
                raise ValueError(f"the schema's example was answered {status}: {answer.get('detail')}")
            reply = runtime.predict_body(json.dumps(envelope_json).encode(), None, "payload-limits")
            sizes = [lambda_json_bytes(answer, utf8=utf8)]
            sizes += [
                lambda_json_bytes(Responder(shape, multi).respond(reply, identity), utf8=utf8)
                + _CONTENT_LENGTH_DIGITS
                for shape, multi in http_shapes
            ]
            if copies == 1:
                one = sizes
            else:
                for single, double in zip(one, sizes, strict=True):
                    per_instance = max(per_instance, double - single)
                    envelope = max(envelope, 2 * single - double)
    return fit(per_instance, envelope, limit_bytes)
