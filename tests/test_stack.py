"""The production stack as CloudFormation sees it, for the parameter combinations that matter.

aws-sam-translator (the SAM transform CloudFormation runs, from the aws-sam-cli virtualenv)
expands template.yaml; the Conditions are then evaluated on the parameters and what they turn
off is removed, so each check reads the resources one `sam deploy` with those parameters creates.
checkov and cfn-lint run on the templates as written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.cloudformation import TEMPLATE, load_template, sam_cli
from support.paths import REPO

DIGITS = REPO / "stacks" / "digits.yaml"
COMMAND_TIMEOUT_S = 300
PSEUDO = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "predictor",
    "AWS::URLSuffix": "amazonaws.com",
}
JWT = {"ApiAuth": "JWT", "JwtIssuer": "https://issuer.example.com", "JwtAudience": "client-id"}
SAGEMAKER = {
    "SageMakerImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/iris:1",
    "SageMakerModelBucket": "models",
    "SageMakerModelKey": "iris/model.tar.gz",
}
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "jwt": JWT,
    "no-auth": {"ApiAuth": "NONE"},
    "arm64-snapstart-cors": {
        "Architecture": "arm64",
        "SnapStart": "true",
        "CorsOrigins": "https://a.example",
    },
    "provisioned-unreserved": {"ProvisionedConcurrency": "2", "ReservedConcurrency": "-1"},
    "image-function": {"DigitsImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/digits:1"},
    "sagemaker-realtime": {**SAGEMAKER, "SageMakerVariant": "realtime"},
    "sagemaker-serverless": {**SAGEMAKER, "SageMakerVariant": "serverless"},
    "sagemaker-async": {**SAGEMAKER, "SageMakerVariant": "async"},
    "sagemaker-multimodel": {
        **SAGEMAKER,
        "SageMakerModelKey": "iris/",
        "SageMakerVariant": "multimodel",
        "SageMakerInstanceType": "ml.m5.large",
    },
}
# The services whose actions must always name their resources.
SCOPED_SERVICES = ("s3", "sqs", "sagemaker", "states")

TRANSFORM_SCRIPT = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class Policies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
# What `sam package` does first: local paths become the S3 objects it uploads them to.
uploaded = {"CodeUri": "s3://artifacts/code.zip", "ContentUri": "s3://artifacts/layer.zip",
            "Location": "https://s3.amazonaws.com/artifacts/stack.yaml"}
for resource in template["Resources"].values():
    for key, uri in uploaded.items():
        if isinstance(resource.get("Properties", {}).get(key), str):
            resource["Properties"][key] = uri
print(json.dumps(transform(template, json.loads(sys.argv[2]), Policies())))
"""


def sam_python() -> str:
    """The interpreter of the aws-sam-cli virtualenv, which holds aws-sam-translator."""
    python = Path(sam_cli()).parent / "python"
    if not python.exists():
        pytest.fail(f"no python beside {sam_cli()}: run `make sam`", pytrace=False)
    return str(python)


def transformed(template: Path, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The template after the SAM transform, with the Conditions false for `parameters` removed."""
    raw = load_template(template)
    values = {name: spec.get("Default") for name, spec in raw.get("Parameters", {}).items()}
    values.update(parameters)
    for name, spec in raw.get("Parameters", {}).items():
        if spec["Type"] == "CommaDelimitedList" and isinstance(values[name], str):
            values[name] = values[name].split(",")
        if spec["Type"] == "Number":
            values[name] = int(values[name])
    values.update(PSEUDO)
    done = subprocess.run(
        [sam_python(), "-c", TRANSFORM_SCRIPT, str(template), json.dumps(values)],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
        # The translator asks boto for the region the pseudo parameters name; no call is made.
        env={**os.environ, "AWS_DEFAULT_REGION": PSEUDO["AWS::Region"]},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    cfn: dict[str, Any] = json.loads(done.stdout)
    return Resolver(cfn, values).template()


class Resolver:
    """Evaluates Conditions and Fn::If on known parameter values, as CloudFormation would."""

    def __init__(self, template: dict[str, Any], values: Mapping[str, Any]) -> None:
        self.raw, self.values = template, values
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = self.evaluate(self.raw["Conditions"][name])
        return self.conditions[name]

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref" and arg in self.values:
                return self.values[arg]
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (self.evaluate(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.evaluate(arg[0])
            if key == "Fn::And":
                return all(self.evaluate(a) for a in arg)
            if key == "Fn::Or":
                return any(self.evaluate(a) for a in arg)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(i) for i in self.evaluate(items))
        return node

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in self.values:
            return self.values[node["Ref"]]
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return self.resolve(yes if self.condition(name) else no)
            out = {}
            for key, value in node.items():
                value = self.resolve(value)
                if value != {"Ref": "AWS::NoValue"}:
                    out[key] = value
            return out
        if isinstance(node, list):
            return [v for v in (self.resolve(v) for v in node) if v != {"Ref": "AWS::NoValue"}]
        return node

    def template(self) -> dict[str, Any]:
        kept = {
            name: resource
            for name, resource in self.raw["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }
        outputs = {
            name: output
            for name, output in self.raw.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }
        return {"Resources": self.resolve(kept), "Outputs": self.resolve(outputs)}


def of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def statements(template: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                yield name, statement


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module", params=sorted(COMBINATIONS))
def stack(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    name: str = request.param
    return name, transformed(TEMPLATE, COMBINATIONS[name])


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    return transformed(
        DIGITS, {"ImageUri": "i", "AlarmTopicArn": "t", "AsyncFailureQueueArn": "q", "ServiceName": "s"}
    )


@pytest.mark.sam
def test_every_route_has_an_authorizer_unless_api_auth_is_none(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    routes = of_type(template, "AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == {
        "POST /predict", "GET /health", "GET /metadata", "GET /docs", "GET /openapi.json",
    }  # fmt: skip
    expected = {"jwt": "JWT", "no-auth": "NONE"}.get(name, "AWS_IAM")
    for route in routes.values():
        assert route["Properties"]["AuthorizationType"] == expected, route
        assert ("AuthorizerId" in route["Properties"]) == (expected == "JWT")
    authorizers = of_type(template, "AWS::ApiGatewayV2::Authorizer")
    if expected == "JWT":
        ((_, authorizer),) = authorizers.items()
        assert authorizer["Properties"]["JwtConfiguration"] == {
            "Issuer": JWT["JwtIssuer"], "Audience": [JWT["JwtAudience"]],
        }  # fmt: skip
    else:
        assert authorizers == {}


@pytest.mark.sam
def test_the_api_is_throttled_and_access_logged_to_its_own_retained_log_group(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    ((_, stage),) = of_type(template, "AWS::ApiGatewayV2::Stage").items()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    destination = stage["Properties"]["AccessLogSettings"]["DestinationArn"]
    assert destination == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert template["Resources"]["ApiAccessLogGroup"]["Properties"]["RetentionInDays"]


@pytest.mark.sam
def test_every_function_has_an_alias_and_a_deployment_that_alarms_roll_back(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    functions = of_type(template, "AWS::Lambda::Function")
    aliases = of_type(template, "AWS::Lambda::Alias")
    groups = of_type(template, "AWS::CodeDeploy::DeploymentGroup")
    assert set(functions) == {"IrisFunction", "IrisEventsFunction"}
    for function in functions:
        (alias,) = [a for a in aliases.values() if a["Properties"]["FunctionName"] == {"Ref": function}]
        assert alias["Properties"]["Name"] == "live"
        group = groups[f"{function}DeploymentGroup"]["Properties"]
        assert group["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == "Canary10Percent5Minutes"
        alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
        assert alarms == {
            f"{function.removesuffix('Function')}{k}Alarm" for k in ("Errors", "Throttles", "Latency")
        }
        assert group["AlarmConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        assert functions[function]["Properties"]["DeadLetterConfig"]["TargetArn"]


@pytest.mark.sam
def test_the_image_function_alias_and_deployment(digits: dict[str, Any]) -> None:
    ((name, function),) = of_type(digits, "AWS::Lambda::Function").items()
    assert function["Properties"]["PackageType"] == "Image"
    group = digits["Resources"][f"{name}DeploymentGroup"]["Properties"]
    assert len(group["AlarmConfiguration"]["Alarms"]) == 3
    ((_, url),) = of_type(digits, "AWS::Lambda::Url").items()
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    assert url["Properties"]["TargetFunctionArn"] == {"Ref": f"{name}Aliaslive"}


@pytest.mark.sam
def test_optional_function_settings_follow_their_parameters(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    iris = template["Resources"]["IrisFunction"]["Properties"]
    assert iris["TracingConfig"] == {"Mode": "Active"}
    assert ("SnapStart" in iris) == (name == "arm64-snapstart-cors")
    arch = "arm64" if name == "arm64-snapstart-cors" else "x86_64"
    assert iris["Architectures"] == [arch]
    layer = "RuntimeLayerArm64" if arch == "arm64" else "RuntimeLayer"
    (layer_name,) = [n for n in of_type(template, "AWS::Lambda::LayerVersion") if n.startswith(layer)]
    assert iris["Layers"] == [{"Ref": layer_name}]
    layer_version = template["Resources"][layer_name]
    assert layer_version["Properties"]["CompatibleArchitectures"] == [arch]
    reserved = iris.get("ReservedConcurrentExecutions")
    assert reserved == (None if name == "provisioned-unreserved" else 20)
    (alias,) = [
        a for a in of_type(template, "AWS::Lambda::Alias").values()
        if a["Properties"]["FunctionName"] == {"Ref": "IrisFunction"}
    ]  # fmt: skip
    provisioned = alias["Properties"].get("ProvisionedConcurrencyConfig")
    assert provisioned == (
        {"ProvisionedConcurrentExecutions": 2} if name == "provisioned-unreserved" else None
    )
    cors = template["Resources"]["PredictorApi"]["Properties"].get("CorsConfiguration")
    assert (cors or {}).get("AllowOrigins") == (
        ["https://a.example"] if name == "arm64-snapstart-cors" else None
    )


@pytest.mark.sam
def test_no_statement_grants_s3_sqs_sagemaker_or_step_functions_on_every_resource(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    found = 0
    for resource, statement in statements(template):
        found += 1
        if statement.get("Effect") == "Deny":
            continue
        actions = as_list(statement["Action"])
        scoped = [a for a in actions if a == "*" or a.split(":")[0] in SCOPED_SERVICES]
        if scoped:
            assert "*" not in as_list(statement["Resource"]), (resource, statement)
    assert found > 10


@pytest.mark.sam
def test_every_log_group_is_explicit_and_retained(stack: tuple[str, dict[str, Any]]) -> None:
    _, template = stack
    for name, group in of_type(template, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["RetentionInDays"], name
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in template["Resources"]


@pytest.mark.sam
def test_buckets_block_public_access_and_encrypt_and_queues_encrypt(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    for name, bucket in of_type(template, "AWS::S3::Bucket").items():
        block = bucket["Properties"]["PublicAccessBlockConfiguration"]
        assert set(block.values()) == {True} and len(block) == 4, name
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
    queues = of_type(template, "AWS::SQS::Queue")
    assert len(queues) == 3
    for name, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, name
    depth_alarms = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in of_type(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert depth_alarms == {"RequestDeadLetterQueue", "AsyncFailureQueue"}


@pytest.mark.sam
def test_sagemaker_resources_exist_only_when_asked_and_per_variant(stack: tuple[str, dict[str, Any]]) -> None:
    name, template = stack
    sagemaker = {n for n, r in template["Resources"].items() if r["Type"].startswith("AWS::SageMaker::")}
    scaling = of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    if not name.startswith("sagemaker-"):
        assert sagemaker == set() and scaling == {}
        assert "SageMakerEndpointName" not in template["Outputs"]
        return
    assert sagemaker == {"SageMakerModel", "SageMakerEndpointConfig", "SageMakerEndpoint"}
    assert "SageMakerEndpointName" in template["Outputs"]
    (variant,) = template["Resources"]["SageMakerEndpointConfig"]["Properties"]["ProductionVariants"]
    config = template["Resources"]["SageMakerEndpointConfig"]["Properties"]
    container = template["Resources"]["SageMakerModel"]["Properties"]["PrimaryContainer"]
    assert container["Mode"] == ("MultiModel" if name == "sagemaker-multimodel" else "SingleModel")
    if name in ("sagemaker-realtime", "sagemaker-multimodel"):
        assert variant["InstanceType"] == COMBINATIONS[name].get("SageMakerInstanceType", "ml.g5.xlarge")
        assert "ServerlessConfig" not in variant
        ((_, policy),) = scaling.items()
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
            "SageMakerVariantInvocationsPerInstance"
        )
    else:
        assert scaling == {}
    if name == "sagemaker-serverless":
        assert set(variant["ServerlessConfig"]) == {"MemorySizeInMB", "MaxConcurrency"}
        assert "InstanceType" not in variant
    if name == "sagemaker-async":
        output = config["AsyncInferenceConfig"]["OutputConfig"]
        assert output["S3OutputPath"] == {"Fn::Sub": "s3://${ResultsBucket}/sagemaker-async/output/"}
        assert output["S3FailurePath"] == {"Fn::Sub": "s3://${ResultsBucket}/sagemaker-async/failures/"}
    else:
        assert "AsyncInferenceConfig" not in config
    # The execution role reads the model's own object (multimodel: the objects under its prefix)
    # and nothing else in S3 outside the async paths.
    role = template["Resources"]["SageMakerExecutionRole"]["Properties"]
    reads = [
        s
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if "s3:GetObject" in as_list(s["Action"])
    ]
    model = "arn:${AWS::Partition}:s3:::${SageMakerModelBucket}/${SageMakerModelKey}"
    assert reads[0]["Resource"] == {"Fn::Sub": model + ("*" if name == "sagemaker-multimodel" else "")}
    metrics = {
        a["Properties"].get("MetricName") for a in of_type(template, "AWS::CloudWatch::Alarm").values()
    }
    assert {"Invocation5XXErrors", "ModelLatency"} <= metrics


@pytest.mark.sam
def test_the_distributed_map_runs_the_events_function_on_the_input_prefix_into_the_results_bucket(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    ((_, machine),) = of_type(template, "AWS::StepFunctions::StateMachine").items()
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    separator, lines = machine["Properties"]["DefinitionString"]["Fn::Join"]
    definition = json.loads(separator.join(lines))
    (map_state,) = [s for s in definition["States"].values() if s["Type"] == "Map"]
    assert map_state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    reader = map_state["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert reader["Parameters"] == {"Bucket": "${InputBucket}", "Prefix": "${InputPrefix}"}
    assert substitutions["InputBucket"] == {"Ref": "InputBucket"}
    assert substitutions["InputPrefix"] == "batch/"
    writer = map_state["ResultWriter"]
    assert writer["Parameters"]["Bucket"] == "${ResultsBucket}"
    assert substitutions["ResultsBucket"] == {"Ref": "ResultsBucket"}
    settings = definition["States"][definition["StartAt"]]
    assert settings["Next"] == "EachObject"
    assert settings["Parameters"] == {
        "maxConcurrency.$": "States.StringToJson('${MaxConcurrency}')",
        "toleratedFailurePercentage.$": "States.StringToJson('${ToleratedFailurePercentage}')",
    }
    assert map_state["MaxConcurrencyPath"] == "$.maxConcurrency"
    assert map_state["ToleratedFailurePercentagePath"] == "$.toleratedFailurePercentage"
    assert substitutions["MaxConcurrency"] == 100
    assert substitutions["ToleratedFailurePercentage"] == 0
    (task,) = map_state["ItemProcessor"]["States"].values()
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == "${WorkerFunction}"
    alias = substitutions["WorkerFunction"]["Ref"]
    assert template["Resources"][alias]["Properties"]["FunctionName"] == {"Ref": "IrisEventsFunction"}
    # Each item is the S3 "Object Created" event the events function already answers.
    assert map_state["ItemSelector"]["source"] == "aws.s3"
    assert map_state["ItemSelector"]["detail-type"] == "Object Created"
    assert machine["Properties"]["LoggingConfiguration"]["Destinations"]


def test_every_url_bucket_queue_endpoint_and_state_machine_is_an_output() -> None:
    outputs = load_template(TEMPLATE)["Outputs"]
    wanted = {
        "PredictUrl", "ApiUrl", "DigitsFunctionUrl", "InputBucketName", "ResultsBucketName",
        "RequestQueueUrl", "RequestDeadLetterQueueUrl", "AsyncFailureQueueUrl",
        "SageMakerEndpointName", "SageMakerAsyncOutputUri", "BucketJobStateMachineArn",
    }  # fmt: skip
    assert wanted <= set(outputs)


def test_every_parameter_has_a_default_except_in_the_nested_stack_wiring() -> None:
    for name, spec in load_template(TEMPLATE)["Parameters"].items():
        assert "Default" in spec, name
        assert spec.get("Description"), name


# --------------------------------------------------------------------------------------------
# Linters on the templates as written
# --------------------------------------------------------------------------------------------


def tool(name: str, venv: str) -> str:
    found = shutil.which(name) or str(REPO / venv / "bin" / name)
    if not os.access(found, os.X_OK):
        pytest.fail(
            f"{name} not found on PATH or in {venv}/: run `make {venv.strip('.').split('-')[-1]}`",
            pytrace=False,
        )
    return found


@pytest.mark.sam
@pytest.mark.parametrize("template", [TEMPLATE, DIGITS], ids=lambda p: p.name)
def test_cfn_lint_is_clean(template: Path) -> None:
    cfn_lint = Path(sam_cli()).parent / "cfn-lint"
    done = subprocess.run(
        [str(cfn_lint), str(template)], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.sam
@pytest.mark.parametrize("template", [TEMPLATE, DIGITS], ids=lambda p: p.name)
def test_checkov_fails_no_check_and_every_skip_says_why(template: Path) -> None:
    checkov = tool("checkov", ".venv-checkov")
    done = subprocess.run(
        [
            checkov,
            "--file",
            str(template),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(done.stdout)
    results, summary = report["results"], report["summary"]
    counts = ", ".join(f"{summary[k]} {k}" for k in ("passed", "skipped", "failed"))
    print(f"checkov {template.name}: {counts}")
    assert [(f["check_id"], f["resource"]) for f in results["failed_checks"]] == []
    assert summary["passed"] > 0
    for skipped in results["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment", "")) > 20, skipped["check_id"]


@pytest.mark.sam
def test_the_iris_function_reaches_large_payloads_only_under_their_prefix_and_they_expire(
    stack: tuple[str, dict[str, Any]],
) -> None:
    _, template = stack
    resources = template["Resources"]
    variables = resources["IrisFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PREDICTOR_LARGE_PAYLOAD_URI"] == {
        "Fn::Sub": "s3://${LargePayloadBucket}/large-payloads/"
    }
    reaching = [
        (name, statement)
        for name, statement in statements(template)
        if statement["Effect"] == "Allow"
        and any(
            "LargePayloadBucket" in json.dumps(resource) or "large-payloads" in json.dumps(resource)
            for resource in as_list(statement["Resource"])
        )
    ]
    assert [name for name, _ in reaching] == ["IrisFunctionRole"]
    for _, statement in reaching:
        assert as_list(statement["Resource"]) == [{"Fn::Sub": "${LargePayloadBucket.Arn}/large-payloads/*"}]
        assert sorted(as_list(statement["Action"])) == ["s3:GetObject", "s3:PutObject"]
    (rule,) = resources["LargePayloadBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 1
    assert "Prefix" not in rule and "Filter" not in rule  # every object expires
