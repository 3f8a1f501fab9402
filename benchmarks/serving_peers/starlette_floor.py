"""The practical floor for Python ASGI serving: Starlette, pydantic parse, session.run, JSON out.

`python -m benchmarks.serving_peers.starlette_floor PORT` serves it on uvicorn with the
same event loop and HTTP parser as `predictor serve`, access log off.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.peers.iris_model import IrisModel, IrisRequest

MODEL_DIR = Path(__file__).resolve().parents[2] / "functions" / "iris" / "model"
model = IrisModel(MODEL_DIR)


async def invocations(request: Request) -> Response:
    parsed = IrisRequest.model_validate_json(await request.body())
    body = json.dumps({"predictions": model.predict(parsed.instances)}).encode()
    return Response(body, media_type="application/json")


app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")
