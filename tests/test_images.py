"""The container images, read from their Dockerfiles, and their exact entry command run outside Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from support.cloudformation import load_template
from support.dockerfile import Dockerfile
from support.fresh_python import PREDICTOR_CLI
from support.paths import REPO
from support.processes import HOST, free_port
from support.server_process import ServerProcess
from support.training import OptMl

SAGEMAKER_IMAGES = {
    "cpu": REPO / "container" / "sagemaker-cpu.Dockerfile",
    "gpu": REPO / "container" / "sagemaker-gpu.Dockerfile",
}
LAMBDA_IMAGE = REPO / "functions" / "digits" / "Dockerfile"
ACCEPT_BIND = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
MULTI_MODELS = "com.amazonaws.sagemaker.capabilities.multi-models"
# Multi-model endpoints take images of one's own on CPU instances only (shared/contracts, 1.1).
LABELS = {"cpu": {ACCEPT_BIND: "true", MULTI_MODELS: "true"}, "gpu": {ACCEPT_BIND: "true"}}
# Small enough to train in seconds: the digits image's default network takes minutes.
QUICK_HYPERPARAMETERS = {"functions/iris": {}, "functions/digits": {"hidden": "[16]", "epochs": "3"}}


@pytest.mark.parametrize("kind", sorted(SAGEMAKER_IMAGES))
def test_sagemaker_images_answer_docker_run_image_serve_on_8080(kind: str) -> None:
    image = Dockerfile.read(SAGEMAKER_IMAGES[kind])
    assert image.exec_form("ENTRYPOINT") == ["predictor"]
    assert image.exec_form("CMD") == ["serve"]
    assert image.pairs("LABEL") == LABELS[kind]
    assert image.all("EXPOSE") == ["8080"]
    env = image.env()
    assert (env["PREDICTOR_HOST"], env["PREDICTOR_PORT"], env["PREDICTOR_FUNCTION"]) == (
        "0.0.0.0",
        "8080",
        "/opt/program",
    )


@pytest.mark.parametrize("kind", sorted(SAGEMAKER_IMAGES))
def test_sagemaker_images_serve_as_a_non_root_user(kind: str) -> None:
    image = Dockerfile.read(SAGEMAKER_IMAGES[kind])
    assert image.last("USER") == "predictor"
    assert any("useradd --system" in run and "predictor" in run for run in image.all("RUN"))
    # USER comes after every RUN: nothing installs as the serving user, nothing serves as root.
    keywords = [keyword for keyword, _ in image.instructions]
    assert keywords.index("USER") > max(i for i, keyword in enumerate(keywords) if keyword == "RUN")


def test_cpu_image_builds_on_python_and_the_gpu_image_on_cuda_with_cudnn() -> None:
    cpu = Dockerfile.read(SAGEMAKER_IMAGES["cpu"])
    gpu = Dockerfile.read(SAGEMAKER_IMAGES["gpu"])
    assert cpu.all("FROM") == ["python:3.12-slim"]
    (gpu_base,) = gpu.all("FROM")
    assert gpu_base.startswith("nvidia/cuda:12.") and "-cudnn-runtime-" in gpu_base
    gpu_installs = " ".join(gpu.all("RUN"))
    # The CPU wheel would shadow the GPU one: the GPU lock holds onnxruntime-gpu alone
    # (test_locks.py), the package comes without dependencies, and a function's own line is dropped.
    assert "requirements/image-gpu.txt /tmp/predictor/requirements.txt" in gpu.all("COPY")
    assert "pip install --no-deps /tmp/predictor" in gpu_installs
    assert "grep -viE '^onnxruntime" in gpu_installs


def test_every_file_the_images_copy_exists_in_the_build_context() -> None:
    for path in [*SAGEMAKER_IMAGES.values(), LAMBDA_IMAGE]:
        image = Dockerfile.read(path)
        args = image.pairs("ARG")
        for copy in image.all("COPY"):
            *sources, _ = copy.split()
            for source in sources:
                source = source.replace("${FUNCTION}", args.get("FUNCTION", ""))
                assert (REPO / source).exists(), f"{path.name}: COPY {source}"


def test_lambda_image_runs_app_handler_on_the_lambda_python_base() -> None:
    image = Dockerfile.read(LAMBDA_IMAGE)
    assert image.all("FROM") == ["public.ecr.aws/lambda/python:3.12"]
    assert image.exec_form("CMD") == ["app.handler"]
    # The base image's own entry point (the runtime interface client) must stay.
    assert image.all("ENTRYPOINT") == []


def test_the_nested_stack_runs_the_lambda_image_the_functions_dockerfile_builds() -> None:
    nested = load_template(REPO / "template.yaml")["Resources"]["DigitsStack"]["Properties"]
    stack = load_template(REPO / nested["Location"])
    digits = stack["Resources"]["DigitsFunction"]
    properties = digits["Properties"]
    assert properties["PackageType"] == "Image"
    assert not {"Runtime", "Handler", "Layers", "CodeUri"} & set(properties)
    # The image is built and pushed beforehand, so neither sam build nor sam deploy needs Docker.
    assert properties["ImageUri"] == {"Ref": "ImageUri"}
    assert nested["Parameters"]["ImageUri"] == {"Ref": "DigitsImageUri"}
    assert str(LAMBDA_IMAGE.relative_to(REPO)) in stack["Parameters"]["ImageUri"]["Description"]
    assert properties["ImageConfig"]["Command"] == Dockerfile.read(LAMBDA_IMAGE).exec_form("CMD")


@pytest.mark.parametrize("kind", sorted(SAGEMAKER_IMAGES))
def test_the_image_entry_command_serves_with_the_images_environment(kind: str, tmp_path: Path) -> None:
    image = Dockerfile.read(SAGEMAKER_IMAGES[kind])
    function = image.pairs("ARG")["FUNCTION"]
    program = tmp_path / "program"
    shutil.copytree(REPO / function, program)  # what COPY ${FUNCTION} /opt/program does
    port = free_port()
    env = {
        name: value.replace("${PATH}", os.environ["PATH"])
        for name, value in image.env().items()
        if name != "PATH"
    }
    # Only what Docker would change here: the program's path, and the port SageMaker may assign.
    env.update(PREDICTOR_FUNCTION=str(program), SAGEMAKER_BIND_TO_PORT=str(port))
    server = ServerProcess(function, env, cwd=program)
    server.command = [str(PREDICTOR_CLI.parent / image.exec_form("ENTRYPOINT")[0]), *image.exec_form("CMD")]
    server.port, server.url = port, f"http://{HOST}:{port}"
    with server, httpx.Client(base_url=server.url, trust_env=False) as client:
        assert client.get("/ping").status_code == 200
        assert client.get("/execution-parameters").status_code == 200
    assert f"Uvicorn running on http://0.0.0.0:{port}" in server.output()


@pytest.mark.parametrize("kind", sorted(SAGEMAKER_IMAGES))
def test_docker_run_image_train_trains_the_images_function_with_the_images_environment(
    kind: str, tmp_path: Path
) -> None:
    image = Dockerfile.read(SAGEMAKER_IMAGES[kind])
    function = image.pairs("ARG")["FUNCTION"]
    program = tmp_path / "program"
    shutil.copytree(REPO / function, program)
    opt_ml = OptMl(tmp_path / "opt" / "ml")
    opt_ml.write_config(QUICK_HYPERPARAMETERS[function], {})
    env = {name: value for name, value in image.env().items() if name != "PATH"}
    env.update(opt_ml.environ(PREDICTOR_FUNCTION=str(program)))
    # What `docker run IMAGE train` runs: the ENTRYPOINT with `train` in CMD's place.
    command = [str(PREDICTOR_CLI.parent / image.exec_form("ENTRYPOINT")[0]), "train"]

    finished = subprocess.run(command, cwd=program, env=env, capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stderr
    assert (opt_ml.model / "model.onnx").stat().st_size > 0
    assert not opt_ml.failure.exists()
