"""The public namespace is exactly what the API reference (docs/predictor.md) documents."""

import re

from support.paths import REPO

import predictor


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
