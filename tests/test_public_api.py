"""The public namespace is exactly what the API reference (docs/predictor.md) documents."""

import re
from importlib import metadata

import pytest
from support.paths import REPO

import predictor
from predictor.cli import main


def test_the_package_exports_exactly_the_documented_names() -> None:
    assert sorted(predictor.__all__) == [
        "ContractError",
        "Limits",
        "Predictor",
        "PredictorError",
        "RequestContext",
        "lambda_handler",
    ]
    assert all(getattr(predictor, name) is not None for name in predictor.__all__)


def test_the_api_reference_renders_every_exported_name() -> None:
    page = (REPO / "docs" / "predictor.md").read_text()
    rendered = re.findall(r"^::: predictor\.(\w+)$", page, re.M)

    assert sorted(rendered) == sorted(predictor.__all__)


def test_the_package_is_typed() -> None:
    from pathlib import Path

    assert (Path(predictor.__file__).parent / "py.typed").is_file()


def test_the_version_is_written_once_and_the_cli_and_the_distribution_report_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from predictor._version import __version__

    assert predictor.__version__ == __version__ == metadata.version("serverless-predictor")
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"predictor {__version__}\n"
