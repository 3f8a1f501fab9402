"""The variables a Lambda execution environment sets that the project's libraries read.

The X-Ray SDK takes `LAMBDA_TASK_ROOT` as the sign it runs on Lambda: without it, importing
the SDK builds a centralised-sampling client (two botocore sessions, about 0.15 s) that Lambda
never builds, and subsegments are batched instead of sent one by one as on Lambda. The
runtime sets `_X_AMZN_TRACE_ID` for each invocation; `Sampled=1` is a traced one, as with
the template's `Tracing: Active`, so each span costs what it costs there.
"""

from __future__ import annotations

from pathlib import Path

TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def lambda_env(function_name: str, task_root: Path) -> dict[str, str]:
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_X_AMZN_TRACE_ID": TRACE_ID,
    }
