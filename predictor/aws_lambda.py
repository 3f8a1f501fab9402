"""The one Lambda entry point: HTTP events (API Gateway, ALB, Function URL) and direct invoke."""

from __future__ import annotations

import binascii
import uuid
from typing import TYPE_CHECKING, Any

from predictor import problems
from predictor._lambda_http import TEXT_MIME_TYPES, bad_encoding, event_shape, predict_event
from predictor._runtime import Runtime, started_runtime

if TYPE_CHECKING:
    from mangum import Mangum

    from predictor._predictor import Predictor


class LambdaHandler:
    """Callable as `handler(event, context)`; the predictor's setup has run at init."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._mangum: Mangum | None = None

    @classmethod
    def for_predictor(cls, predictor_class: type[Predictor[Any, Any]], **options: Any) -> LambdaHandler:
        from predictor._snapstart import register_snapstart_hooks

        runtime = started_runtime(predictor_class, **options)
        register_snapstart_hooks(runtime)
        return cls(runtime)

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        if isinstance(event, dict):
            shape = event_shape(event)
            if shape is not None:
                answer = self._http(event, context, shape)
                if answer is not None:
                    return answer
            elif "instances" in event:
                return self.runtime.predict_envelope(event, request_id(context))[1]
        problem = problems.problem(
            400,
            "Unrecognised event: expected an API Gateway, ALB or Function URL request, "
            'or a direct invocation {"instances": [...]}',
        )
        return problem.model_dump(mode="json", exclude_none=True)

    def _http(self, event: dict[str, Any], context: Any, shape: str) -> dict[str, Any] | None:
        try:
            request = predict_event(event, shape)
            if request is None:
                return self.mangum(event, context)
        except binascii.Error:
            return bad_encoding(event, shape)
        except (KeyError, TypeError, AttributeError):
            return None  # a half-formed HTTP event is answered as unrecognised
        reply = self.runtime.predict_body(request.body, request.content_type, request_id(context))
        return request.respond(reply)

    def mangum(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._mangum is None:
            from mangum import Mangum
            from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

            from predictor.http import create_app

            self._mangum = Mangum(
                create_app(self.runtime, inline=True),
                lifespan="off",
                text_mime_types=[*DEFAULT_TEXT_MIME_TYPES, *TEXT_MIME_TYPES],
            )
        return self._mangum(event, context)


def request_id(context: Any) -> str:
    return getattr(context, "aws_request_id", None) or uuid.uuid4().hex
