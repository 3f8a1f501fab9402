"""A server's metrics, gathered over many requests and written as few EMF lines.

On Lambda each invocation writes its own line, as Powertools' Metrics does. A server answering
thousands of requests a second would write as many lines, and pay for formatting and ingesting
each; it gathers values instead and writes one line per group (answers, and errors by status)
once a metric holds EMF's 100 values, `interval_s` after the first value waited, or at `flush()`.
Every value is kept: CloudWatch's statistics (Sum, SampleCount, percentiles) come out as they
would from one line per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from predictor.observability._emf import MAX_VALUES, EmfWriter, MetricValues

if TYPE_CHECKING:
    import asyncio

#: How long a gathered value may wait for its line: CloudWatch's finest standard resolution is 60 s.
INTERVAL_S = 1.0


@dataclass(slots=True)
class _Group:
    """One line's worth: the values gathered, and how many requests they came from."""

    values: MetricValues = field(default_factory=dict)
    requests: int = 0


class MetricBatches:
    """Gather from the server's event loop, where the timer that writes a waiting group runs. `flush`
    may also come from another thread once nothing is gathered any more (a model's teardown on the
    predict thread): it then leaves the timer alone, which finds nothing left when it fires."""

    def __init__(
        self,
        emf: EmfWriter,
        write: Callable[[str], None],
        metadata: Mapping[str, Any],
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.emf = emf
        self.write = write
        self.metadata = dict(metadata)
        self.interval_s = interval_s
        #: error status (None: not an error) -> what is gathered for its next line
        self._groups: dict[int | None, _Group] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, metrics: MetricValues, error_status: int | None = None, *, requests: int = 1) -> None:
        """Gather one request's (or one batch's) values under its group."""
        group = self._groups.get(error_status)
        if group is None:
            group = self._groups[error_status] = _Group()
        group.requests += requests
        full = group.requests >= MAX_VALUES
        for name, (unit, values) in metrics.items():
            found = group.values.get(name)
            if found is None:
                found = group.values[name] = (unit, [])
            found[1].extend(values)
            full = full or len(found[1]) >= MAX_VALUES
        if full:
            self._write(error_status)
        elif self._timer is None:
            self._start_timer()

    def flush(self) -> None:
        """Write every group now (at shutdown, or when a model is unloaded)."""
        if self._timer is not None and self._on_own_loop():
            self._timer.cancel()  # a loop's timers are not safe to touch from another thread
            self._timer = None
        for status in list(self._groups):
            self._write(status)

    def _start_timer(self) -> None:
        import asyncio  # here, not at the top: Lambda, which never gathers, does not import it

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on the event loop: nothing would fire the timer, so write now
            self.flush()
            return
        self._loop = loop
        self._timer = loop.call_later(self.interval_s, self._on_timer)

    def _on_own_loop(self) -> bool:
        import asyncio

        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def _write(self, status: int | None) -> None:
        group = self._groups.pop(status, None)
        if group is None:
            return
        errors = group.requests if status is not None else 0
        for line in self.emf.lines(group.values, self.metadata, status, errors=errors):
            self.write(line)
