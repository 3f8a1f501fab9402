"""`predictor serve` with uvicorn's access log off, for the dynamic batching benchmark: beside the
server as shipped (one access log line per request), it shows that line's share of the time.

`python -m benchmarks.serving_peers.predictor_no_access_log serve FUNCTION --port PORT`
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from predictor.cli import main

_run = uvicorn.run


def _without_access_log(*args: Any, **kwargs: Any) -> None:
    _run(*args, **{**kwargs, "access_log": False})


if __name__ == "__main__":
    uvicorn.run = _without_access_log
    sys.exit(main(sys.argv[1:]))
