"""Naming a function: a directory, its app.py, or app.py:Class; and what a wrong name tells the user."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.paths import FIXTURES, REPO
from support.server_process import PREDICTOR_CLI

from predictor import Predictor
from predictor._loading import LoadError, load_predictor_class

IRIS = REPO / "functions" / "iris"

TWO_PREDICTORS = """
from pydantic import BaseModel

from predictor import Predictor


class Item(BaseModel):
    x: float


class First(Predictor[Item, Item]):
    def predict(self, batch: list[Item]) -> list[Item]:
        return batch


class Second(Predictor[Item, Item]):
    def predict(self, batch: list[Item]) -> list[Item]:
        return batch
"""


@pytest.mark.parametrize("spec", ["functions/iris", "functions/iris/app.py", "functions/iris/app.py:Iris"])
def test_a_directory_its_app_file_or_a_named_class_all_load_iris(
    spec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)

    predictor_class = load_predictor_class(spec)

    assert issubclass(predictor_class, Predictor)
    assert predictor_class.__name__ == "Iris"
    assert predictor_class.input_model.__name__ == "Features"
    assert predictor_class is load_predictor_class(str(IRIS / "app.py"))


def test_a_named_class_picks_one_of_several(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(TWO_PREDICTORS)

    assert load_predictor_class(f"{tmp_path}/app.py:Second").__name__ == "Second"
    assert load_predictor_class(f"{tmp_path}:First").__name__ == "First"


def test_imported_predictor_classes_are_not_candidates(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from pydantic import BaseModel\n"
        "from predictor import Predictor\n"
        "from _models import Item, Doubled\n"
        "from echo import Echo\n\n\n"
        "class Mine(Echo):\n"
        "    pass\n"
    )
    (tmp_path / "_models.py").write_text((FIXTURES / "_models.py").read_text())
    (tmp_path / "echo.py").write_text((FIXTURES / "echo.py").read_text())

    assert load_predictor_class(str(tmp_path)).__name__ == "Mine"


def test_a_missing_path_says_what_to_name(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "dir"

    with pytest.raises(LoadError) as raised:
        load_predictor_class(str(missing))

    assert str(raised.value) == (
        f"{str(missing)!r}: no {missing}; name a function directory or path/app.py[:Class]"
    )


def test_a_directory_without_app_py_says_what_to_name(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as raised:
        load_predictor_class(str(tmp_path))

    assert str(raised.value) == (
        f"{str(tmp_path)!r}: no {tmp_path / 'app.py'}; name a function directory or path/app.py[:Class]"
    )


def test_two_predictor_classes_without_a_class_name_says_to_name_one(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(TWO_PREDICTORS)

    with pytest.raises(LoadError) as raised:
        load_predictor_class(str(app))

    assert str(raised.value) == (
        f"{app} defines 2 Predictor subclasses (First, Second); name one as {app}:ClassName"
    )


def test_a_file_without_a_predictor_says_so(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("VALUE = 1\n")

    with pytest.raises(LoadError) as raised:
        load_predictor_class(str(app))

    assert str(raised.value) == f"{app} defines 0 Predictor subclasses (none); name one as {app}:ClassName"


def test_a_wrong_class_name_lists_the_predictors_the_file_defines(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(TWO_PREDICTORS)

    with pytest.raises(LoadError) as raised:
        load_predictor_class(f"{app}:Third")

    message = str(raised.value)
    assert message.startswith(f"{app} has no Predictor subclass named 'Third'")
    # The user needs the names they can choose from, not only the one that failed.
    assert "First" in message
    assert "Second" in message


def test_a_class_name_that_is_not_a_predictor_is_refused(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(TWO_PREDICTORS)

    with pytest.raises(LoadError, match=r"has no Predictor subclass named 'Item'"):
        load_predictor_class(f"{app}:Item")


def test_serve_of_a_missing_directory_exits_2_with_the_message_on_stderr() -> None:
    result = subprocess.run(
        [str(PREDICTOR_CLI), "serve", "missing/dir", "--port", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "predictor: 'missing/dir': no missing/dir; name a function directory or path/app.py[:Class]\n"
    )
    assert result.stdout == ""
