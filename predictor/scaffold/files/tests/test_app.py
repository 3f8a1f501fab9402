"""The predictor, driven as AWS drives the deployed function: `make test` (or `python -m unittest`)."""

from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

import app  # app.py sits at the project root, as on Lambda

from predictor.testing import PredictorClient, events

ROOT = Path(__file__).resolve().parents[1]


class ClassifierTest(unittest.TestCase):
    client: PredictorClient

    @classmethod
    def setUpClass(cls) -> None:
        cls.client = PredictorClient(app.handler)

    def test_the_schema_example_is_classified_on_every_http_shape(self) -> None:
        for shape in events.SHAPES:
            with self.subTest(shape=shape):
                response = self.client.predict(self.client.examples, shape=shape)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.json()["predictions"][0]["label"], "medium")

    def test_each_class_is_told_apart(self) -> None:
        instances = [
            {"length": 1.4, "width": 0.4},
            {"length": 4.4, "width": 1.3},
            {"length": 6.2, "width": 2.2},
        ]
        predictions = self.client.invoke_direct(instances)["predictions"]
        self.assertEqual([p["label"] for p in predictions], ["small", "medium", "large"])
        for prediction in predictions:
            self.assertAlmostEqual(sum(prediction["probabilities"].values()), 1.0, places=6)

    def test_an_invalid_instance_is_refused_with_the_field_located(self) -> None:
        response = self.client.predict([{"length": -1, "width": 1.0}])
        self.assertEqual(response.status_code, 422)
        self.assertEqual(response.headers["content-type"], "application/problem+json")
        self.assertEqual(response.json()["errors"][0]["loc"], ["instances", 0, "length"])

    def test_health_and_metadata_answer(self) -> None:
        self.assertEqual(self.client.get("/health").json(), {"status": "ready"})
        self.assertEqual(self.client.get("/metadata").json()["name"], "Classifier")

    def test_each_http_event_in_events_is_answered_with_predictions(self) -> None:
        for path in sorted((ROOT / "events").glob("*.json")):
            event = json.loads(path.read_text())
            if "requestContext" not in event:
                continue  # not an HTTP event
            with self.subTest(event=path.name):
                answer = self.client.invoke(event)
                self.assertEqual(answer["statusCode"], 200, answer.get("body"))


class TrainingTest(unittest.TestCase):
    """`train` writes what `setup` reads: what `make train` and `predictor init` rely on."""

    def setUp(self) -> None:
        self.model_dir = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def trained(self, channels: dict[str, Path]) -> app.Classifier:
        app.Classifier.train(channels, app.Classifier.Hyperparameters(), self.model_dir)
        classifier = app.Classifier()
        classifier.setup(self.model_dir)
        return classifier

    def test_training_without_data_writes_a_model_setup_reads(self) -> None:
        classifier = self.trained({})
        batch = [app.Features(length=1.4, width=0.4), app.Features(length=6.2, width=2.2)]
        self.assertEqual([p.label for p in classifier.predict(batch)], ["small", "large"])

    def test_a_train_channel_of_csv_rows_is_what_the_model_learns(self) -> None:
        data = Path(self.enterContext(tempfile.TemporaryDirectory()))
        # Two classes of its own, told apart by length alone: width is constant.
        short = [f"{1 + i / 10},0.5,short" for i in range(10)]
        long = [f"{8 + i / 10},0.5,long" for i in range(10)]
        lines = ["length,width,label", *short, *long]
        (data / "rows.csv").write_text("\n".join(lines) + "\n")
        classifier = self.trained({"train": data})
        batch = [app.Features(length=1.2, width=0.5), app.Features(length=8.5, width=0.5)]
        self.assertEqual([p.label for p in classifier.predict(batch)], ["short", "long"])
        self.assertEqual(set(classifier.predict(batch)[0].probabilities), {"short", "long"})


if __name__ == "__main__":
    unittest.main()
