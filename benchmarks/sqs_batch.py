"""SQS batch of 1,000 single-instance records on the iris model.

project: the Lambda handler's SQS source (validate all, one vectorised predict per
PREDICTOR_BATCH_SIZE, replies in SendMessageBatch calls of 10). peers: Powertools'
BatchProcessor with a record handler that validates and predicts record by record, as the
Powertools docs teach it, in both of their forms: the body validated in the handler from the
`SQSRecord` data class, and the processor validating each record with a pydantic
`SqsRecordModel` whose body is `Json[Features]` (the docs' "Pydantic integration"). Figures:
- work: validate + predict + encode the replies, no reply transport on either side;
- ceiling: the contract's own steps alone (the batch's bodies validated in one call, the
  example's predict over PREDICTOR_BATCH_SIZE chunks, each prediction serialised), with no
  records, replies or bookkeeping: no SQS adapter honouring the contract can beat it, so
  peer ÷ ceiling is the highest work ratio reachable with this predictor;
- end to end: both also send each reply to an SQS queue on a moto server (a fresh queue per
  round: moto's SendMessageBatch slows as a queue grows), the peer with one SendMessage per record.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from benchmarks._timing import median, table, versions
from benchmarks.moto import moto_server

REPO = Path(__file__).resolve().parents[1]
RECORDS = int(os.environ.get("SQS_BENCH_RECORDS", "1000"))
ROUNDS = int(os.environ.get("SQS_BENCH_ROUNDS", "5"))
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def sqs_event(records: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"msg-{n}",
                "receiptHandle": "handle",
                "body": json.dumps(SETOSA),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1523232000000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1523232000001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:requests",
                "awsRegion": "us-east-1",
            }
            for n in range(records)
        ]
    }


def powertools_handler(queue_url: str | None, *, pydantic_records: bool = False) -> Any:
    import boto3
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
    from pydantic import Json

    from predictor._loading import load_predictor_class

    iris_class = load_predictor_class(str(REPO / "functions" / "iris"))
    iris = iris_class()
    iris.setup(REPO / "functions" / "iris" / "model")
    features = iris_class.input_model
    sqs = boto3.session.Session().client("sqs")

    class IrisSqsRecord(SqsRecordModel):
        body: Json[features]  # type: ignore[valid-type]

    model = IrisSqsRecord if pydantic_records else None
    processor = BatchProcessor(event_type=EventType.SQS, model=model)

    def record_handler(record: Any) -> None:
        instance = record.body if pydantic_records else features.model_validate_json(record.body)
        [prediction] = iris.predict([instance])
        body = {"messageId": record.messageId if pydantic_records else record.message_id}
        body["predictions"] = [prediction.model_dump(mode="json")]
        encoded = json.dumps(body)
        if queue_url is not None:
            sqs.send_message(QueueUrl=queue_url, MessageBody=encoded)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler


def project_work(runtime: Any) -> Any:
    """The SQS source's whole answer (read the records, validate, predict, encode the replies),
    without sending the replies."""
    from predictor.aws_lambda._settings import EventSettings
    from predictor.aws_lambda.sources._sqs_messages import SqsBatch
    from predictor.aws_lambda.sources.sqs import SqsEvent

    source = SqsEvent(runtime, EventSettings.from_environ(runtime.environ))

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        replies, failed = source.answer(SqsBatch.of(event), context)
        assert len(replies) == len(event["Records"])
        return {"batchItemFailures": sorted(failed)}

    return handler


def contract_ceiling(runtime: Any) -> Any:
    """Only what the contract itself costs: validate every body, predict, serialise each prediction."""
    from predictor.aws_lambda._batches import chunks
    from predictor.aws_lambda._settings import EventSettings

    # The codec's own fast branch, with nothing around it.
    json_instances = runtime.codec._json
    size = EventSettings.from_environ(runtime.environ).batch_size

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        instances = json_instances.parse_instances_json([record["body"] for record in event["Records"]])
        for chunk in chunks(instances, size):
            json_instances.encode_predictions(runtime.run(list(chunk)))
        return {"batchItemFailures": []}

    return handler


def timed(cases: dict[str, Any], event: dict[str, Any], before_round: Any = None) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_number in range(ROUNDS):
        for name in names[round_number % 2 :] + names[: round_number % 2]:
            handler = cases[name](before_round() if before_round else None)
            start = time.perf_counter()
            answer = handler(event, None)
            seconds[name].append(time.perf_counter() - start)
            assert answer == {"batchItemFailures": []}, answer
    return seconds


def main() -> None:
    with moto_server() as env:
        os.environ.update(env)
        import boto3

        from predictor._loading import load_predictor_class
        from predictor.aws_lambda import LambdaHandler
        from predictor.runtime import Runtime

        sqs = boto3.session.Session().client("sqs")
        iris_class = load_predictor_class(str(REPO / "functions" / "iris"))
        event = sqs_event(RECORDS)
        work_runtime = Runtime(iris_class, environ={"OUTPUT_URI": "s3://unused/"})
        work_runtime.start()
        work = timed(
            {
                "project": lambda _: project_work(work_runtime),
                "ceiling": lambda _: contract_ceiling(work_runtime),
                "powertools": lambda _: powertools_handler(None),
                "powertools_pydantic": lambda _: powertools_handler(None, pydantic_records=True),
            },
            event,
        )
        queues = iter(range(1_000_000))

        def fresh_queue() -> str:
            url: str = sqs.create_queue(QueueName=f"replies-{next(queues)}")["QueueUrl"]
            return url

        def project(queue: str) -> Any:
            runtime = Runtime(iris_class, environ={"OUTPUT_URI": queue})
            runtime.start()
            return LambdaHandler(runtime)

        end_to_end = timed({"project": project, "powertools": powertools_handler}, event, fresh_queue)

    def per_round(ours: str, peer: str, seconds: dict[str, list[float]]) -> str:
        ratios = [base / mine for mine, base in zip(seconds[ours], seconds[peer], strict=True)]
        return f"{median(ratios):.1f}x"

    def rate(seconds: list[float]) -> str:
        return f"{RECORDS / median(seconds):,.0f}"

    rows = [
        [
            "work: project",
            rate(work["project"]),
            per_round("project", "powertools", work),
            per_round("project", "powertools_pydantic", work),
        ],
        [
            "work: contract ceiling (no adapter)",
            rate(work["ceiling"]),
            per_round("ceiling", "powertools", work),
            per_round("ceiling", "powertools_pydantic", work),
        ],
        ["Powertools, SQSRecord + model_validate_json", rate(work["powertools"]), "1.0x", "-"],
        ["Powertools, SqsRecordModel with Json[Features]", rate(work["powertools_pydantic"]), "-", "1.0x"],
        [
            "end to end, moto SQS: project",
            rate(end_to_end["project"]),
            per_round("project", "powertools", end_to_end),
            "-",
        ],
        ["end to end, moto SQS: Powertools", rate(end_to_end["powertools"]), "1.0x", "-"],
    ]
    print(table(["figure", "records/s", "÷ Powertools SQSRecord", "÷ Powertools SqsRecordModel"], rows))
    print(
        f"{RECORDS} records a batch, median of {ROUNDS} interleaved rounds; target: work ratio >= 10x. "
        "The ceiling row is the contract's validation, the example's predict and serialisation "
        "alone: its ratio bounds what any SQS adapter can reach with this predictor."
    )
    print(versions("aws-lambda-powertools", "boto3", "moto", "onnxruntime", "pydantic"))
