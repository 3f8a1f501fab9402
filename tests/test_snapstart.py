"""SnapStart: hooks registered only when the Lambda runtime offers snapshot_restore_py."""

from __future__ import annotations

from support.fresh_python import python_json


def test_restore_hook_renews_every_aws_client_and_reseeds_generators() -> None:
    report = python_json(
        """
        import json, os, random
        os.environ.update(
            OUTPUT_URI="s3://results/out/",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="a",
            AWS_SECRET_ACCESS_KEY="s",
        )
        import numpy
        import snapshot_restore_py as snap
        from predictor import _aws_clients
        from predictor._loading import load_predictor_class
        from predictor.aws_lambda import LambdaHandler
        from predictor.artifacts import _s3
        from predictor.artifacts._s3_boto import BotoS3
        from predictor.artifacts._settings import FetchSettings
        fetch_settings = lambda: FetchSettings.from_environ(os.environ)

        handler = LambdaHandler.for_predictor(load_predictor_class("tests/fixtures/predictors/echo.py"))
        LambdaHandler.for_predictor(handler.runtime.predictor_class)  # a second build registers nothing more
        event_client = _aws_clients.client("s3")  # made at init: OUTPUT_URI is set
        # Made after the hooks were registered, by code the hooks know nothing of.
        later_client = _aws_clients.client("sqs")
        stdlib_transport = _s3.transport(fetch_settings())  # holds the credentials it read
        boto_transport = BotoS3(5.0, 2, dict(os.environ))
        random.seed(7); numpy.random.seed(7)
        snapshot_random, snapshot_numpy = random.random(), numpy.random.random()
        random.seed(7); numpy.random.seed(7)  # the state a snapshot would freeze
        for func, args, kwargs in snap.get_before_snapshot():
            func(*args, **kwargs)
        held_at_snapshot = _aws_clients.made()
        for func, args, kwargs in snap.get_after_restore():
            func(*args, **kwargs)
        print(json.dumps({
            "before": len(snap.get_before_snapshot()),
            "after": len(snap.get_after_restore()),
            "held_at_snapshot": held_at_snapshot,
            "held_after_restore": _aws_clients.made(),
            "new_event_client": _aws_clients.client("s3") is not event_client,
            "new_later_client": _aws_clients.client("sqs") is not later_client,
            "new_stdlib_transport": _s3.transport(fetch_settings()) is not stdlib_transport,
            "new_boto_client": BotoS3(5.0, 2, dict(os.environ)).client is not boto_transport.client,
            "random_reseeded": random.random() != snapshot_random,
            "numpy_reseeded": numpy.random.random() != snapshot_numpy,
            "ready": handler.runtime.ready,
        }))
        """
    )
    assert report == {
        "before": 1,
        "after": 1,
        "held_at_snapshot": 3,
        "held_after_restore": 0,
        "new_event_client": True,
        "new_later_client": True,
        "new_stdlib_transport": True,
        "new_boto_client": True,
        "random_reseeded": True,
        "numpy_reseeded": True,
        "ready": True,
    }


def test_without_snapshot_restore_py_the_handler_registers_nothing_and_serves() -> None:
    report = python_json(
        """
        import json, sys
        sys.modules["snapshot_restore_py"] = None  # as on a runtime without SnapStart
        from predictor._loading import load_predictor_class
        from predictor._snapstart import register_snapstart_hooks
        from predictor.aws_lambda import LambdaHandler

        handler = LambdaHandler.for_predictor(load_predictor_class("tests/fixtures/predictors/echo.py"))
        answer = handler({"instances": [{"x": 1.5, "name": "a"}]})
        print(json.dumps({"registered": register_snapstart_hooks(handler.runtime), "answer": answer}))
        """
    )
    assert report == {"registered": False, "answer": {"predictions": [{"name": "a", "doubled": 3.0}]}}
