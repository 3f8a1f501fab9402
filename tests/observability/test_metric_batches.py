"""A server's metrics gathered into few EMF lines: every value kept, errors apart by status."""

from __future__ import annotations

import asyncio

from support.emf import merged, metrics_of, parse, value

from predictor.observability._emf import EmfWriter, MetricValues
from predictor.observability._metric_batches import MetricBatches


def request(latency_ms: float) -> MetricValues:
    return {"Requests": ("Count", [1.0]), "Latency": ("Milliseconds", [latency_ms])}


def batches(written: list[str], interval_s: float = 60.0) -> MetricBatches:
    emf = EmfWriter("Tests", {"service": "predictor", "model": "Echo"})
    return MetricBatches(emf, written.append, {"model_version": "3"}, interval_s)


def test_values_are_written_a_hundred_to_a_line_and_none_is_lost() -> None:
    written: list[str] = []

    async def serve() -> None:
        gathered = batches(written)
        for n in range(250):
            gathered.add(request(float(n)))
        gathered.flush()

    asyncio.run(serve())

    assert len(written) == 3
    assert [len(value(parse(line), "Requests")) for line in written] == [100, 100, 50]
    assert value(merged(metrics_of(written)), "Latency") == [float(n) for n in range(250)]
    assert all('"model_version":"3"' in line for line in written)


def test_errors_are_gathered_apart_by_status_and_counted_once_each() -> None:
    written: list[str] = []

    async def serve() -> None:
        gathered = batches(written)
        for status in (None, 422, None, 422, 500):
            gathered.add(request(1.0), status)
        gathered.flush()

    asyncio.run(serve())

    metrics = merged(metrics_of(written))
    assert value(metrics, "Errors", status="422") == [1.0, 1.0]
    assert value(metrics, "Errors", status="500") == [1.0]
    assert len(value(metrics, "Requests")) == 5
    assert len(written) == 3


def test_a_value_waits_at_most_the_interval_on_the_event_loop() -> None:
    written: list[str] = []

    async def serve() -> list[int]:
        gathered = batches(written, interval_s=0.05)
        gathered.add(request(1.0))
        gathered.add(request(2.0))
        before = len(written)
        await asyncio.sleep(0.2)
        return [before, len(written)]

    assert asyncio.run(serve()) == [0, 1]
    assert value(parse(written[0]), "Latency") == [1.0, 2.0]


def test_off_the_event_loop_each_value_is_written_at_once() -> None:
    written: list[str] = []
    gathered = batches(written)

    gathered.add(request(1.0))

    assert len(written) == 1


def test_a_batch_without_requests_is_written_with_the_others() -> None:
    written: list[str] = []

    async def serve() -> None:
        gathered = batches(written)
        gathered.add(request(1.0))
        gathered.add({"BatchSize": ("Count", [8.0]), "PredictLatency": ("Milliseconds", [3.0])}, requests=0)
        gathered.flush()

    asyncio.run(serve())

    [line] = written
    assert value(parse(line), "BatchSize") == [8.0]
    assert value(parse(line), "Requests") == [1.0]


def test_a_flush_from_another_thread_writes_everything_and_leaves_the_loops_timer_to_it() -> None:
    written: list[str] = []

    async def serve() -> list[int]:
        gathered = batches(written, interval_s=0.1)
        gathered.add(request(1.0))
        await asyncio.to_thread(gathered.flush)  # as a model's teardown does, on another thread
        flushed = len(written)
        await asyncio.sleep(0.3)  # the timer fires, finds nothing, writes nothing
        gathered.add(request(2.0))
        await asyncio.sleep(0.3)
        return [flushed, len(written)]

    assert asyncio.run(serve()) == [1, 2]
    assert [value(parse(line), "Latency") for line in written] == [[1.0], [2.0]]
