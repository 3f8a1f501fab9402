"""The request context of an ASGI request, built only for predictors that read it."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from predictor.context import RequestContext


def context_from_scope(scope: MutableMapping[str, Any], request_id: str) -> RequestContext:
    raw_headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        # Repeated headers are joined, as HTTP allows and API Gateway does.
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    return RequestContext(request_id, query, headers)
