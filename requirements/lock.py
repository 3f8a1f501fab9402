"""Compile every lock from pyproject.toml's ranges (`make lock`; `make test-oldest` uses `oldest`).

uv compiles and plain pip installs: `pip install --require-hashes` needs nothing but the pip a
virtualenv already has, while uv resolves in a second where pip-tools takes minutes, writes the
hashes of every file of a release (so one lock serves the Lambda platform as well as this one) and
can resolve to the lowest versions the ranges allow, which is what `make test-oldest` needs.

    requirements/dev.txt             development and tests (make install), on Python 3.11
    requirements/sam.txt             aws-sam-cli, in its own virtualenv (make sam)
    requirements/checkov.txt         checkov, in its own virtualenv (make checkov): it pins
                                     boto3 and botocore far below the dev lock's
    requirements/image.txt           SageMaker CPU image and the Lambda image: [serve,onnx,images]
    requirements/image-gpu.txt       SageMaker GPU image: onnxruntime-gpu in onnxruntime's place
    layers/runtime/requirements.txt  the Lambda layer: the runtime without boto3 (Lambda ships it)

Every deployable lock is constrained by dev.txt, so it holds exactly the versions the suite ran
on; tests/test_locks.py checks that, and that each lock still satisfies pyproject.toml.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
CONSTRAINTS = REQUIREMENTS / "constraints.txt"
DEV = REQUIREMENTS / "dev.txt"
SAM = REQUIREMENTS / "sam.txt"
CHECKOV = REQUIREMENTS / "checkov.txt"
IMAGE = REQUIREMENTS / "image.txt"
IMAGE_GPU = REQUIREMENTS / "image-gpu.txt"
LAYER = ROOT / "layers" / "runtime" / "requirements.txt"

# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34); the images use Python 3.12 too.
DEPLOYED_PYTHON = ["--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]
# The Lambda runtime ships boto3; the layer leaves it out, but keeps everything its own packages
# need (jmespath for Powertools, say), so it never depends on what a runtime happens to bundle.
LAMBDA_PROVIDED = ["boto3", "botocore", "s3transfer"]
SAM_CLI = "aws-sam-cli>=1.120"
CHECKOV_TOOL = "checkov>=3.3,<4"


def uv(scratch: Path, *args: str) -> None:
    """`uv pip compile` of inputs in `scratch`, with their temporary directory left out of the lock's
    `# via` lines, so that compiling twice gives the same file."""
    command = [str(Path(sys.executable).parent / "uv"), "pip", "compile", "--quiet", *args]
    subprocess.run(command, check=True, cwd=ROOT)
    output = Path(args[args.index("--output-file") + 1])
    output.write_text(output.read_text().replace(f"{scratch}/", ""))


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a compiled lock."""
    found = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if match:
            found[canonical(match[1])] = match[2]
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def name_of(requirement: str) -> str:
    return canonical(re.split(r"[<>=!~ \[;]", requirement)[0])


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def build_requires() -> list[str]:
    """The build backend: `pip install -e .` runs without build isolation, from the lock."""
    build = pyproject()["build-system"]
    assert isinstance(build, dict)
    return list(build["requires"])


def compile_dev(scratch: Path, *refresh: str) -> None:
    build = scratch / "build.in"
    build.write_text("\n".join(build_requires()) + "\n")
    uv(
        scratch,
        "pyproject.toml", str(build), "--extra", "dev", "--python-version", "3.11",
        "--generate-hashes", "--constraint", str(CONSTRAINTS),
        "--custom-compile-command", "make lock", "--output-file", str(DEV), *refresh,
    )  # fmt: skip


def compile_tool(scratch: Path, requirement: str, output: Path, *refresh: str) -> None:
    """A tool whose dependencies clash with the dev lock's, locked for a virtualenv of its own."""
    wanted = scratch / f"{output.stem}.in"
    wanted.write_text(requirement + "\n")
    uv(
        scratch,
        str(wanted), "--python-version", "3.11", "--generate-hashes",
        "--custom-compile-command", "make lock", "--output-file", str(output), *refresh,
    )  # fmt: skip


def compile_deployed(scratch: Path) -> None:
    """The images and the layer, for Lambda's platform, held to dev.txt's versions."""
    dev = pins(DEV)
    project = pyproject()["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    runtime = [*project["dependencies"], *extras["onnx"]]

    image_in = scratch / "image.in"
    image_in.write_text("\n".join([*runtime, *extras["serve"], *extras["images"]]) + "\n")
    gpu_in = scratch / "image-gpu.in"
    gpu_in.write_text(
        image_in.read_text().replace("onnxruntime", "onnxruntime-gpu")
        + f"onnxruntime-gpu=={dev['onnxruntime']}\n"
    )
    layer_in = scratch / "layer.in"
    layer_in.write_text("\n".join(r for r in runtime if name_of(r) != "boto3"))
    locks = ((image_in, IMAGE, []), (gpu_in, IMAGE_GPU, []), (layer_in, LAYER, LAMBDA_PROVIDED))
    for source, output, shipped in locks:
        uv(
            scratch,
            str(source), *DEPLOYED_PYTHON, "--generate-hashes", "--constraint", str(DEV),
            "--custom-compile-command", "make lock", "--output-file", str(output),
            *(arg for name in shipped for arg in ("--no-emit-package", name)),
        )  # fmt: skip


def compile_oldest(output: Path, scratch: Path) -> None:
    """The lowest version each of the library's own ranges allows; dev tools stay as locked."""
    project = pyproject()["project"]
    assert isinstance(project, dict)
    extras = project["optional-dependencies"]
    dev = pins(DEV)
    library = [*project["dependencies"], *extras["serve"], *extras["onnx"], *extras["images"]]
    # Each dev tool at its locked version, its extras kept (moto[server] brings the server's Flask).
    dev_tools = [r for r in extras["dev"] if name_of(r) != project["name"]]
    tools = [f"{re.split(r'[<>=!~ ;]', r)[0]}=={dev[name_of(r)]}" for r in dev_tools]
    wanted = scratch / "oldest.in"
    wanted.write_text("\n".join([*library, *tools, *build_requires()]))
    uv(
        scratch,
        str(wanted), "--resolution", "lowest-direct", "--python-version", "3.11",
        "--constraint", str(CONSTRAINTS), "--output-file", str(output),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--oldest", type=Path, help="write the lowest-versions requirements here instead")
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="take the newest version each range allows (make lock); without it the locked versions\n"
        "are kept and only what pyproject.toml added or changed is resolved, for a small diff",
    )
    args = parser.parse_args()
    refresh = ["--upgrade"] if args.upgrade else []
    with tempfile.TemporaryDirectory() as scratch:
        if args.oldest:
            compile_oldest(args.oldest, Path(scratch))
            return
        compile_dev(Path(scratch), *refresh)
        compile_tool(Path(scratch), SAM_CLI, SAM, *refresh)
        compile_tool(Path(scratch), CHECKOV_TOOL, CHECKOV, *refresh)
        compile_deployed(Path(scratch))


if __name__ == "__main__":
    main()
