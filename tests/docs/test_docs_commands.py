"""Every command the README and the docs site show runs as shown: each page's runnable blocks run in
order, as one shell session, and print what their output blocks say. A shell block left unmarked
must be one the tests cannot run, for a reason listed in NOT_RUNNABLE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.runnable_docs import Block, blocks, matches, pages
from support.shell_session import ShellSession

# Why a shell block is shown but not run: a line of it (after any `VAR=value` prefix) needs what the
# tests' machine has no access to, or is the suite itself.
NOT_RUNNABLE = {
    r"sam (build|deploy|delete|logs)\b": "needs an AWS account (and sam build, python3.12)",
    r"aws\b": "calls an AWS account",
    r"awscurl\b": "calls an AWS account",
    r"out\(\) \{|.*\$\(out ": "reads a deployed stack's outputs from an AWS account",
    r"docker\b": "needs Docker, which the tests' machine lacks",
    r"make test\b": "is the test suite itself",
    r"pip install\b": "installs from PyPI into the reader's own environment",
    r"predictor init\b": "makes a new project outside this repository",
}


def reason_not_run(block: Block) -> str | None:
    for line in block.body.splitlines():
        command = re.sub(r"^\s*(?:[A-Z_]+=\S*\s+)*", "", line)
        for pattern, reason in NOT_RUNNABLE.items():
            if re.match(pattern, command):
                return reason
    return None


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_shell_block_runs_or_says_why_it_cannot(page: Path) -> None:
    unexplained = [
        block.where
        for block in blocks(page)
        if block.is_shell and block.mark is None and reason_not_run(block) is None
    ]

    assert unexplained == [], "mark these <!-- runnable --> or add why they cannot run to NOT_RUNNABLE"


RUNNABLE_PAGES = [page for page in pages() if any(block.mark == "runnable" for block in blocks(page))]


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda page: page.name)
def test_the_runnable_blocks_of_the_page_run_as_shown(page: Path, tmp_path: Path) -> None:
    runnable = [block for block in blocks(page) if block.mark == "runnable"]
    session = ShellSession(tmp_path, runnable)
    try:
        section = None
        for block in runnable:
            if block.section != section:
                session.new_section()
                section = block.section
            if block.arg.startswith("file "):
                session.write(block)
            elif block.arg.startswith("serves "):
                session.serve(block)
            else:
                ran = session.run(block)
                expected_to_fail = block.arg == "fails"
                assert (ran.returncode != 0) == expected_to_fail, (
                    f"{block.where} exited {ran.returncode}:\n{ran.printed}"
                )
                if block.output is not None:
                    expected = session.moved(block.output)
                    assert matches(expected, ran.printed), (
                        f"{block.where} printed:\n{ran.printed}\nnot:\n{expected}"
                    )
    finally:
        session.close()
