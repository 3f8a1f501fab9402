"""A new user holding only the wheel: pip install, predictor init, the project's tests, a served
request, predictor invoke on each sample event and a clean predictor check, all in a virtualenv
outside this repository that has never seen its path."""

from __future__ import annotations

import json
import zipfile
from email.parser import Parser
from pathlib import Path

import httpx
import pytest
from support.fresh_install import FreshInstall
from support.paths import REPO
from support.s3_server import MotoServer
from support.server_process import ServerProcess

from predictor._version import __version__

HTTP_EVENTS = {
    "alb-multi-value.json",
    "alb.json",
    "function-url.json",
    "http-api-v1.json",
    "http-api-v2.json",
    "rest-api.json",
}
EXAMPLE = {"length": 4.1, "width": 1.3}


@pytest.fixture(scope="module")
def project(fresh: FreshInstall, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fresh.init(tmp_path_factory.mktemp("work"))


def test_the_wheel_carries_the_predictor_package_alone_with_its_data_and_metadata(
    fresh: FreshInstall,
) -> None:
    names = zipfile.ZipFile(fresh.wheel).namelist()
    outside = {name.split("/")[0] for name in names if not name.startswith("predictor/")}
    assert outside == {f"serverless_predictor-{__version__}.dist-info"}
    assert {"predictor/py.typed", "predictor/scaffold/files/template.yaml"} <= set(names)
    assert "predictor/testing/aws_samples/http-api-proxy.json" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    with zipfile.ZipFile(fresh.wheel) as wheel:
        metadata = Parser().parsestr(
            wheel.read(f"serverless_predictor-{__version__}.dist-info/METADATA").decode()
        )
    assert metadata["Version"] == __version__
    assert {"serve", "onnx", "gpu"} <= set(metadata.get_all("Provides-Extra") or [])
    assert any(url.startswith("Changelog, ") for url in metadata.get_all("Project-URL") or [])
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])


def test_the_installed_command_reports_the_one_version(fresh: FreshInstall, tmp_path: Path) -> None:
    done = fresh.run([str(fresh.bin / "predictor"), "--version"], tmp_path)
    assert done.stdout == f"predictor {__version__}\n"
    imported = fresh.run(
        [str(fresh.bin / "python"), "-c", "import predictor; print(predictor.__file__)"], tmp_path
    )
    assert imported.stdout.startswith(str(fresh.venv)), "the package must come from the virtualenv"


def test_init_lists_what_it_wrote_and_names_only_the_released_package(
    fresh: FreshInstall, tmp_path: Path
) -> None:
    done = fresh.run([str(fresh.bin / "predictor"), "init", "first-model"], tmp_path)
    assert done.returncode == 0, done.stderr
    project = tmp_path / "first-model"
    listed = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert sorted(listed[: len(written)]) == written
    assert {"app.py", "model/model.json", "template.yaml", "samconfig.toml", "Makefile"} <= set(written)
    assert "train.py" not in written, "app.py's own train entry makes the model"
    assert {f"events/{name}" for name in HTTP_EVENTS} <= set(written)
    assert (project / "layer" / "requirements.txt").read_text().count(
        f"serverless-predictor=={__version__}\n"
    ) == 1
    assert 'stack_name = "first-model"' in (project / "samconfig.toml").read_text()
    for path in project.rglob("*"):
        if path.is_file():
            assert str(REPO) not in path.read_text(), f"{path} names this repository"


def test_init_refuses_a_directory_that_holds_files_unless_forced(fresh: FreshInstall, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine\n")
    refused = fresh.run([str(fresh.bin / "predictor"), "init", "taken"], tmp_path)
    assert refused.returncode == 2
    assert "taken is not empty; name a new directory, or add --force" in refused.stderr
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]
    forced = fresh.run([str(fresh.bin / "predictor"), "init", "taken", "--force"], tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "taken" / "app.py").is_file()


def test_the_generated_tests_pass_with_make_test(fresh: FreshInstall, project: Path) -> None:
    done = fresh.run(["make", "test"], project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ran 7 tests" in done.stderr
    assert "OK" in done.stderr


def test_make_train_runs_predictor_train_and_rebuilds_the_model_init_made(
    fresh: FreshInstall, project: Path
) -> None:
    made = (project / "model" / "model.json").read_text()
    (project / "model" / "model.json").unlink()
    done = fresh.run(["make", "train"], project)
    assert done.returncode == 0, done.stderr
    assert "predictor train . --model-dir model" in done.stdout
    assert "training accuracy 0.9" in done.stdout or "training accuracy 1.000" in done.stdout
    assert "predictor train: trained; the model is in model" in done.stderr
    assert (project / "model" / "model.json").read_text() == made


def test_the_served_project_answers_the_schema_example_over_a_socket(
    fresh: FreshInstall, project: Path
) -> None:
    with ServerProcess(".", fresh.env, cwd=project, cli=fresh.bin / "predictor") as server:
        answer = httpx.post(f"{server.url}/predict", json={"instances": [EXAMPLE]}, trust_env=False)
        docs = httpx.get(f"{server.url}/openapi.json", trust_env=False).json()
    assert answer.status_code == 200
    assert answer.json()["predictions"][0]["label"] == "medium"
    assert docs["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["example"] == {
        "instances": [EXAMPLE]
    }


@pytest.mark.parametrize("name", sorted(HTTP_EVENTS))
def test_predictor_invoke_answers_each_http_event_with_a_prediction(
    fresh: FreshInstall, project: Path, name: str
) -> None:
    done = fresh.run([str(fresh.bin / "predictor"), "invoke", ".", f"events/{name}"], project)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["predictions"][0]["label"] == "medium"


def test_predictor_invoke_answers_the_direct_sqs_and_s3_events_against_s3(
    fresh: FreshInstall, project: Path, s3_server: MotoServer
) -> None:
    s3 = s3_server.s3()
    results = s3_server.create_bucket(prefix="results")
    s3.create_bucket(Bucket="my-input-bucket")
    s3.put_object(
        Bucket="my-input-bucket", Key="input/example.jsonl", Body=json.dumps(EXAMPLE).encode() + b"\n"
    )
    env = {**s3_server.env, "AWS_ENDPOINT_URL": s3_server.endpoint_url, "OUTPUT_URI": f"s3://{results}/out/"}
    invoke = [str(fresh.bin / "predictor"), "invoke", "."]

    direct = fresh.run([*invoke, "events/direct-invoke.json"], project, env=env)
    assert json.loads(direct.stdout)["predictions"][0]["label"] == "medium", direct.stderr
    sqs = fresh.run([*invoke, "events/sqs.json"], project, env=env)
    assert json.loads(sqs.stdout) == {"batchItemFailures": []}, sqs.stderr
    s3_file = fresh.run([*invoke, "events/s3-put.json"], project, env=env)
    assert s3_file.returncode == 0, s3_file.stderr
    out = s3.get_object(Bucket=results, Key="out/input/example.jsonl.out")["Body"].read()
    assert json.loads(out)["prediction"]["label"] == "medium"


def test_predictor_check_passes_the_generated_project(fresh: FreshInstall, project: Path) -> None:
    done = fresh.run([str(fresh.bin / "predictor"), "check", "."], project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "WARN" not in done.stdout
    assert done.stdout.rstrip().endswith("ready to deploy")
