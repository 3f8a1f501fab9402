"""Both examples train through the contract, and serve what they trained: `predictor train` on a
SageMaker layout, /opt/ml/model packed as SageMaker packs it, served from S3 through MODEL_URI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_digits, load_iris
from support.paths import REPO
from support.s3_server import MotoServer, clean_environ
from support.server_process import ServerProcess
from support.training import OptMl, model_tar_gz, run_train

IRIS = REPO / "functions" / "iris"
DIGITS = REPO / "functions" / "digits"


@pytest.fixture
def opt_ml(tmp_path: Path) -> OptMl:
    return OptMl(tmp_path / "opt" / "ml")


def serve_from_s3(
    function: Path, model_dir: Path, s3_server: MotoServer, bucket: str, cache: Path
) -> ServerProcess:
    s3_server.s3().put_object(Bucket=bucket, Key="output/model.tar.gz", Body=model_tar_gz(model_dir))
    env = clean_environ(
        **s3_server.env, MODEL_URI=f"s3://{bucket}/output/model.tar.gz", PREDICTOR_CACHE_DIR=str(cache)
    )
    return ServerProcess(function, env)


def test_iris_trained_with_its_defaults_is_the_committed_model_byte_for_byte(opt_ml: OptMl) -> None:
    opt_ml.write_config({}, {})

    finished = run_train(IRIS, opt_ml.environ())

    assert finished.returncode == 0, finished.stderr
    for name in ("model.onnx", "labels.json"):
        assert (opt_ml.model / name).read_bytes() == (IRIS / "model" / name).read_bytes(), name


def test_iris_trained_on_a_csv_channel_serves_from_s3_what_it_learned(
    opt_ml: OptMl, s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    iris = load_iris()
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species"])
    # Two species only: the model trained on this channel knows no versicolor.
    for features, target in zip(iris.data.tolist(), iris.target.tolist(), strict=True):
        if target != 1:
            writer.writerow([*features, iris.target_names[target]])
    opt_ml.write_config({"max_iter": "200", "test_size": "0.3"}, {"train": {"flowers.csv": rows.getvalue()}})

    assert run_train(IRIS, opt_ml.environ()).returncode == 0
    assert json.loads((opt_ml.model / "labels.json").read_text()) == ["setosa", "virginica"]

    versicolor = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.5, "petal_width": 1.5}
    body = {"instances": [versicolor, {**versicolor, "petal_length": 1.4, "petal_width": 0.2}]}
    with serve_from_s3(IRIS, opt_ml.model, s3_server, bucket, tmp_path / "cache") as server:
        answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)

    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert all(set(p["probabilities"]) == {"setosa", "virginica"} for p in predictions)
    assert predictions[1]["label"] == "setosa"


def test_iris_refuses_a_test_size_outside_zero_to_one_naming_it(opt_ml: OptMl) -> None:
    opt_ml.write_config({"test_size": "1.5"}, {})

    finished = run_train(IRIS, opt_ml.environ())

    assert finished.returncode == 1
    assert opt_ml.failure.read_text().startswith(
        "invalid hyperparameters: test_size: Input should be less than 1"
    )


def test_digits_trained_small_serves_from_s3_and_reads_digits(
    opt_ml: OptMl, s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    opt_ml.write_config({"hidden": "[32]", "epochs": "40"}, {})

    finished = run_train(DIGITS, opt_ml.environ())

    assert finished.returncode == 0, finished.stderr
    digits = load_digits()
    body = {"instances": [{"pixels": image} for image in digits.data[:50].tolist()]}
    with serve_from_s3(DIGITS, opt_ml.model, s3_server, bucket, tmp_path / "cache") as server:
        answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)

    assert answer.status_code == 200, answer.text
    read = [p["digit"] for p in answer.json()["predictions"]]
    correct = sum(a == b for a, b in zip(read, digits.target[:50].tolist(), strict=True))
    assert correct >= 45
    # The small network is not the committed one: the served model is the trained one.
    assert (opt_ml.model / "model.onnx").stat().st_size < (
        DIGITS / "model" / "model.onnx"
    ).stat().st_size / 100
