"""The predictor contract: what a predictor class must declare, return and may hook into."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from support.paths import FIXTURES
from support.server_process import ServerProcess

from predictor import ContractError, Limits, Predictor, PredictorError
from predictor._loading import load_predictor_class
from predictor.runtime import Runtime, started_runtime


class Item(BaseModel):
    x: float
    name: str


class Doubled(BaseModel):
    name: str
    doubled: float


class HalfDeclared(Predictor[Item, Any]):
    def predict(self, batch: list[Item]) -> list[Any]:
        return batch


class NoPredict(Predictor[Item, Doubled]):
    pass


class AsyncPredict(Predictor[Item, Doubled]):
    async def predict(self, batch: list[Item]) -> list[Doubled]:  # type: ignore[override]
        return []


class ReturnsTuple(Predictor[Item, Doubled]):
    def predict(self, batch: list[Item]) -> list[Doubled]:
        return tuple(Doubled(name=i.name, doubled=i.x) for i in batch)  # type: ignore[return-value]


def fixture(name: str) -> type[Predictor[Any, Any]]:
    return load_predictor_class(str(FIXTURES / name))


def started(predictor_class: type[Predictor[Any, Any]], tmp_path: Path) -> Runtime:
    runtime = Runtime(predictor_class, artifacts=tmp_path, environ={})
    runtime.start()
    assert runtime.failure is None
    return runtime


def body(*items: dict[str, Any]) -> bytes:
    return json.dumps({"instances": list(items)}).encode()


def test_predictor_without_schemas_is_refused_at_load_with_how_to_declare_them() -> None:
    with pytest.raises(ContractError) as raised:
        Runtime(fixture("no_schema.py"), environ={})

    assert str(raised.value) == (
        "NoSchema has no input schema: declare it as "
        "`class NoSchema(Predictor[InputModel, OutputModel])` with two pydantic BaseModel classes"
    )


def test_predictor_with_only_an_input_schema_is_refused_naming_the_output() -> None:
    with pytest.raises(ContractError, match=r"HalfDeclared has no output schema"):
        Runtime(HalfDeclared, environ={})


def test_predictor_without_predict_is_refused() -> None:
    with pytest.raises(ContractError) as raised:
        Runtime(NoPredict, environ={})

    assert str(raised.value) == "NoPredict does not implement predict(self, batch) -> list[Output]"


def test_async_predict_is_refused() -> None:
    with pytest.raises(ContractError) as raised:
        Runtime(AsyncPredict, environ={})

    assert str(raised.value) == "AsyncPredict.predict must be a plain def, not async def"


def test_wrong_number_of_predictions_is_a_500_and_a_contract_error_naming_the_counts(tmp_path: Path) -> None:
    runtime = started(fixture("wrong_length.py"), tmp_path)
    item = {"x": 1, "name": "a"}

    reply = runtime.predict_body(body(item, item, item), "application/json", "req-short")

    assert reply.status == 500
    assert json.loads(reply.body)["request_id"] == "req-short"
    assert b"WrongLength" not in reply.body
    with pytest.raises(ContractError) as raised:
        runtime.run(runtime.codec.decode(body(item, item, item), None))
    assert str(raised.value) == (
        "WrongLength.predict returned 1 predictions for 3 instances; "
        "return exactly one per instance, in order"
    )


def test_predictions_of_the_wrong_type_name_what_came_back_and_what_was_expected(tmp_path: Path) -> None:
    runtime = started(fixture("wrong_type.py"), tmp_path)
    instances = runtime.codec.decode(body({"x": 1, "name": "a"}), None)

    with pytest.raises(ContractError) as raised:
        runtime.run(instances)

    assert str(raised.value) == "WrongType.predict returned dict at position 0; expected Doubled"
    assert runtime.predict_body(body({"x": 1, "name": "a"}), None, "r").status == 500


def test_predict_returning_something_other_than_a_list_is_a_contract_error(tmp_path: Path) -> None:
    runtime = started(ReturnsTuple, tmp_path)

    with pytest.raises(ContractError) as raised:
        runtime.run(runtime.codec.decode(body({"x": 1, "name": "a"}), None))

    assert str(raised.value) == "ReturnsTuple.predict returned tuple; it must return a list of Doubled"


@pytest.mark.parametrize("status", [200, 302, 399, 600, 0])
def test_predictor_error_refuses_a_status_outside_4xx_and_5xx(status: int) -> None:
    with pytest.raises(ValueError) as raised:
        PredictorError("no", status=status)

    assert str(raised.value) == f"PredictorError status must be 4xx or 5xx, got {status}"


@pytest.mark.parametrize("status", [400, 429, 503, 599])
def test_predictor_error_carries_a_4xx_or_5xx_status_and_its_message(status: int) -> None:
    error = PredictorError("slow down", status=status)

    assert (error.status, error.message, str(error)) == (status, "slow down", "slow down")


def test_predictor_error_defaults_to_400() -> None:
    assert PredictorError("bad input").status == 400


def test_preprocess_runs_before_predict_and_postprocess_after(tmp_path: Path) -> None:
    runtime = started(fixture("hooks.py"), tmp_path)

    reply = runtime.predict_body(body({"x": 1.3, "name": "ab"}, {"x": 0.2, "name": "c"}), None, "r")

    assert reply.status == 200
    # The name is upper-cased before predict copies it; 2.6 and 0.4 are rounded after predict doubles.
    assert json.loads(reply.body) == {
        "predictions": [{"name": "AB", "doubled": 3.0}, {"name": "C", "doubled": 0.0}]
    }


def test_default_metadata_lists_name_version_and_json_schemas(tmp_path: Path) -> None:
    predictor_class = fixture("echo.py")
    runtime = started(predictor_class, tmp_path)

    metadata = runtime.metadata()

    assert metadata == {
        "name": "Echo",
        "version": "0",
        "inputs": predictor_class.input_model.model_json_schema(),
        "outputs": predictor_class.output_model.model_json_schema(),
    }
    assert set(metadata["inputs"]["properties"]) == {"x", "name"}
    assert set(metadata["outputs"]["properties"]) == {"name", "doubled"}


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_environ({"PREDICTOR_MAX_BODY_BYTES": "2048", "PREDICTOR_MAX_INSTANCES": "7"})

    assert limits == Limits(max_body_bytes=2048, max_instances=7)
    assert Limits.from_environ({}) == Limits()
    assert Limits.from_environ({"PREDICTOR_MAX_INSTANCES": ""}) == Limits()


@pytest.mark.parametrize("variable", ["PREDICTOR_MAX_BODY_BYTES", "PREDICTOR_MAX_INSTANCES"])
@pytest.mark.parametrize("raw", ["many", "1.5", "1e6"])
def test_limits_refuse_a_non_integer_naming_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ValueError) as raised:
        Limits.from_environ({variable: raw})

    assert str(raised.value) == f"{variable}={raw!r} is not an integer; set it to a positive number"


@pytest.mark.parametrize("variable", ["PREDICTOR_MAX_BODY_BYTES", "PREDICTOR_MAX_INSTANCES"])
@pytest.mark.parametrize("raw", ["0", "-5"])
def test_limits_refuse_a_non_positive_value_naming_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(ValueError) as raised:
        Limits.from_environ({variable: raw})

    assert str(raised.value) == f"{variable}={raw!r} must be a positive number"


def test_runtime_reads_limits_from_its_environ() -> None:
    with pytest.raises(ValueError, match="PREDICTOR_MAX_INSTANCES='none'"):
        Runtime(fixture("echo.py"), environ={"PREDICTOR_MAX_INSTANCES": "none"})


# Records each setup and teardown in a file beside it, and builds its Lambda handler at import
# the way a function's app.py does.
COUNTING_APP = """
from pathlib import Path

from pydantic import BaseModel

from predictor import Predictor, lambda_handler

CALLS = Path(__file__).with_name("calls.txt")


class Item(BaseModel):
    x: float


class Counting(Predictor[Item, Item]):
    default_artifacts = "."

    def setup(self, artifacts: Path) -> None:
        with CALLS.open("a") as calls:
            calls.write("setup\\n")

    def predict(self, batch: list[Item]) -> list[Item]:
        return batch

    def teardown(self) -> None:
        with CALLS.open("a") as calls:
            calls.write("teardown\\n")


handler = lambda_handler(Counting)
"""


def counting_app(directory: Path) -> Path:
    directory.mkdir()
    (directory / "app.py").write_text(COUNTING_APP)
    return directory


def calls(directory: Path) -> list[str]:
    return (directory / "calls.txt").read_text().splitlines()


def test_setup_runs_once_per_cold_start_when_serve_loads_a_module_with_a_handler(tmp_path: Path) -> None:
    app = counting_app(tmp_path / "counting")

    with (
        ServerProcess(app) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        for _ in range(3):
            assert client.post("/predict", json={"instances": [{"x": 1}]}).status_code == 200
        assert client.get("/health").status_code == 200
        assert calls(app) == ["setup"]

    assert calls(app).count("setup") == 1


def test_teardown_runs_when_the_local_server_stops(tmp_path: Path) -> None:
    app = counting_app(tmp_path / "counting")

    with ServerProcess(app) as server:
        assert calls(app) == ["setup"]
        server.stop()

    assert calls(app) == ["setup", "teardown"]


def test_setup_runs_once_when_the_handler_and_a_runtime_share_a_process(tmp_path: Path) -> None:
    app = counting_app(tmp_path / "counting_in_process")

    predictor_class = load_predictor_class(str(app))
    runtime = started_runtime(predictor_class)
    for _ in range(2):
        assert runtime.predict_envelope({"instances": [{"x": 2}]}, "r") == (
            200,
            {"predictions": [{"x": 2.0}]},
        )

    assert sys.modules[predictor_class.__module__].handler.runtime is runtime
    assert calls(app) == ["setup"]
