"""The transport-neutral core: setup state, readiness and the predict pipeline."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from predictor import problems
from predictor._log import logger
from predictor.artifacts import default_artifacts_uri, resolve_artifacts
from predictor.artifacts._settings import MODEL_URI_ENV
from predictor.codec import JSON, Codec
from predictor.context import RequestContext
from predictor.contract import (
    ContractError,
    Predictor,
    PredictorError,
    check_contract,
    check_predictions,
    takes_context,
)
from predictor.limits import Limits
from predictor.observability import CURRENT, Observer, observer_for, traced
from predictor.problems import PROBLEM_JSON, Problem, ProblemError


class Reply(NamedTuple):
    # A tuple, not a frozen dataclass: one is built per request, and a tuple builds faster.
    status: int
    content_type: str
    body: bytes
    #: Extra answer headers, set only when a predictor asked for its request context.
    headers: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class RuntimeSettings:
    """What the runtime serves with, read once by the entry point (`lambda_handler`, `predictor
    serve`) and handed down: the runtime itself reads no variable."""

    #: MODEL_URI, or the `artifacts` argument; None: the artifacts embedded beside the predictor.
    model_uri: str | None = None
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        artifacts: str | Path | None = None,
        limits: Limits | None = None,
    ) -> RuntimeSettings:
        """The settings `environ` gives, each argument given winning over its variables."""
        environ = os.environ if environ is None else environ
        uri = str(artifacts) if artifacts else environ.get(MODEL_URI_ENV) or None
        return cls(model_uri=uri, limits=limits or Limits.from_environ(environ))


class Runtime:
    """One predictor instance and everything every transport needs to serve it."""

    def __init__(
        self,
        predictor_class: type[Predictor[Any, Any]],
        settings: RuntimeSettings | None = None,
        *,
        artifacts: str | Path | None = None,
        limits: Limits | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """`settings` as the entry point read them; without them, read from `environ` here. An
        `artifacts` or `limits` argument wins over either. `environ` also reaches the artifact
        fetch (its own settings) and the transports' settings."""
        check_contract(predictor_class)
        environ = os.environ if environ is None else environ
        if settings is None:
            settings = RuntimeSettings.from_environ(environ, artifacts=artifacts, limits=limits)
        elif artifacts or limits:
            settings = replace(
                settings,
                model_uri=str(artifacts) if artifacts else settings.model_uri,
                limits=limits or settings.limits,
            )
        self.settings = settings
        self.predictor_class = predictor_class
        self.predictor = predictor_class()
        #: Every transport decodes bodies and encodes predictions through this one codec.
        self.codec = Codec(
            predictor_class.input_model,
            predictor_class.output_model,
            settings.limits,
            allow_inf_nan=predictor_class.allow_inf_nan,
            raw_types=predictor_class.raw_content_types,
            decode_raw=self.predictor.decode_raw,
        )
        self.artifacts_uri = settings.model_uri or str(default_artifacts_uri(predictor_class))
        self._embedded_artifacts = settings.model_uri is None
        self.environ = environ
        self.ready = False
        self.failure: str | None = "setup has not run yet"
        #: The type of what setup (or the artifacts' fetch) raised; not the exception, whose
        #: traceback would keep setup's frames, and what they allocated, alive.
        self.setup_error: type[Exception] | None = None
        self._set_up = False
        #: The predictor's predict takes a `context`; transports build one only then.
        self.wants_context = takes_context(predictor_class)
        # The base class's pre- and postprocess return their argument: skip the calls then.
        self._preprocesses = predictor_class.preprocess is not Predictor.preprocess
        self._postprocesses = predictor_class.postprocess is not Predictor.postprocess
        #: Logs, metrics and traces; None when PREDICTOR_OBSERVABILITY=off.
        self.observer: Observer | None = observer_for(predictor_class, environ)

    def start(self) -> None:
        """Fetch artifacts and run setup; a failure is kept as the reason for not ready."""
        observer = self.observer
        try:
            started = time.perf_counter()
            fetch_s: float | None = None
            if self._embedded_artifacts and not Path(self.artifacts_uri).exists():
                # No embedded artifacts: a predictor that needs files says so from setup.
                directory = Path(self.artifacts_uri)
            else:
                with traced(observer, "fetch"):
                    directory = resolve_artifacts(self.artifacts_uri, environ=self.environ)
                fetch_s = time.perf_counter() - started
            set_up = time.perf_counter()
            with traced(observer, "setup"):
                self.predictor.setup(directory)
            if observer is not None:
                fetched_bytes = None if fetch_s is None else _bytes_under(directory)
                observer.init_done(fetch_s, fetched_bytes, time.perf_counter() - set_up)
        except Exception as exc:
            self.failure = f"setup failed: {type(exc).__name__}: {exc}"
            self.setup_error = type(exc)
            logger().exception("predictor setup failed", extra={"model_uri": self.artifacts_uri})
        else:
            self.ready, self.failure, self._set_up = True, None, True

    def drain(self) -> None:
        """Stop answering ready (SIGTERM): requests in flight finish, new ones get 503."""
        if self.ready:
            self.ready = False
            self.failure = "the server is shutting down"

    def stop(self) -> None:
        self.drain()
        if self.observer is not None:
            self.observer.flush()
        if self._set_up:
            self._set_up = False
            self.predictor.teardown()

    def not_ready_reason(self) -> str | None:
        """None when ready to serve; otherwise why not, for /health and 503s."""
        if not self.ready:
            return self.failure
        try:
            healthy = self.predictor.health()
        except Exception as exc:
            return f"health check raised {type(exc).__name__}: {exc}"
        return None if healthy else f"{self.predictor_class.__name__}.health() returned False"

    def metadata(self) -> dict[str, Any]:
        return self.predictor.metadata()

    def predict_body(
        self,
        body: bytes,
        content_type: str | None,
        request_id: str,
        context: RequestContext | None = None,
    ) -> Reply:
        """Answer one HTTP-style predict request inline: the hot path of Lambda's HTTP events."""
        try:
            instances = self.parse_body(body, content_type)
            if not self.wants_context:
                return Reply(200, JSON, self.codec.encode(self.run(instances)))
            context = context or RequestContext(request_id)
            return self.answer(self.run(instances, context), context)
        except Exception as exc:
            return self.failure_reply(exc, request_id)

    def parse_body(self, body: bytes, content_type: str | None) -> list[Any]:
        """The validated instances of an HTTP-style predict body (the envelope, or a raw type);
        raises ProblemError when not ready (503), for an unsupported type (415) or a bad body."""
        if not self.ready:
            raise ProblemError(problems.not_ready(self.failure))
        observer = self.observer
        if observer is None or not observer.tracing:
            return self.codec.decode(body, content_type)
        with observer.span("validate"):
            return self.codec.decode(body, content_type)

    def answer(self, predictions: list[Any], context: RequestContext | None) -> Reply:
        """The 200 reply holding checked predictions, with the headers `context` asks for."""
        encoded = self.codec.encode(predictions)
        return Reply(200, JSON, encoded, context.answer_headers()) if context else Reply(200, JSON, encoded)

    def failure_reply(self, exc: Exception, request_id: str) -> Reply:
        failure = self.problem_for(exc, request_id)
        return Reply(failure.status, PROBLEM_JSON, problems.encode(failure))

    def predict_envelope(self, envelope: object, request_id: str) -> tuple[int, dict[str, Any]]:
        """Answer a request envelope given as a decoded object (direct invoke)."""
        try:
            if not self.ready:
                raise ProblemError(problems.not_ready(self.failure))
            instances = self.codec.decode_envelope(envelope)
            context = RequestContext(request_id) if self.wants_context else None
            return 200, self.codec.dump(self.run(instances, context))
        except Exception as exc:
            failure = self.problem_for(exc, request_id)
            return failure.status, failure.model_dump(mode="json", exclude_none=True)

    def run(
        self, instances: list[Any], context: RequestContext | None = None, *, span: bool = True
    ) -> list[Any]:
        """preprocess -> predict -> postprocess over validated instances; `context` only
        reaches a predict that asks for it (then `context` must be given). Counted in the
        request's observation, when there is one, and traced as a "predict" span unless the
        caller traces many runs as one (`span=False`)."""
        observation = None if self.observer is None else CURRENT.get()
        if observation is None or self.observer is None:
            return self._run(instances, context)
        started = time.perf_counter()
        try:
            with traced(self.observer if span else None, "predict"):
                return self._run(instances, context)
        finally:
            observation.predicted(len(instances), time.perf_counter() - started, context)

    def _run(self, instances: list[Any], context: RequestContext | None) -> list[Any]:
        predictor = self.predictor
        batch = predictor.preprocess(instances) if self._preprocesses else instances
        # The base signature has no context; a predict that takes one was found at init.
        call: Any = predictor.predict
        predicted = call(batch, context) if self.wants_context else call(batch)
        predictions = predictor.postprocess(predicted) if self._postprocesses else predicted
        return check_predictions(self.predictor_class, len(instances), predictions)

    def problem_for(self, exc: Exception, request_id: str, *, action: str = "predict") -> Problem:
        found = self._problem_for(exc, request_id, action)
        observation = CURRENT.get()
        if observation is not None:
            observation.refused(found)
        return found

    def _problem_for(self, exc: Exception, request_id: str, action: str) -> Problem:
        if isinstance(exc, ProblemError):
            return exc.problem
        if isinstance(exc, PredictorError):
            return problems.problem(exc.status, exc.message)
        message = "predictor broke its contract" if isinstance(exc, ContractError) else f"{action} failed"
        logger().exception(message, extra={"request_id": request_id})
        return problems.problem(
            500,
            f"The predictor failed on this request; search the logs for request id {request_id}",
            request_id=request_id,
        )


def _bytes_under(directory: Path) -> int | None:
    """The artifacts' size, for the ArtifactBytes metric; None when they cannot be walked."""
    try:
        return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
    except OSError:
        return None


# A function's app.py builds its handler at import; `predictor serve` then reuses
# that started runtime instead of running setup twice.
_started: dict[type[Predictor[Any, Any]], Runtime] = {}


def started_runtime(
    predictor_class: type[Predictor[Any, Any]], settings: RuntimeSettings | None = None, **options: Any
) -> Runtime:
    runtime = _started.get(predictor_class)
    if runtime is None:
        runtime = Runtime(predictor_class, settings, **options)
        runtime.start()
        _started[predictor_class] = runtime
    return runtime
