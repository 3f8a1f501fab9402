"""template.yaml as CloudFormation reads it, and the aws-sam-cli that builds it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.paths import REPO

TEMPLATE = REPO / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """YAML loader that reads CloudFormation short-form tags (!Ref, !If, !Sub...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=CfnLoader)
    return loaded


def resources_of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def function_property(template: Mapping[str, Any], function: str, name: str) -> Any:
    """A function's property, falling back to Globals as SAM does."""
    own = template["Resources"][function]["Properties"]
    return own.get(name, template.get("Globals", {}).get("Function", {}).get(name))


def sam_cli() -> str:
    sam = shutil.which("sam") or str(REPO / ".venv-sam" / "bin" / "sam")
    if not os.access(sam, os.X_OK):
        pytest.fail("aws-sam-cli not found on PATH or in .venv-sam/: run `make sam`", pytrace=False)
    return sam


def python312() -> str:
    """A working python3.12 (a pyenv shim on PATH may exist and still refuse to run)."""
    home = Path.home()
    candidates = [shutil.which("python3.12"), *sorted(home.glob(".pyenv/versions/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [str(candidate), "-c", "import sys; print(sys.executable)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if probe.returncode == 0:
            return probe.stdout.strip()
    pytest.fail(
        "sam build needs python3.12 on PATH (the Runtime of the functions): install it", pytrace=False
    )


def sam_env(python: str) -> dict[str, str]:
    # The interpreter's own directory first, so sam's workflow and the layer Makefile find it.
    path = os.pathsep.join([str(Path(python).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}
