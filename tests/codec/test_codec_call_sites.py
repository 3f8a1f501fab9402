"""Every transport decodes and encodes through the one codec: the call sites, pinned.

Read from the source, not run: no transport module (Lambda's event sources, the server, the
runtime's pipeline) parses JSON, CSV or npy, validates with pydantic or serialises predictions
itself, and each reaches the codec (or the runtime's pipeline, which reaches it) exactly where
listed here. A new transport, or a parse beside the codec, fails this test until it is listed
and held to the codec's answers in test_codec_every_transport.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support.paths import REPO

PREDICTOR = REPO / "predictor"
# server/settings.py is data: it reads the environ and the settings `predictor serve` hands its
# worker processes as JSON, never a request body.
TRANSPORTS = sorted(
    path.relative_to(PREDICTOR).as_posix()
    for path in [
        *PREDICTOR.glob("aws_lambda/**/*.py"),
        *PREDICTOR.glob("server/*.py"),
        PREDICTOR / "runtime.py",
    ]
    if path != PREDICTOR / "server" / "settings.py"
)

# Where each transport decodes bodies and encodes answers: `codec.<method>` directly, or the
# runtime's pipeline (`runtime.<method>`), which decodes and encodes with the codec.
CALL_SITES = {
    "aws_lambda/s3_files/_files.py": {"codec.records", "codec.decode_records", "codec.encode_each"},
    "aws_lambda/sources/_sqs_messages.py": {
        "codec.decode_all",
        "codec.decode_records",
        "codec.load_json",
        "codec.decode_envelope",
        "codec.decode_instance",
    },
    "aws_lambda/sources/sqs.py": {"codec.encode_each"},
    "aws_lambda/large_payloads/__init__.py": {"codec.read_references"},
    "aws_lambda/sources/direct.py": {"runtime.predict_envelope"},
    "aws_lambda/sources/eventbridge.py": {"runtime.predict_envelope"},
    "aws_lambda/sources/http.py": {"runtime.predict_body"},
    "runtime.py": {"codec.decode", "codec.decode_envelope", "codec.encode", "codec.dump"},
    "server/app.py": {"runtime.predict_body", "runtime.parse_body", "runtime.answer"},
    "server/body_limit.py": {"codec.check_size"},
    "server/sagemaker.py": {"codec.answer_types", "codec.decode", "codec.choose", "codec.encode"},
}
PIPELINE = {"predict_body", "parse_body", "answer", "predict_envelope"}

# What only the codec may call: parsers of request bodies, pydantic's validation and
# serialisation entry points, the CSV and npy readers.
FORBIDDEN_CALLS = {
    "json.loads",
    "json.load",
    "orjson.loads",
    "from_json",
    "np.load",
    "numpy.load",
    "validate_json",
    "model_validate_json",
    "validate_python",
    "dump_python",
    "model_dump_json",
    "TypeAdapter",
    "csv.reader",
    "csv.writer",
}
FORBIDDEN_IMPORTS = {"csv", "orjson", "numpy"}
# Calls by those names that read no request body of instances: the worker processes' settings,
# which `predictor serve` itself wrote as JSON, and a multi-model load's {"model_name", "url"},
# the platform's management request, which names a model and carries no instances.
NOT_BODIES = {"ServeSettings.from_json", "LoadRequest.model_validate_json"}


def _tree(module: str | Path) -> ast.Module:
    path = PREDICTOR / module
    return ast.parse(path.read_text(), str(path))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def call_sites(module: str) -> set[str]:
    found = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = _name(node.func.value)
            if owner == "codec" or (owner == "runtime" and node.func.attr in PIPELINE):
                found.add(f"{owner}.{node.func.attr}")
    return found


def own_decoding(module: str | Path) -> list[str]:
    """The forbidden calls and imports in `module`, with their lines."""
    found = []
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Call):
            func = node.func
            dotted = func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Attribute):
                owner = _name(func.value)
                dotted = f"{owner}.{func.attr}" if owner else func.attr
                if dotted in NOT_BODIES:
                    continue
                if func.attr in FORBIDDEN_CALLS:
                    dotted = func.attr
            if dotted in FORBIDDEN_CALLS:
                found.append(f"{module}:{node.lineno} calls {dotted}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_IMPORTS:
                    found.append(f"{module}:{node.lineno} imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"{module}:{node.lineno} imports {node.module}")
            for alias in node.names:
                if alias.name in FORBIDDEN_CALLS:
                    found.append(f"{module}:{node.lineno} imports {alias.name}")
    return found


def test_the_transports_are_the_ones_listed() -> None:
    listed = set(CALL_SITES)
    decoding = {module for module in TRANSPORTS if call_sites(module)}
    assert decoding == listed


@pytest.mark.parametrize("module", sorted(CALL_SITES))
def test_each_transport_decodes_and_encodes_where_listed(module: str) -> None:
    assert call_sites(module) == CALL_SITES[module]


@pytest.mark.parametrize("module", TRANSPORTS)
def test_no_transport_parses_validates_or_serialises_on_its_own(module: str) -> None:
    assert own_decoding(module) == []


def test_the_check_finds_a_parse_beside_the_codec(tmp_path: Path) -> None:
    """The check itself: each kind of forbidden call or import is found."""
    source = (
        "import csv\nimport json\nimport numpy as np\nfrom pydantic import TypeAdapter\n"
        "from pydantic_core import from_json\n"
        "json.loads(b)\nnp.load(f)\nfrom_json(b)\nM.model_validate_json(b)\nm.model_dump_json()\n"
    )
    module = tmp_path / "transport.py"
    module.write_text(source)
    found = {line.split(" ", 1)[1] for line in own_decoding(module)}  # an absolute path wins the join
    assert found == {
        "imports csv",
        "imports numpy",
        "imports TypeAdapter",
        "imports from_json",
        "calls json.loads",
        "calls np.load",
        "calls from_json",
        "calls model_validate_json",
        "calls model_dump_json",
    }


def test_the_codec_imports_no_transport_and_not_fastapi() -> None:
    for path in sorted((PREDICTOR / "codec").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("predictor.aws_lambda", "predictor.server", "fastapi"))
                assert node.module != "predictor.runtime"
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith(("fastapi", "starlette")) for alias in node.names)
