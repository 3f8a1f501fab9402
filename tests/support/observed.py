"""What a handler in this process emits: its EMF lines and its JSON log lines, exactly as written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from predictor._log import logger
from predictor.runtime import Runtime
from support.emf import Metric, metrics_of


@dataclass
class Emitted:
    emf: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [*self.logs, *self.emf]

    @property
    def metrics(self) -> list[Metric]:
        return metrics_of(self.emf)

    def records(self, message: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.logs]
        return [record for record in parsed if message is None or record["message"] == message]

    def request_line(self) -> dict[str, Any]:
        [line] = self.records("request")
        return line


@contextmanager
def emitted(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> Iterator[Emitted]:
    """Collect the EMF lines the runtime's observer writes and its log records, formatted by the
    Powertools formatter that writes them to stdout."""
    found = Emitted()
    assert runtime.observer is not None, "observability is off for this runtime"
    runtime.observer.write = found.emf.append
    formatter = logger().registered_formatter
    caplog.set_level(logging.DEBUG, logger=logger().name)
    caplog.clear()
    try:
        yield found
    finally:
        found.logs += [formatter.format(r) for r in caplog.records if r.name == logger().name]
