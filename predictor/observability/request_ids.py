"""Which id names a request: the one AWS gave it where there is one, else one made up.

HTTP answers carry it back in `X-Request-Id`, beside the model's version.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
VERSION_HEADER = "x-model-version"
#: Request headers that name the request, the first present winning: SageMaker's own id, the
#: caller's inference id (InvokeEndpoint's InferenceId), then a caller's or a proxy's X-Request-Id.
ID_HEADERS = ("x-amzn-requestid", "x-amzn-sagemaker-inference-id", REQUEST_ID_HEADER)
# What a client may send: it is echoed in a header and written to logs, so nothing else passes.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")


def accepted(value: object) -> str | None:
    return value if isinstance(value, str) and _ACCEPTED.fullmatch(value) else None


def from_headers(get: Callable[[str], str | None]) -> str | None:
    """The first acceptable id among ID_HEADERS; `get` looks up a lower-case header name."""
    for name in ID_HEADERS:
        found = accepted(get(name))
        if found:
            return found
    return None


def made_up() -> str:
    """128 random bits in hex, as uuid4().hex has: an id, not a secret, so without a system call for
    each (uuid4 reads the OS's randomness; a busy server names thousands of requests a second)."""
    return f"{random.getrandbits(128):032x}"


def invocation_id(context: Any) -> str:
    """Lambda's id for the invocation (in every line Lambda writes about it), or one made up."""
    return getattr(context, "aws_request_id", None) or made_up()


def for_http_event(event: dict[str, Any], context: Any) -> str:
    """API Gateway's and Function URLs' `requestContext.requestId`; for ALB, which has none, the
    request's id headers; else the invocation's id."""
    request_context = event.get("requestContext")
    if isinstance(request_context, dict):
        # Set by AWS, not by the client: taken as it is.
        given = request_context.get("requestId")
        if isinstance(given, str) and given:
            return given
    headers = event.get("headers") or {}
    found = None
    if isinstance(headers, dict) and headers:
        lowered = {str(key).lower(): value for key, value in headers.items()}
        found = from_headers(lowered.get)
    return found or invocation_id(context)
