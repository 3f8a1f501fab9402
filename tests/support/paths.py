"""Where the tests find the repository and the fixtures: every path is computed here, once."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
# The fixture predictors: one small predictor class per file, each with a behaviour to test.
FIXTURES = TESTS / "fixtures" / "predictors"
# The sample events users run with `predictor invoke` and `sam local invoke`.
SAMPLES = REPO / "events"
