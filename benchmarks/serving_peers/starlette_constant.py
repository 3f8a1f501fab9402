"""The serving floor without a model: Starlette reads the body, validates it with the function's own
input model (strict, as the project validates) and answers a constant.

`python -m benchmarks.serving_peers.starlette_constant FUNCTION_DIR PORT` serves it on uvicorn with
the same event loop and HTTP parser as `predictor serve`, access log off. What it costs per request
is what any Python server on this stack pays before predict runs: dynamic batching's ceiling
combines it with in-process predict (1/(1/P + 1/H)).
"""

from __future__ import annotations

import sys

import uvicorn
from pydantic import Field, create_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from predictor._loading import load_predictor_class

# The length of the project's answer to one digits instance.
CONSTANT = b'{"predictions":[{"digit":1,"confidence":0.9996881484985352}]}'


def build(function: str) -> Starlette:
    input_model = load_predictor_class(function).input_model
    request_model = create_model(
        "Request",
        instances=(list[input_model], Field(min_length=1)),  # type: ignore[valid-type]
    )
    validate = request_model.__pydantic_validator__.validate_json

    async def invocations(request: Request) -> Response:
        validate(await request.body(), strict=True)
        return Response(CONSTANT, media_type="application/json")

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])


if __name__ == "__main__":
    app = build(sys.argv[1])
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=False, log_level="warning")
