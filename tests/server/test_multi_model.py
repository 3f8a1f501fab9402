"""SageMaker's multi-model contract over a socket against `predictor serve` with
SAGEMAKER_MULTI_MODEL=true: load, list a page at a time, describe, invoke, unload, and the
409, 404 and 507 answers, each model set up from its own artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.emf import is_emf, merged, metrics_of, value
from support.fresh_python import run_cli
from support.multi_model import model_dir, multi_model_server, predictions
from support.paths import FIXTURES
from support.s3_server import clean_environ

MIB = 1024 * 1024


def test_ping_answers_ready_with_no_model_loaded(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        answer = mme.client.get("/ping")

    assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


def test_a_loaded_model_is_described_and_answers_its_invocations(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m1", factor=2)
    with multi_model_server(tmp_path) as mme:
        loaded = mme.load("m1", url)
        described = mme.client.get("/models/m1")
        invoked = mme.invoke("m1", x=1.5)

    assert loaded.status_code == 200, loaded.text
    assert described.json() == {"modelName": "m1", "modelUrl": url, "status": "ready"}
    assert predictions(invoked) == [3.0]


def test_two_models_with_different_artifacts_answer_the_same_request_differently(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        assert mme.load("doubles", model_dir(tmp_path, "doubles", factor=2)).status_code == 200
        assert mme.load("triples", model_dir(tmp_path, "triples", factor=3)).status_code == 200

        assert predictions(mme.invoke("doubles", x=5)) == [10.0]
        assert predictions(mme.invoke("triples", x=5)) == [15.0]


def test_loading_a_loaded_name_again_is_409_and_sets_nothing_up(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=2)
    with multi_model_server(tmp_path) as mme:
        first = mme.load("m", url)
        again = mme.load("m", model_dir(tmp_path, "other", factor=9))
        invoked = mme.invoke("m", x=1)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["detail"] == "Model 'm' is already loaded"
    assert predictions(invoked) == [2.0]
    assert mme.setups() == [url]


def test_the_list_pages_through_every_model_sorted_by_name(tmp_path: Path) -> None:
    names = ["e", "c", "a", "d", "b"]
    with multi_model_server(tmp_path) as mme:
        for name in names:
            assert mme.load(name, model_dir(tmp_path, name, factor=1)).status_code == 200
        pages = [mme.client.get("/models", params={"limit": 2}).json()]
        while "nextPageToken" in pages[-1]:
            token = pages[-1]["nextPageToken"]
            pages.append(mme.client.get("/models", params={"limit": 2, "next_page_token": token}).json())
        everything = mme.client.get("/models").json()

    assert [[model["modelName"] for model in page["models"]] for page in pages] == [
        ["a", "b"],
        ["c", "d"],
        ["e"],
    ]
    assert everything == {
        "models": [{"modelName": name, "modelUrl": model_dir(tmp_path, name)} for name in sorted(names)]
    }


def test_a_page_token_that_is_not_a_number_is_400_saying_what_to_send(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        answer = mme.client.get("/models", params={"next_page_token": "../etc"})

    assert answer.status_code == 400
    assert "pass back the nextPageToken" in answer.json()["detail"]


def test_an_unknown_model_is_404_to_describe_invoke_and_unload(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        answers = [
            mme.client.get("/models/nope"),
            mme.invoke("nope"),
            mme.client.delete("/models/nope"),
        ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert {answer.json()["detail"] for answer in answers} == {
        "Model 'nope' is not loaded; load it with POST /models"
    }


def test_an_unloaded_model_is_torn_down_and_gone_from_every_route(tmp_path: Path) -> None:
    url = model_dir(tmp_path, "m", factor=2)
    with multi_model_server(tmp_path) as mme:
        mme.load("m", url)
        unloaded = mme.client.delete("/models/m")
        after = [mme.client.get("/models/m").status_code, mme.invoke("m").status_code]
        listed = mme.client.get("/models").json()
        reloaded = mme.load("m", url)

    assert unloaded.status_code == 200, unloaded.text
    assert after == [404, 404]
    assert listed == {"models": []}
    assert reloaded.status_code == 200
    assert mme.setup_lines() == [url, f"teardown {url}", url, f"teardown {url}"]


def test_invoke_answers_as_invocations_does_for_every_body_and_error(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        mme.load("m", model_dir(tmp_path, "m", factor=2))
        csv = mme.client.post(
            "/models/m/invoke",
            content=b"x,name\n1,a\n2.5,b\n",
            headers={"content-type": "text/csv", "accept": "text/csv"},
        )
        json_lines = mme.client.post(
            "/models/m/invoke",
            content=b'{"x": 1, "name": "a"}\n{"x": 2, "name": "b"}\n',
            headers={"content-type": "application/jsonlines", "accept": "application/jsonlines"},
        )
        invalid = mme.client.post("/models/m/invoke", json={"instances": [{"x": 1, "name": "a"}, {"x": -1}]})
        unsupported = mme.client.post("/models/m/invoke", content=b"x", headers={"content-type": "image/gif"})

    assert (csv.status_code, csv.headers["content-type"], csv.text) == (200, "text/csv", "a,2.0\nb,5.0\n")
    assert [json.loads(line)["doubled"] for line in json_lines.text.splitlines()] == [2.0, 4.0]
    assert invalid.status_code == 422
    assert {tuple(error["loc"]) for error in invalid.json()["errors"]} == {
        ("instances", 1, "x"),
        ("instances", 1, "name"),
    }
    assert unsupported.status_code == 415


def test_a_load_past_the_memory_budget_is_507_and_leaves_nothing_loaded(tmp_path: Path) -> None:
    with multi_model_server(tmp_path, PREDICTOR_MEMORY_BUDGET_BYTES=str(200 * MIB)) as mme:
        heavy = mme.load("heavy", model_dir(tmp_path, "heavy", factor=2, ballast_mib=300))
        described = mme.client.get("/models/heavy")
        light = mme.load("light", model_dir(tmp_path, "light", factor=2))
        resident = mme.resident_bytes()

    assert heavy.status_code == 507, heavy.text
    assert "over its memory budget of 200 MiB; unload a model first" in heavy.json()["detail"]
    assert described.status_code == 404
    assert light.status_code == 200
    assert resident < 200 * MIB  # the refused model's memory went back


def test_a_load_once_the_server_is_over_its_budget_is_507_before_any_setup(tmp_path: Path) -> None:
    with multi_model_server(tmp_path, PREDICTOR_MEMORY_BUDGET_BYTES=str(1 * MIB)) as mme:
        refused = mme.load("m", model_dir(tmp_path, "m", factor=2))

    assert refused.status_code == 507
    assert "before loading it" in refused.json()["detail"]
    assert mme.setup_lines() == []


def test_memory_error_in_setup_is_507(tmp_path: Path) -> None:
    with multi_model_server(tmp_path, FIXTURES / "memory_error_in_setup.py") as mme:
        refused = mme.load("m", model_dir(tmp_path, "m"))

    assert refused.status_code == 507
    assert refused.json()["detail"] == "Model 'm' ran out of memory in setup; unload a model first"


def test_a_model_whose_setup_fails_is_500_naming_why_and_can_be_loaded_again(tmp_path: Path) -> None:
    missing = str(tmp_path / "models" / "absent" / "model")
    with multi_model_server(tmp_path) as mme:
        failed = mme.load("m", missing)
        described = mme.client.get("/models/m")
        retried = mme.load("m", model_dir(tmp_path, "m", factor=2))

    assert failed.status_code == 500
    assert failed.json()["detail"].startswith("Model 'm' could not be loaded: setup failed: ArtifactsError")
    assert missing in failed.json()["detail"]
    assert described.status_code == 404
    assert retried.status_code == 200


def test_names_are_opaque_keys_and_the_target_model_header_is_only_logged(tmp_path: Path) -> None:
    name = "../../etc/passwd"
    with multi_model_server(tmp_path) as mme:
        loaded = mme.load(name, model_dir(tmp_path, "m", factor=4))
        # The name travels percent-encoded as one path segment.
        invoked = mme.client.post(
            "/models/..%2F..%2Fetc%2Fpasswd/invoke",
            json={"instances": [{"x": 1, "name": "n"}]},
            headers={"X-Amzn-SageMaker-Target-Model": "../other/model.tar.gz"},
        )
        listed = mme.client.get("/models").json()["models"]

    assert loaded.status_code == 200
    assert predictions(invoked) == [4.0]
    assert [model["modelName"] for model in listed] == [name]
    log = [json.loads(line) for line in mme.server.output().splitlines() if "target_model" in line]
    assert [(entry["model"], entry["target_model"]) for entry in log] == [(name, "../other/model.tar.gz")]


def test_invocations_says_where_to_invoke_and_other_paths_list_the_routes(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        invocations = mme.client.post("/invocations", json={"instances": []})
        elsewhere = mme.client.get("/predict")
        wrong_method = mme.client.put("/models")

    assert invocations.status_code == 404
    assert "invoke one with POST /models/{name}/invoke" in invocations.json()["detail"]
    assert elsewhere.status_code == 404 and "POST /models/{name}/invoke" in elsewhere.json()["detail"]
    assert wrong_method.status_code == 405


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b'{"model_name": "m"}', 422),
        (b'["m", "/x"]', 422),
        (b'{"model_name": "m", "url": 7}', 422),
        (b'{"model_name": "' + b"n" * 1_000_000 + b'", "url": "/x"}', 422),
        (b'{"model_name": "m", "url": "/' + b"u" * 5000 + b'"}', 422),
    ],
)
def test_a_load_request_without_a_name_and_url_is_refused_naming_the_fields(
    tmp_path: Path, body: bytes, status: int
) -> None:
    with multi_model_server(tmp_path) as mme:
        answer = mme.client.post("/models", content=body, headers={"content-type": "application/json"})

    assert answer.status_code == status
    assert answer.json()["detail"] == 'send {"model_name": "...", "url": "/opt/ml/models/.../model"} as JSON'
    assert len(answer.content) < 2000  # what was sent is never echoed back whole


def test_a_multi_model_switch_that_is_neither_on_nor_off_stops_the_server() -> None:
    env = clean_environ(SAGEMAKER_MULTI_MODEL="ture")

    finished = run_cli("serve", str(FIXTURES / "from_artifacts.py"), env=env)

    assert finished.returncode != 0
    assert "SAGEMAKER_MULTI_MODEL='ture' is neither on nor off" in finished.stderr


def test_multi_model_serving_refuses_several_worker_processes() -> None:
    env = clean_environ(SAGEMAKER_MULTI_MODEL="true", SAGEMAKER_MODEL_SERVER_WORKERS="2")

    finished = run_cli("serve", str(FIXTURES / "from_artifacts.py"), env=env)

    assert finished.returncode == 2
    assert "SAGEMAKER_MULTI_MODEL=true serves every model from one process" in finished.stderr


def test_an_invoke_is_named_and_observed_as_invocations_is(tmp_path: Path) -> None:
    with multi_model_server(tmp_path) as mme:
        mme.load("m1", model_dir(tmp_path, "m1", factor=2))
        invoked = mme.invoke("m1", x=1.5, **{"x-request-id": "mme-7"})
        unloaded = mme.client.delete("/models/m1")  # its teardown writes the metrics it gathered
        output = mme.server.output().splitlines()

    mine = [line for line in output if '"request_id":"mme-7"' in line]
    assert unloaded.status_code == 200
    assert predictions(invoked) == [3.0]
    assert invoked.headers["x-request-id"] == "mme-7"
    assert "x-model-version" in invoked.headers
    assert value(merged(metrics_of(output)), "Instances") == [1]
    [logged] = [json.loads(line) for line in mine if not is_emf(line)]
    assert (logged["source"], logged["status"], logged["instances"]) == ("server", 200, 1)
    assert (logged["method"], logged["path"]) == ("POST", "/models/m1/invoke")
