"""`predictor check`: the worked examples pass, and each failure names what to fix and exits 1."""

from __future__ import annotations

import re
from pathlib import Path

from support.fresh_python import run_cli
from support.paths import FIXTURES, REPO

from predictor.check._rows import ROWS

# "  MARK  name  detail": a status mark in four columns, then the row's name.
ROW_LINE = re.compile(r"^  (ok|WARN|FAIL|-) +\S")


def check(function: str | Path, *args: str) -> tuple[int, str]:
    done = run_cli("check", str(function), *args, timeout=120)
    return done.returncode, done.stdout


def row(report: str, name: str) -> str:
    # "  MARK  name  detail": the mark takes four columns.
    (line,) = [line for line in report.splitlines() if line[8:].startswith(f"{name} ")]
    return line.strip()


def test_the_iris_example_passes_every_row_it_can_run_here() -> None:
    status, report = check(REPO / "functions" / "iris")
    assert status == 0, report
    assert "FAIL" not in report and "WARN" not in report
    for name in (
        "HTTP events",
        "direct invoke",
        "/invocations JSON",
        "/invocations CSV",
        "OpenAPI document",
        "response size",
    ):
        assert row(report, name).startswith("ok"), report
    assert "not imported: events and POST /predict skip the ASGI stack" in row(
        report, "FastAPI on the event path"
    )
    assert "Iris ready" in row(report, "import and setup")


def test_the_digits_example_passes_with_a_warning_saying_how_to_add_an_example() -> None:
    status, report = check(REPO / "functions" / "digits")
    assert status == 0, report
    assert row(report, "schema example").startswith("WARN")
    assert (
        "schema example: add an example to the input model: model_config = ConfigDict(json_schema_extra="
        in report
    )
    assert row(report, "HTTP events") == "-     HTTP events                no schema example to send"


def test_an_answer_too_large_for_a_full_request_warns_with_the_instances_that_fit() -> None:
    status, report = check(FIXTURES / "embedding.py")
    assert status == 0, report
    line = row(report, "response size")
    # 1,024 floats printed as 0.0078125 and the envelope around them, as Lambda counts it.
    assert line.startswith("WARN") and "fewer than the 1,000 a request may hold" in line, report
    fit = int(line.split(" instances fit")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert 500 < fit < 620
    assert f"set PREDICTOR_MAX_INSTANCES={fit} or PREDICTOR_LARGE_PAYLOAD_URI=" in report


def test_a_failing_setup_fails_the_check_with_the_reason() -> None:
    status, report = check(FIXTURES / "exc_in_setup.py")
    assert status == 1
    assert "FileNotFoundError: weights.bin is missing" in row(report, "import and setup")
    assert "import and setup: make setup() succeed" in report
    assert report.rstrip().endswith("1 failed")


def test_a_predictor_that_fails_its_own_example_fails_every_transport() -> None:
    status, report = check(FIXTURES / "fails_its_example.py")
    assert status == 1
    for name in ("HTTP events", "direct invoke", "/invocations JSON", "/invocations CSV", "response size"):
        assert row(report, name).startswith("FAIL"), report
    assert "http-api-v2: 500" in row(report, "HTTP events")
    assert report.rstrip().endswith("5 failed")


def test_fastapi_imported_by_the_app_is_a_warning_on_the_cold_start() -> None:
    status, report = check(FIXTURES / "imports_fastapi.py")
    assert status == 0, report
    assert row(report, "FastAPI on the event path").startswith("WARN")
    assert "import FastAPI, or what imports it, inside the function that needs it" in report


def test_a_build_over_lambdas_250_mb_fails_and_one_under_it_passes(tmp_path: Path) -> None:
    function, layer = tmp_path / "AppFunction", tmp_path / "RuntimeLayer" / "python"
    function.mkdir()
    layer.mkdir(parents=True)
    (function / "app.py").write_text("# the function\n")
    with (layer / "big.so").open("wb") as big:
        big.truncate(200 * 1024 * 1024)  # sparse: the size counts, the disk holds nothing
    status, report = check(FIXTURES / "echo.py", "--build-dir", str(tmp_path))
    assert status == 0, report
    assert "= 209.7 MB of Lambda's 250 MB" in row(report, "unzipped size")
    with (function / "model.bin").open("wb") as model:
        model.truncate(60 * 1024 * 1024)
    status, report = check(FIXTURES / "echo.py", "--build-dir", str(tmp_path))
    assert status == 1
    assert "over Lambda's 250 MB" in row(report, "unzipped size")
    assert "unzipped size: leave packages out of layer/requirements.txt" in report


def test_every_row_in_the_list_reports_one_line_of_its_own() -> None:
    # A new row is one function in ROWS; the report gives it a line under its own name.
    _, report = check(REPO / "functions" / "iris")
    names = [line[8:35].strip() for line in report.splitlines() if ROW_LINE.match(line)]

    assert len(names) == len(ROWS) == len(set(ROWS)), report
    assert len(set(names)) == len(names), report
