"""How `predictor serve` (and `serve` inside the images) runs the server.

Settings come from arguments first, then SageMaker's environment variables:
SAGEMAKER_BIND_TO_PORT, SAGEMAKER_MODEL_SERVER_WORKERS, SAGEMAKER_MODEL_SERVER_TIMEOUT,
then the image's PREDICTOR_FUNCTION / PREDICTOR_HOST / PREDICTOR_PORT.
SIGTERM drains: /ping turns 503, new requests are refused, requests in flight finish,
teardown runs, and the process exits inside SageMaker's 30 s.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from predictor._environ import positive_number
from predictor._loading import load_predictor_class
from predictor.server.settings import ServerSettings, guarded, uvicorn_options

FUNCTION_ENV, HOST_ENV, PORT_ENV = "PREDICTOR_FUNCTION", "PREDICTOR_HOST", "PREDICTOR_PORT"
BIND_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
# Where SageMaker extracts model.tar.gz inside the container.
SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
# SageMaker kills the container 30 s after SIGTERM; requests still running at 20 s are cut.
GRACEFUL_SHUTDOWN_S = 20


@dataclass(frozen=True)
class ServeSettings:
    function: str
    host: str
    port: int
    workers: int
    timeout_s: float | None

    @classmethod
    def resolve(
        cls,
        function: str | None,
        host: str | None,
        port: int | None,
        environ: Mapping[str, str] | None = None,
    ) -> ServeSettings:
        environ = os.environ if environ is None else environ
        function = function or environ.get(FUNCTION_ENV)
        if not function:
            raise ValueError(
                f"name the function to serve (predictor serve functions/NAME) or set {FUNCTION_ENV}"
            )
        if port is None:
            port = positive_number(environ, BIND_PORT_ENV, 0) or positive_number(
                environ, PORT_ENV, DEFAULT_PORT
            )
        timeout = positive_number(environ, TIMEOUT_ENV, 0.0)
        return cls(
            function=function,
            host=host or environ.get(HOST_ENV) or DEFAULT_HOST,
            port=port,
            workers=positive_number(environ, WORKERS_ENV, 1),
            timeout_s=timeout or None,
        )


def container_model_uri(environ: MutableMapping[str, str], model_dir: Path = SAGEMAKER_MODEL_DIR) -> None:
    """Serve what SageMaker extracted into /opt/ml/model unless MODEL_URI says otherwise."""
    if not environ.get("MODEL_URI") and model_dir.is_dir() and any(model_dir.iterdir()):
        environ["MODEL_URI"] = str(model_dir)


def serve(settings: ServeSettings) -> int:
    import uvicorn

    container_model_uri(os.environ)
    if settings.workers == 1:
        # Load (and set up) here so a bad function path fails before the server starts;
        # several workers each load it in their own process instead.
        from predictor.runtime import started_runtime

        started_runtime(load_predictor_class(settings.function))
    guard = ServerSettings.from_environ()
    factory: Any = functools.partial(build_app, settings.function, settings.workers, settings.timeout_s)
    if settings.workers > 1:
        # Spawned workers import the app by name and read the same environment.
        os.environ[FUNCTION_ENV] = settings.function
        factory = f"{__name__}:worker_app"
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **uvicorn_options(guard),
    )
    return 0


def worker_app() -> Any:
    """The app of one of several worker processes."""
    settings = ServeSettings.resolve(None, None, None)
    return build_app(settings.function, settings.workers, settings.timeout_s)


def build_app(function: str, workers: int, timeout_s: float | None) -> Any:
    """The ASGI app of one worker: SageMaker's routes ahead of the FastAPI app, sharing one runtime."""
    from predictor.runtime import started_runtime
    from predictor.server.app import create_app
    from predictor.server.batcher import Batcher, BatchSettings
    from predictor.server.sagemaker import SageMakerRoutes

    runtime = started_runtime(load_predictor_class(function))
    if runtime.failure:
        print(f"predictor: not ready, /health answers 503 as does /ping: {runtime.failure}", file=sys.stderr)
    settings = BatchSettings.from_environ(runtime.environ)
    _drain_on_sigterm(runtime.drain)
    logging.getLogger("uvicorn.error").info(
        "serving %s: batches of up to %d instances, waiting up to %g ms to fill",
        runtime.predictor_class.name,
        settings.max_instances,
        settings.max_wait_s * 1000,
    )
    # One batcher serves /predict and /invocations: predict calls never overlap, and one
    # timeout bounds both. The app's lifespan runs teardown once connections have drained.
    batcher = Batcher(runtime, settings, timeout_s=timeout_s)
    routes = SageMakerRoutes(runtime, create_app(runtime, batcher), batcher, workers=workers)
    app = guarded(routes, runtime.schema, ServerSettings.from_environ(runtime.environ))
    # This process only serves: keep what startup made out of the cyclic collector's walks.
    gc.freeze()
    return app


def _drain_on_sigterm(drain: Any) -> None:
    """Chain onto the server's own SIGTERM handler (installed before the app loads)."""
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        drain()
        previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
