"""SnapStart: hooks registered only when the Lambda runtime offers snapshot_restore_py."""

from __future__ import annotations

from fresh_python import python_json


def test_restore_hook_recreates_aws_clients_and_reseeds_generators() -> None:
    report = python_json(
        """
        import json, os, random
        os.environ.update(OUTPUT_URI="s3://results/out/", AWS_DEFAULT_REGION="us-east-1")
        import numpy
        import snapshot_restore_py as snap
        from predictor._loading import load_predictor_class
        from predictor.aws_lambda import LambdaHandler
        from predictor.artifacts import _s3
        from predictor.aws_lambda import _clients
        from predictor.artifacts._settings import FetchSettings

        handler = LambdaHandler.for_predictor(load_predictor_class("tests/fixtures/predictors/echo.py"))
        LambdaHandler.for_predictor(handler.runtime.predictor_class)  # a second build registers nothing more
        client_before = _s3.transport(FetchSettings())
        event_client_before = _clients.client("s3")  # made at init: OUTPUT_URI is set
        random.seed(7); numpy.random.seed(7)
        snapshot_random, snapshot_numpy = random.random(), numpy.random.random()
        random.seed(7); numpy.random.seed(7)  # the state a snapshot would freeze
        for func, args, kwargs in snap.get_before_snapshot():
            func(*args, **kwargs)
        for func, args, kwargs in snap.get_after_restore():
            func(*args, **kwargs)
        print(json.dumps({
            "before": len(snap.get_before_snapshot()),
            "after": len(snap.get_after_restore()),
            "new_client": _s3.transport(FetchSettings()) is not client_before,
            "new_event_client": _clients.client("s3") is not event_client_before,
            "random_reseeded": random.random() != snapshot_random,
            "numpy_reseeded": numpy.random.random() != snapshot_numpy,
            "ready": handler.runtime.ready,
        }))
        """
    )
    assert report == {
        "before": 1,
        "after": 1,
        "new_client": True,
        "new_event_client": True,
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
