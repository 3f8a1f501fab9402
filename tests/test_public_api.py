"""The public namespace is exactly what the README documents."""

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


def test_the_package_is_typed() -> None:
    from pathlib import Path

    assert (Path(predictor.__file__).parent / "py.typed").is_file()
