"""How `predictor serve` (and `serve` inside the images) runs the server.

Its settings (`ServeSettings`) are resolved once, arguments first, then the environment,
and handed to everything that needs them: the app, the batcher, the connection guard,
and the worker processes.
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
from collections.abc import MutableMapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from predictor._loading import load_predictor_class
from predictor.server.settings import ServerSettings, ServeSettings

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from predictor.codec import Codec

__all__ = ["ServeSettings", "build_app", "guarded", "serve", "uvicorn_options"]

# The resolved settings, as JSON, for the worker processes uvicorn spawns (they import the
# app by name): set by `serve`, read once by each worker.
WORKER_SETTINGS_ENV = "PREDICTOR_SERVE_SETTINGS"
# Where SageMaker extracts model.tar.gz inside the container.
SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")
# SageMaker kills the container 30 s after SIGTERM; requests still running at 20 s are cut.
GRACEFUL_SHUTDOWN_S = 20


def container_model_uri(environ: MutableMapping[str, str], model_dir: Path = SAGEMAKER_MODEL_DIR) -> None:
    """Serve what SageMaker extracted into /opt/ml/model unless MODEL_URI says otherwise."""
    if not environ.get("MODEL_URI") and model_dir.is_dir() and any(model_dir.iterdir()):
        environ["MODEL_URI"] = str(model_dir)


def serve(settings: ServeSettings) -> int:
    import uvicorn

    container_model_uri(os.environ)
    if settings.workers == 1 and not settings.models.enabled:
        # Load (and set up) here so a bad function path fails before the server starts;
        # several workers each load it in their own process instead.
        from predictor.runtime import RuntimeSettings, started_runtime

        started_runtime(load_predictor_class(settings.function), RuntimeSettings.from_environ(os.environ))
    factory: Any = functools.partial(build_app, settings)
    if settings.workers > 1:
        # Spawned workers import the app by name and take these settings from their environment.
        os.environ[WORKER_SETTINGS_ENV] = settings.to_json()
        factory = f"{__name__}:worker_app"
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=settings.access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **uvicorn_options(settings.server),
    )
    return 0


def worker_app() -> Any:
    """The app of one of several worker processes, served with the settings `serve` resolved."""
    return build_app(ServeSettings.from_json(os.environ[WORKER_SETTINGS_ENV]))


def build_app(settings: ServeSettings) -> Any:
    """The ASGI app of one worker: SageMaker's routes ahead of the FastAPI app, sharing one runtime;
    with SAGEMAKER_MULTI_MODEL=true, the multi-model routes instead."""
    if settings.models.enabled:
        from predictor.server.multi_model import build_multi_model_app

        return build_multi_model_app(settings)
    from predictor.observability.asgi import ObservedRequests
    from predictor.runtime import RuntimeSettings, started_runtime
    from predictor.server.app import create_app
    from predictor.server.batcher import Batcher
    from predictor.server.sagemaker import SageMakerRoutes

    # A worker process of several reads the runtime's settings here; with one, `serve` started it.
    runtime_settings = RuntimeSettings.from_environ(os.environ)
    runtime = started_runtime(load_predictor_class(settings.function), runtime_settings)
    if runtime.failure:
        print(f"predictor: not ready, /health answers 503 as does /ping: {runtime.failure}", file=sys.stderr)
    _drain_on_sigterm(runtime.drain)
    logging.getLogger("uvicorn.error").info(
        "serving %s: batches of up to %d instances, waiting up to %g ms to fill",
        runtime.predictor_class.name,
        settings.batch.max_instances,
        settings.batch.max_wait_s * 1000,
    )
    # One batcher serves /predict and /invocations: predict calls never overlap, and one
    # timeout bounds both. The app's lifespan runs teardown once connections have drained.
    batcher = Batcher(runtime, settings.batch, timeout_s=settings.timeout_s)
    routes = SageMakerRoutes(runtime, create_app(runtime, batcher), batcher, workers=settings.workers)
    app = ObservedRequests(guarded(routes, runtime.codec, settings.server), runtime, server=True)
    # This process only serves: keep what startup made out of the cyclic collector's walks.
    gc.freeze()
    return app


def guarded(app: ASGIApp, codec: Codec, settings: ServerSettings) -> ASGIApp:
    """`app` behind the body limits: the ASGI app to hand uvicorn."""
    from predictor.server.body_limit import BodyLimit

    return BodyLimit(app, codec, body_timeout_s=settings.body_timeout_s)


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` that apply `settings`: the keep-alive,
    the accept backlog, and the protocol guarding headers, connections and lingering with them."""
    from predictor.server import connections

    return connections.uvicorn_options(settings)


def _drain_on_sigterm(drain: Any) -> None:
    """Chain onto the server's own SIGTERM handler (installed before the app loads)."""
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        drain()
        previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
