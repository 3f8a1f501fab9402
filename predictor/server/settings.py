"""What `predictor serve` is told, resolved once from arguments and the environment: data only.

`serve.py` launches uvicorn with them, `connections.py` applies `ServerSettings` to each
connection, `batcher.py` forms batches by `BatchSettings`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from predictor._environ import env, non_negative_number, positive_fields, positive_number, switch
from predictor.limits import BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE
from predictor.observability._settings import ObservabilitySettings

HEADER_TIMEOUT_ENV = "PREDICTOR_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "PREDICTOR_BODY_TIMEOUT_S"
KEEP_ALIVE_ENV = "PREDICTOR_KEEP_ALIVE_S"
MAX_CONNECTIONS_ENV = "PREDICTOR_MAX_CONNECTIONS"
LINGER_ENV = "PREDICTOR_LINGER_S"
LINGER_TIMEOUT_ENV = "PREDICTOR_LINGER_TIMEOUT_S"
LINGER_MAX_BYTES_ENV = "PREDICTOR_LINGER_MAX_BYTES"
BATCH_WAIT_MS_ENV = "PREDICTOR_BATCH_WAIT_MS"
FUNCTION_ENV, HOST_ENV, PORT_ENV = "PREDICTOR_FUNCTION", "PREDICTOR_HOST", "PREDICTOR_PORT"
BIND_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"
WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
TIMEOUT_ENV = "SAGEMAKER_MODEL_SERVER_TIMEOUT"
MULTI_MODEL_ENV = "SAGEMAKER_MULTI_MODEL"
MEMORY_BUDGET_ENV = "PREDICTOR_MEMORY_BUDGET_BYTES"
ACCESS_LOG_ENV = "PREDICTOR_ACCESS_LOG"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


@dataclass(frozen=True)
class ServerSettings:
    header_timeout_s: float = field(
        default=10.0,
        metadata=env(
            HEADER_TIMEOUT_ENV,
            "from connecting (or the last response) to a request's complete headers; "
            "then the connection is closed",
        ),
    )
    body_timeout_s: float = field(
        default=30.0, metadata=env(BODY_TIMEOUT_ENV, "longest pause while a body arrives; then 408 and close")
    )
    keep_alive_s: float = field(
        default=5.0, metadata=env(KEEP_ALIVE_ENV, "an idle keep-alive connection is closed after this")
    )
    max_connections: int = field(
        default=1000,
        metadata=env(
            MAX_CONNECTIONS_ENV,
            "open connections at most (kept under the file descriptor limit); the longest-idle one is "
            "closed to make room, so `/health` keeps answering",
        ),
    )
    # After refusing a body that is still arriving (413, 408), the rest is read and dropped for a
    # bounded time before the connection closes, so the client gets to read the answer: closing
    # with unread bytes would make the kernel reset the connection.
    linger_s: float = field(
        default=30.0,
        metadata=env(
            LINGER_ENV,
            "after a 413 or 408, the rest of the body is read and dropped for at most this long "
            "(nginx's `lingering_time`)",
        ),
    )
    linger_timeout_s: float = field(
        default=5.0,
        metadata=env(
            LINGER_TIMEOUT_ENV, "...or until none arrives for this long (nginx's `lingering_timeout`)"
        ),
    )
    linger_max_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=env(
            LINGER_MAX_BYTES_ENV,
            "...or until this many bytes are dropped; then the connection is closed",
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        return cls(**positive_fields(cls, os.environ if environ is None else environ))


@dataclass(frozen=True)
class BatchSettings:
    max_instances: int = field(
        default=DEFAULT_BATCH_SIZE,
        metadata=env(
            BATCH_SIZE_ENV,
            "most instances in one `predict` call: the chunks of an event's records, and the batches "
            "`predictor serve` forms from concurrent requests (one request is never split)",
        ),
    )
    max_wait_s: float = field(
        default=0.0,
        metadata=env(
            BATCH_WAIT_MS_ENV,
            "how long a batch may wait to fill, in ms (0: no wait; batches form "
            "from requests that arrive while the previous predict runs)",
            default="0",
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> BatchSettings:
        environ = os.environ if environ is None else environ
        default = cls()
        return cls(
            max_instances=positive_number(environ, BATCH_SIZE_ENV, default.max_instances),
            max_wait_s=non_negative_number(environ, BATCH_WAIT_MS_ENV, default.max_wait_s * 1000) / 1000,
        )


@dataclass(frozen=True)
class MultiModelSettings:
    enabled: bool = field(
        default=False,
        metadata=env(
            MULTI_MODEL_ENV,
            "`true`: serve SageMaker's multi-model routes (`/models`, `/models/{name}/invoke`), "
            "each model set up from the directory its load names (SageMaker sets it)",
            default="false",
        ),
    )
    memory_budget_bytes: int | None = field(
        default=None,
        metadata=env(
            MEMORY_BUDGET_ENV,
            "multi-model: a load is refused with 507 once the server's resident memory would pass this; "
            "never more than 90% of the container's cgroup memory limit",
            default="none: 90% of the cgroup limit",
        ),
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> MultiModelSettings:
        environ = os.environ if environ is None else environ
        budget = positive_number(environ, MEMORY_BUDGET_ENV, 0)
        return cls(
            enabled=switch(environ, MULTI_MODEL_ENV, False),
            memory_budget_bytes=budget or None,
        )


@dataclass(frozen=True)
class ServeSettings:
    function: str = field(
        metadata=env(
            FUNCTION_ENV,
            "the function, when none is named (the images set `/opt/program`)",
            default="none",
        )
    )
    host: str = field(
        default=DEFAULT_HOST,
        metadata=env(
            HOST_ENV,
            "the address, when `--host` is not given (the images set `0.0.0.0`)",
        ),
    )
    port: int = field(
        default=DEFAULT_PORT,
        metadata=env(
            PORT_ENV,
            "the port, when `--port` is not given; `SAGEMAKER_BIND_TO_PORT` wins (the images set 8080)",
            names=(BIND_PORT_ENV, PORT_ENV),
        ),
    )
    workers: int = field(
        default=1,
        metadata=env(WORKERS_ENV, "worker processes, each loading the function"),
    )
    timeout_s: float | None = field(
        default=None,
        metadata=env(
            TIMEOUT_ENV,
            "seconds one `/predict` or `/invocations` request may take: 504 after "
            "(the predict itself runs to its end)",
            default="none: no bound",
        ),
    )
    access_log: bool = field(
        default=False,
        metadata=env(
            ACCESS_LOG_ENV,
            "`on`: uvicorn's access log line for every request as well; by default it is written only "
            "with `PREDICTOR_OBSERVABILITY=off`, since each request's JSON log line has its method, "
            "path, status and latency",
            default="off (on with PREDICTOR_OBSERVABILITY=off)",
        ),
    )
    server: ServerSettings = field(default_factory=ServerSettings)
    batch: BatchSettings = field(default_factory=BatchSettings)
    models: MultiModelSettings = field(default_factory=MultiModelSettings)

    @classmethod
    def resolve(
        cls,
        function: str | None,
        host: str | None = None,
        port: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ServeSettings:
        """The arguments given, else the environment's, else the defaults."""
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
        workers = positive_number(environ, WORKERS_ENV, 1)
        models = MultiModelSettings.from_environ(environ)
        # uvicorn's access line is off while each request's own line says as much.
        request_lines = ObservabilitySettings.from_environ(environ).enabled
        if models.enabled and workers > 1:
            # A load reaches one worker process and an invoke may reach another.
            raise ValueError(
                f"{MULTI_MODEL_ENV}=true serves every model from one process: "
                f"unset {WORKERS_ENV} or set it to 1"
            )
        return cls(
            function=function,
            host=host or environ.get(HOST_ENV) or DEFAULT_HOST,
            port=port,
            workers=workers,
            timeout_s=timeout or None,
            access_log=switch(environ, ACCESS_LOG_ENV, not request_lines),
            server=ServerSettings.from_environ(environ),
            batch=BatchSettings.from_environ(environ),
            models=models,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        raw = json.loads(text)
        server, batch = ServerSettings(**raw.pop("server")), BatchSettings(**raw.pop("batch"))
        models = MultiModelSettings(**raw.pop("models"))
        return cls(**raw, server=server, batch=batch, models=models)
