"""On Lambda, start the S3 fetch at `import predictor`, so it overlaps the app's heavy imports.

Only a Lambda execution environment starts it there: its function module imports
`predictor` first and the runtime then resolves MODEL_URI, so the download runs while
numpy and onnxruntime load. Everything else (`predictor fetch`, `invoke`, `serve`,
a user's own script) imports the package without a download it did not ask for,
and fetches what it names when it names it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path

from predictor._environ import on_lambda
from predictor.artifacts._settings import MODEL_URI_ENV, PREFETCH_ENV, FetchSettings

_inflight: dict[tuple[str, FetchSettings], Future[Path]] = {}
_lock = threading.Lock()


def start_prefetch(environ: Mapping[str, str] | None = None) -> None:
    """On Lambda with MODEL_URI=s3://..., start fetching it on a thread unless PREDICTOR_PREFETCH=0."""
    environ = os.environ if environ is None else environ
    uri = environ.get(MODEL_URI_ENV, "")
    if not uri.startswith("s3://") or environ.get(PREFETCH_ENV) == "0" or not on_lambda(environ):
        return
    try:
        settings = FetchSettings.from_environ(environ)
    except ValueError:
        return  # the runtime's own resolve reports the bad setting
    future: Future[Path] = Future()
    with _lock:
        if (uri, settings) in _inflight:
            return
        _inflight[(uri, settings)] = future

    def run() -> None:
        from predictor.artifacts._s3_fetch import fetch_s3

        try:
            future.set_result(fetch_s3(uri, settings))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="predictor-prefetch", daemon=True).start()


def take_prefetch(uri: str, settings: FetchSettings) -> Future[Path] | None:
    with _lock:
        return _inflight.pop((uri, settings), None)
