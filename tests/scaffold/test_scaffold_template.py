"""The template `predictor init` writes comes from this repository's template.yaml by one derivation,
and is a SAM application that `sam validate --lint` and `sam build` take with nothing of this tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.cloudformation import TEMPLATE, load_template, python312, sam_cli, sam_env
from support.fresh_install import FreshInstall
from support.scaffold_template import BEGIN, DERIVED, END, derive

from predictor._version import __version__

BUILD_TIMEOUT_S = 900


def test_the_committed_scaffold_template_is_the_derivation_of_template_yaml() -> None:
    regenerate = "PYTHONPATH=tests python -m support.scaffold_template"
    assert DERIVED.read_text() == derive(TEMPLATE.read_text()), f"{DERIVED} is stale: run `{regenerate}`"


def test_the_project_template_runs_app_handler_from_its_root_on_a_layer_sam_builds_from_requirements() -> (
    None
):
    template = load_template(DERIVED)
    resources = template["Resources"]
    for name in ("AppFunction", "AppEventsFunction"):
        properties = resources[name]["Properties"]
        assert (properties["CodeUri"], properties["Handler"]) == ("./", "app.handler")
    for layer in ("RuntimeLayer", "RuntimeLayerArm64"):
        assert resources[layer]["Properties"]["ContentUri"] == "layer/"
        assert resources[layer]["Metadata"]["BuildMethod"] == "python3.12"
    assert "DigitsStack" not in resources
    assert "DigitsImageUri" not in template["Parameters"]
    # The production parts carry over: canary deployments rolled back by alarms, events, queues.
    source = load_template(TEMPLATE)["Resources"]
    kinds = {resource["Type"] for resource in source.values()} - {"AWS::Serverless::Application"}
    assert {resource["Type"] for resource in resources.values()} == kinds
    assert resources["AppFunction"]["Properties"]["DeploymentPreference"]["Alarms"]


def test_an_unclosed_repository_only_block_stops_the_derivation() -> None:
    source = TEMPLATE.read_text()
    with pytest.raises(ValueError, match="a `# >>> repository only` that opens no block; pair the markers"):
        derive(source.replace(f"  {END}\n", "", 1))
    with pytest.raises(ValueError, match="opens a `# >>> repository only` block it never closes"):
        derive(source[: source.rindex(f"  {END}\n")])


def test_a_template_change_no_rule_carries_over_stops_the_derivation() -> None:
    renamed = TEMPLATE.read_text().replace("CodeUri: functions/iris/", "CodeUri: functions/flowers/")
    with pytest.raises(ValueError, match="no longer matches 'CodeUri: functions/iris/'"):
        derive(renamed)
    unmarked = TEMPLATE.read_text().replace(f"  {BEGIN}\n", "", 3).replace(f"  {END}\n", "", 3)
    with pytest.raises(ValueError, match=r"still names \['Digits', 'digits'"):
        derive(unmarked)


def run_sam(
    args: list[str], project: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sam_cli(), *args],
        cwd=project,
        env={**env, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.sam
def test_the_generated_project_passes_sam_validate_lint(fresh: FreshInstall, tmp_path: Path) -> None:
    project = fresh.init(tmp_path)
    done = run_sam(["validate", "--lint"], project, dict(os.environ), 120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


@pytest.mark.sam
def test_sam_build_of_the_generated_project_takes_serverless_predictor_from_a_wheel_directory(
    fresh: FreshInstall, tmp_path: Path
) -> None:
    project = fresh.init(tmp_path)
    # The package index a user has holds the release; here a directory holding only the wheel does.
    links = os.pathsep.join([str(fresh.wheel.parent), os.environ.get("PIP_FIND_LINKS", "")]).replace(":", " ")
    env = {**sam_env(python312()), "PIP_FIND_LINKS": links.strip()}
    done = run_sam(["build"], project, env, BUILD_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    build = project / ".aws-sam" / "build"
    site = build / "RuntimeLayer" / "python"
    installed = sorted(site.glob("serverless_predictor-*.dist-info"))
    assert [path.name for path in installed] == [f"serverless_predictor-{__version__}.dist-info"]
    assert (site / "predictor" / "aws_lambda" / "_handler.py").is_file()
    assert (build / "AppFunction" / "app.py").is_file()
    assert (build / "AppFunction" / "model" / "model.json").is_file()
    # predictor check reads the build and measures the function with its layer.
    checked = fresh.run([str(fresh.bin / "predictor"), "check", "."], project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok    unzipped size" in checked.stdout
    assert "of Lambda's 250 MB" in checked.stdout
