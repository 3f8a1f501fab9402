"""The locks: one set of versions from development to the layer and the images, inside pyproject's ranges."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support.dockerfile import Dockerfile
from support.paths import REPO

DEV = REPO / "requirements" / "dev.txt"
SAM = REPO / "requirements" / "sam.txt"
CHECKOV = REPO / "requirements" / "checkov.txt"
DEPLOYED = {
    "image": REPO / "requirements" / "image.txt",
    "image-gpu": REPO / "requirements" / "image-gpu.txt",
    "layer": REPO / "layers" / "runtime" / "requirements.txt",
}
IMAGES = {
    "container/sagemaker-cpu.Dockerfile": "requirements/image.txt",
    "container/sagemaker-gpu.Dockerfile": "requirements/image-gpu.txt",
    "functions/digits/Dockerfile": "requirements/image.txt",
}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, str]:
    return {
        canonicalize_name(match[1]): match[2]
        for line in lock.read_text().splitlines()
        if (match := PIN.match(line))
    }


def pyproject() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def library_requirements() -> list[Requirement]:
    """What pyproject asks for: dependencies, every extra, and the build backend."""
    data = pyproject()
    project, build = data["project"], data["build-system"]
    assert isinstance(project, dict) and isinstance(build, dict)
    extras = [requirement for group in project["optional-dependencies"].values() for requirement in group]
    wanted = [Requirement(text) for text in [*project["dependencies"], *extras, *build["requires"]]]
    return [r for r in wanted if r.name != project["name"] and (r.marker is None or r.marker.evaluate())]


@pytest.mark.parametrize("name", sorted(DEPLOYED))
def test_each_deployed_lock_holds_the_versions_the_suite_runs_on(name: str) -> None:
    dev, deployed = pins(DEV), pins(DEPLOYED[name])
    assert deployed
    differing = {
        package: (version, dev.get(package.removesuffix("-gpu")))
        for package, version in deployed.items()
        if dev.get(package.removesuffix("-gpu")) != version
    }
    assert differing == {}, f"{DEPLOYED[name].name} differs from requirements/dev.txt; run `make lock`"


def test_the_dev_lock_meets_every_range_pyproject_declares() -> None:
    dev = pins(DEV)
    # [gpu]'s onnxruntime-gpu is released in step with onnxruntime: the GPU image pins the same version.
    locked = {str(r): dev.get(canonicalize_name(r.name).removesuffix("-gpu")) for r in library_requirements()}
    unmet = {text: version for text, version in locked.items() if version not in Requirement(text).specifier}
    assert unmet == {}, "pyproject.toml and requirements/dev.txt disagree; run `make lock`"


@pytest.mark.parametrize("lock", [DEV, SAM, CHECKOV, *DEPLOYED.values()], ids=lambda path: path.name)
def test_every_pinned_release_carries_its_hashes(lock: Path) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    pinned = [block for block in blocks if PIN.match(block)]
    assert pinned
    assert [block.split()[0] for block in pinned if "--hash=sha256:" not in block] == []


def test_the_layer_leaves_out_boto3_which_lambda_ships() -> None:
    layer = pins(DEPLOYED["layer"])
    assert {"boto3", "botocore", "s3transfer"} & set(layer) == set()
    assert {"pydantic", "fastapi", "mangum", "aws-lambda-powertools", "onnxruntime", "numpy"} <= set(layer)


def test_the_gpu_image_gets_onnxruntime_gpu_and_never_the_cpu_wheel_beside_it() -> None:
    gpu = pins(DEPLOYED["image-gpu"])
    assert "onnxruntime" not in gpu
    assert gpu["onnxruntime-gpu"] == pins(DEV)["onnxruntime"]


@pytest.mark.parametrize("dockerfile", sorted(IMAGES))
def test_each_image_installs_its_lock_with_hashes_and_the_package_without_its_dependencies(
    dockerfile: str,
) -> None:
    image = Dockerfile.read(REPO / dockerfile)
    copied = {copy.split()[0]: copy.split()[1] for copy in image.all("COPY")}
    target = copied[IMAGES[dockerfile]]
    installs = " ".join(image.all("RUN"))
    assert f"--require-hashes --no-deps -r {target}" in installs
    assert re.search(r"pip install (--no-cache-dir )?--no-deps /tmp/predictor\b", installs)


def test_the_layer_installs_its_lock_with_hashes() -> None:
    makefile = (REPO / "layers" / "runtime" / "Makefile").read_text()
    assert "--require-hashes --no-deps" in makefile
    assert "--requirement $(HERE)/requirements.txt" in makefile


def test_this_environment_is_exactly_the_lock_it_was_installed_from() -> None:
    # `make test-oldest` names its own lock; `make install` installs requirements/dev.txt.
    lock = Path(os.environ.get("PREDICTOR_TEST_LOCK", DEV))
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions(path=[p for p in sys.path if "site-packages" in p])
    }
    installed.pop("serverless-predictor")
    installed.pop("pip", None)
    assert installed == pins(lock)
