"""The docs site builds in strict mode (a broken link, anchor or reference, or a page left out of the
navigation, fails the build), and the README stays a short entry point that leads to it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from support.paths import REPO

README_LIMIT_BYTES = 10_000


def test_the_site_builds_in_strict_mode(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "site" / "settings" / "index.html").is_file()
    # The API reference is rendered from the docstrings, not left as a `:::` directive.
    reference = (tmp_path / "site" / "predictor" / "index.html").read_text()
    assert ":::" not in reference
    assert "Raised by a predictor to refuse a request" in reference


def test_the_readme_is_under_ten_kilobytes() -> None:
    assert len((REPO / "README.md").read_bytes()) < README_LIMIT_BYTES


def test_the_readme_links_only_to_pages_that_exist() -> None:
    readme = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    linked = {target.split("#")[0] for target in targets if target.startswith("docs/")}

    assert linked, "the README leads to the docs"
    assert {target for target in linked if not (REPO / target).is_file()} == set()
