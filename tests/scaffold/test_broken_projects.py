"""A project broken on purpose is noticed: the generated tests can fail, and predictor check names
what is wrong and how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.fresh_install import FreshInstall


@pytest.fixture
def project(fresh: FreshInstall, tmp_path: Path) -> Path:
    return fresh.init(tmp_path)


def test_an_http_event_of_the_wrong_shape_fails_the_generated_tests(
    fresh: FreshInstall, project: Path
) -> None:
    event_file = project / "events" / "rest-api.json"
    event = json.loads(event_file.read_text())
    del event["httpMethod"]
    event_file.write_text(json.dumps(event))
    done = fresh.run(["make", "test"], project)
    assert done.returncode != 0
    assert "event='rest-api.json'" in done.stderr
    assert "400 != 200" in done.stderr


def test_a_predictor_that_answers_one_label_for_everything_fails_the_generated_tests(
    fresh: FreshInstall, project: Path
) -> None:
    app = project / "app.py"
    app.write_text(app.read_text().replace("label=self.labels[int(p.argmax())]", "label=self.labels[1]"))
    done = fresh.run(["make", "test"], project)
    assert done.returncode != 0
    assert "FAIL: test_each_class_is_told_apart" in done.stderr


def test_a_template_naming_a_missing_directory_fails_predictor_check_with_its_line(
    fresh: FreshInstall, project: Path
) -> None:
    template = project / "template.yaml"
    template.write_text(template.read_text().replace("ContentUri: layer/", "ContentUri: layers/runtime/"))
    done = fresh.run([str(fresh.bin / "predictor"), "check", "."], project)
    assert done.returncode == 1
    assert "FAIL  template.yaml" in done.stdout
    assert "ContentUri layers/runtime/ is not a directory" in done.stdout
    assert "template.yaml: make template.yaml name the files the project has" in done.stdout


def test_a_handler_module_no_code_directory_holds_fails_predictor_check(
    fresh: FreshInstall, project: Path
) -> None:
    (project / "app.py").rename(project / "predictor_app.py")
    done = fresh.run([str(fresh.bin / "predictor"), "check", "predictor_app.py"], project)
    assert done.returncode == 1
    assert "Handler app.handler names app.py, which no CodeUri holds" in done.stdout


def test_a_schema_without_an_example_is_a_warning_that_says_how_to_add_one(
    fresh: FreshInstall, project: Path
) -> None:
    app = project / "app.py"
    text = app.read_text()
    start = text.index("    # The example /docs shows")
    end = text.index("\n\n", start)
    app.write_text(text[:start] + text[end + 2 :])
    done = fresh.run([str(fresh.bin / "predictor"), "check", "."], project)
    assert done.returncode == 0, done.stdout
    assert "WARN  schema example" in done.stdout
    assert 'json_schema_extra={"examples": [{...one instance...}]}' in done.stdout
