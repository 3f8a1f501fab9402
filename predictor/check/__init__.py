"""`predictor check FUNCTION`: the checks before a deploy, run in a fresh process as a cold start is.

The function is imported and set up, the schema's examples go through every transport (each HTTP
event shape, a direct invocation, /invocations as JSON and, where the schema allows, CSV), the
OpenAPI document is validated, and the report gives the time to ready, whether FastAPI loaded on
the event path, how many instances the example's answers fit in one synchronous Lambda response,
and the unzipped size of a `sam build` against Lambda's 250 MB. One line per row;
exit 1 when any row fails, each failure followed by what to fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from predictor.observability._settings import OBSERVABILITY_ENV


def check(function: str, build_dir: Path | None = None) -> int:
    """Run the rows in a new interpreter and pass its report and exit status through."""
    if build_dir is None:
        location = Path(function.partition(":")[0])
        root = location if location.is_dir() else location.parent
        build_dir = root / ".aws-sam" / "build"
    command = [sys.executable, "-m", "predictor.check", function, str(time.time()), str(build_dir)]
    # The report is the table: the log line and metrics each probe request would emit stay out of it.
    environ = {**os.environ, OBSERVABILITY_ENV: "off"}
    return subprocess.run(command, check=False, env=environ).returncode
