"""Every event source, in the order the handler asks them: the first whose `infer` is true answers.

Order matters only where shapes could overlap: HTTP events carry `requestContext`,
which no other source has; direct invocation (`instances`) comes last.
Adding a source is one module and one line here.
"""

from __future__ import annotations

from predictor.aws_lambda._source import EventSource
from predictor.aws_lambda.direct import DirectInvoke
from predictor.aws_lambda.http import HttpEvent

SOURCES: list[type[EventSource]] = [
    HttpEvent,
    DirectInvoke,
]
