"""What template.yaml promises, and what the real `sam validate` and `sam build` make of it.

The built function is then run the way Lambda runs it: a python3.12 interpreter whose import path
holds only the function directory and the layer's python/ (Lambda's /var/task and /opt/python).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.cloudformation import (
    TEMPLATE,
    function_property,
    load_template,
    python312,
    resources_of_type,
    sam_cli,
    sam_env,
)
from support.lambda_events import JSON_HEADERS, SETOSA, http_api_v2
from support.paths import REPO
from support.s3_server import MotoServer, clean_environ

APP_ROUTES = {"POST /predict", "GET /health", "GET /metadata", "GET /docs", "GET /openapi.json"}
BUILD_TIMEOUT_S = 600
COMMAND_TIMEOUT_S = 120
# Lambda's limit on a zip function with all its layers, unzipped.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

# Runs in the built artifacts' own interpreter with no site-packages (-I -S), so an import that
# works here came from the function or the layer, exactly as on Lambda.
INVOKE_SCRIPT = """
import json, sys
function_dir, layer_dir, events_file = sys.argv[1:]
sys.path[:0] = [function_dir, layer_dir]
import app
events = json.load(open(events_file))
replies = {route: app.handler(event, None) for route, event in events.items()}
origins = {name: sys.modules[name].__file__ for name in ("app", "predictor", "onnxruntime", "pydantic_core")}
print(json.dumps({"replies": replies, "origins": origins}))
"""


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


# --------------------------------------------------------------------------------------------
# The template's structural promises
# --------------------------------------------------------------------------------------------


def test_iris_function_runs_app_handler_on_python312_x86_64(template: dict[str, Any]) -> None:
    assert function_property(template, "IrisFunction", "Handler") == "app.handler"
    assert function_property(template, "IrisFunction", "Runtime") == "python3.12"
    assert function_property(template, "IrisFunction", "Architectures") == [{"Ref": "Architecture"}]
    assert template["Parameters"]["Architecture"]["Default"] == "x86_64"
    assert function_property(template, "IrisFunction", "CodeUri") == "functions/iris/"


def test_http_api_routes_reach_every_route_the_app_serves(template: dict[str, Any]) -> None:
    routes = resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
    assert {route["Properties"]["RouteKey"] for route in routes} == APP_ROUTES
    (integration,) = resources_of_type(template, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationUri"] == {"Ref": "IrisFunction.Alias"}
    (stage,) = resources_of_type(template, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["StageName"] == "$default"


def test_every_function_logs_to_its_own_retained_log_group(template: dict[str, Any]) -> None:
    functions = resources_of_type(template, "AWS::Serverless::Function")
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert functions
    used = [function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for function in functions.values()]
    assert len(set(used)) == len(functions)
    for name in used:
        assert "RetentionInDays" in log_groups[name]["Properties"]


def test_model_uri_reaches_the_function_only_when_given(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ModelUri"]["Default"] == ""
    model_uri = template["Globals"]["Function"]["Environment"]["Variables"]["MODEL_URI"]
    condition, when_given, otherwise = model_uri["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ModelUri"}, ""]}]}
    assert when_given == {"Ref": "ModelUri"}
    assert otherwise == {"Ref": "AWS::NoValue"}


def test_every_zip_function_uses_the_runtime_layer_of_its_architecture(template: dict[str, Any]) -> None:
    for name, arch in (("RuntimeLayer", "x86_64"), ("RuntimeLayerArm64", "arm64")):
        layer = template["Resources"][name]
        assert layer["Type"] == "AWS::Serverless::LayerVersion"
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": arch}
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == [arch]
    assert template["Resources"]["RuntimeLayerArm64"]["Condition"] == "IsArm64"
    for name in resources_of_type(template, "AWS::Serverless::Function"):
        if function_property(template, name, "PackageType") != "Image":
            layers = function_property(template, name, "Layers")
            assert layers == [
                {"Fn::If": ["IsArm64", {"Ref": "RuntimeLayerArm64"}, {"Ref": "RuntimeLayer"}]}
            ], name


# --------------------------------------------------------------------------------------------
# The real aws-sam-cli
# --------------------------------------------------------------------------------------------


def run_sam(args: list[str], *, env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sam_cli(), *args],
        cwd=REPO,
        env={**env, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Build:
    python: str
    function_dir: Path
    layer_dir: Path
    template: dict[str, Any]

    @property
    def root(self) -> Path:
        return self.layer_dir.parents[1]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    python = python312()
    build_dir = tmp_path_factory.mktemp("sam-build")
    done = run_sam(
        # The whole stack on its default parameters: no step of it may need Docker.
        [
            "build",
            "--template-file",
            str(TEMPLATE),
            "--build-dir",
            str(build_dir),
            "--no-cached",
        ],
        env=sam_env(python),
        timeout=BUILD_TIMEOUT_S,
    )
    if done.returncode != 0:
        pytest.fail(f"sam build failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    built = load_template(build_dir / "template.yaml")
    return Build(
        python=python,
        function_dir=build_dir / built["Resources"]["IrisFunction"]["Properties"]["CodeUri"],
        layer_dir=build_dir / built["Resources"]["RuntimeLayer"]["Properties"]["ContentUri"] / "python",
        template=built,
    )


@pytest.mark.sam
def test_template_passes_sam_validate_lint() -> None:
    done = run_sam(
        ["validate", "--lint", "--template-file", str(TEMPLATE)], env=os.environ, timeout=COMMAND_TIMEOUT_S
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def directory_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


@pytest.mark.sam
def test_sam_build_without_docker_gives_every_function_of_the_default_stack_code_or_an_image(
    build: Build,
) -> None:
    resources = build.template["Resources"]
    functions = resources_of_type(build.template, "AWS::Serverless::Function")
    # Functions that need an image exist only in the nested stack that DigitsImageUri turns on.
    assert set(functions) == {"IrisFunction", "IrisEventsFunction"}
    for name, function in functions.items():
        properties = function["Properties"]
        if properties.get("PackageType") == "Image":
            assert properties["ImageUri"], name
        else:
            assert (build.root / properties["CodeUri"] / "app.py").is_file(), name
    nested = resources["DigitsStack"]
    assert nested["Condition"] == "CreateImageFunction"
    assert build.template["Conditions"]["CreateImageFunction"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DigitsImageUri"}, ""]}]
    }
    assert build.template["Parameters"]["DigitsImageUri"]["Default"] == ""
    built_nested = load_template(build.root / nested["Properties"]["Location"])
    digits = resources_of_type(built_nested, "AWS::Serverless::Function")
    assert digits
    for name, function in digits.items():
        assert function["Properties"]["ImageUri"] == {"Ref": "ImageUri"}, name
        assert not {"Dockerfile", "DockerContext"} & set(function.get("Metadata", {})), name


ARTIFACT_FORMATS_SCRIPT = """
import json, sys
from samcli.commands._utils.template import get_template_artifacts_format
print(json.dumps(get_template_artifacts_format(template_file=sys.argv[1])))
"""


@pytest.mark.sam
def test_sam_deploy_of_the_default_build_asks_for_no_image_repository(build: Build) -> None:
    # `sam deploy` refuses to start without --image-repositories when this lists an Image.
    done = subprocess.run(
        [
            str(Path(sam_cli()).parent / "python"),
            "-c",
            ARTIFACT_FORMATS_SCRIPT,
            str(build.root / "template.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    formats = json.loads(done.stdout)
    assert formats and set(formats) == {"Zip"}


@pytest.mark.sam
def test_sam_package_uploads_the_default_build_without_docker(build: Build, s3_server: MotoServer) -> None:
    bucket = s3_server.create_bucket()
    packaged = build.root / "packaged.yaml"
    done = run_sam(
        ["package", "--template-file", str(build.root / "template.yaml"), "--s3-bucket", bucket,
         "--output-template-file", str(packaged)],
        env=clean_environ(**s3_server.env),
        timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    resources = load_template(packaged)["Resources"]
    for name in ("IrisFunction", "IrisEventsFunction"):
        assert resources[name]["Properties"]["CodeUri"].startswith(f"s3://{bucket}/"), name
    for name in ("RuntimeLayer", "RuntimeLayerArm64"):
        assert resources[name]["Properties"]["ContentUri"].startswith(f"s3://{bucket}/"), name


@pytest.mark.sam
def test_the_function_and_its_layer_fit_lambdas_unzipped_limit(build: Build) -> None:
    layer, function = directory_bytes(build.layer_dir.parent), directory_bytes(build.function_dir)
    print(f"RuntimeLayer {layer / 2**20:.1f} MiB + IrisFunction {function / 2**20:.1f} MiB unzipped")
    assert layer + function < UNZIPPED_LIMIT_BYTES


@pytest.mark.sam
def test_sam_build_packages_app_and_embedded_model_in_the_function(build: Build) -> None:
    assert (build.function_dir / "app.py").is_file()
    assert (build.function_dir / "model" / "model.onnx").stat().st_size > 0
    assert (build.function_dir / "model" / "labels.json").is_file()


@pytest.mark.sam
def test_sam_build_puts_predictor_and_runtime_deps_in_the_layer(build: Build) -> None:
    assert (build.layer_dir / "predictor" / "__init__.py").is_file()
    for package in ("onnxruntime", "numpy", "pydantic", "fastapi", "mangum", "aws_lambda_powertools"):
        assert (build.layer_dir / package / "__init__.py").is_file(), package
    assert list((build.layer_dir / "pydantic_core").glob("_pydantic_core.cpython-312-x86_64-linux-gnu.so"))


@pytest.mark.sam
def test_every_binary_wheel_in_the_layer_targets_lambda_python312_x86_64(build: Build) -> None:
    binary_tags = []
    for wheel in build.layer_dir.glob("*.dist-info/WHEEL"):
        tags = [line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
        binary_tags += [tag for tag in tags if not tag.endswith("-any")]
    assert len(binary_tags) >= 3  # numpy, onnxruntime, pydantic_core at least
    for tag in binary_tags:
        _, abi, platform = tag.split("-")
        assert abi in {"cp312", "abi3"}, tag
        assert platform.startswith("manylinux") and platform.endswith("_x86_64"), tag


@pytest.mark.sam
def test_the_arm64_layer_holds_the_same_packages_built_for_aarch64(build: Build) -> None:
    resources = build.template["Resources"]
    arm = build.root / resources["RuntimeLayerArm64"]["Properties"]["ContentUri"] / "python"
    assert {p.name for p in arm.glob("*.dist-info")} == {p.name for p in build.layer_dir.glob("*.dist-info")}
    assert list((arm / "pydantic_core").glob("_pydantic_core.cpython-312-aarch64-linux-gnu.so"))
    for wheel in arm.glob("*.dist-info/WHEEL"):
        for line in wheel.read_text().splitlines():
            if line.startswith("Tag: ") and not line.endswith("-any"):
                assert line.endswith("_aarch64"), (wheel, line)


@pytest.mark.sam
def test_layer_ships_bytecode_that_zip_timestamps_cannot_invalidate(build: Build) -> None:
    # PEP 552 header flags: 0b01 hash-based, 0b10 check the source. Timestamp-based .pyc files
    # would be stale once `sam package` dates every file 1980, and /opt is read-only.
    sources = list((build.layer_dir / "predictor").rglob("*.py"))
    compiled = list(build.layer_dir.rglob("*.cpython-312.pyc"))
    assert len(compiled) > len(sources) > 0
    flags = {pyc: int.from_bytes(pyc.read_bytes()[4:8], "little") for pyc in compiled}
    assert {pyc: flag for pyc, flag in flags.items() if flag != 0b01} == {}
    for source in sources:
        assert (source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc").is_file(), source


@pytest.mark.sam
def test_built_function_answers_every_route_with_only_the_layer_on_python312(
    build: Build, tmp_path: Path
) -> None:
    body = json.dumps({"instances": [SETOSA]})
    events = {route: http_api_v2(*route.split(" ")) for route in APP_ROUTES}
    events["POST /predict"] = http_api_v2("POST", "/predict", headers=JSON_HEADERS, body=body)
    for route, event in events.items():
        event["routeKey"] = event["requestContext"]["routeKey"] = route
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps(events))

    done = subprocess.run(
        [
            build.python,
            "-I",
            "-S",
            "-c",
            INVOKE_SCRIPT,
            *map(str, (build.function_dir, build.layer_dir, events_file)),
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    for name, origin in result["origins"].items():
        expected = build.function_dir if name == "app" else build.layer_dir
        assert Path(origin).is_relative_to(expected), (name, origin)
    replies = result["replies"]
    assert {route: reply["statusCode"] for route, reply in replies.items()} == dict.fromkeys(APP_ROUTES, 200)
    (prediction,) = json.loads(replies["POST /predict"]["body"])["predictions"]
    assert prediction["label"] == "setosa"
