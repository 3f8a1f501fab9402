"""One wheel and one fresh virtualenv for every test of the new user's path (they take a minute)."""

from __future__ import annotations

import pytest
from support.fresh_install import FreshInstall, build_distributions, make_virtualenv


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    wheel, sdist = build_distributions(tmp_path_factory.mktemp("dist"))
    venv = tmp_path_factory.mktemp("user") / "venv"
    make_virtualenv(venv, wheel)
    return FreshInstall(wheel, sdist, venv)
