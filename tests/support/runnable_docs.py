"""The code blocks of README.md and docs/, and what marks them runnable.

A fenced block is runnable when the line before it is an HTML comment, which readers never see:

    <!-- runnable -->                                  run it; it must exit 0
    <!-- runnable: fails -->                           run it; it must exit non-zero
    <!-- runnable: serves http://127.0.0.1:8000/health -->
                                                       start it as a process, ready when that URL answers
    <!-- runnable: file my-iris/app.py -->             write the block to that file

A block right after a runnable one, marked `<!-- output -->`, shows what it prints; `...` stands for
anything, and runs of whitespace for any whitespace. Each `## ` section of a page starts where the
page starts, as a reader following one section would; within it, a `cd` carries to the next block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO

FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
MARK = re.compile(r"<!--\s*(?P<kind>runnable|output)(?::\s*(?P<arg>.*?))?\s*-->\s*\n\s*\Z")
SECTION = re.compile(r"^## (.+)$", re.M)
SHELL = {"bash", "sh", "shell", "console"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    body: str
    mark: str | None  # "runnable", "output" or None
    arg: str  # what follows `runnable:`: "", "fails", "serves URL", "file PATH"
    output: str | None = None  # the output block that follows a runnable one
    section: str = ""  # the `## ` heading the block is under

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, in order, each runnable one carrying its output block."""
    text = page.read_text()
    name = str(page.relative_to(REPO))
    found: list[Block] = []
    previous_end = 0
    for fence in FENCE.finditer(text):
        # A mark counts only when nothing but blank lines lies between it and the fence.
        mark = MARK.search(text, previous_end, fence.start())
        previous_end = fence.end()
        block = Block(
            page=name,
            line=text.count("\n", 0, fence.start()) + 1,
            lang=fence["lang"],
            body=fence["body"],
            mark=mark["kind"] if mark else None,
            arg=(mark["arg"] or "") if mark else "",
            section=_section(text, fence.start()),
        )
        if block.mark == "output":
            if not found or found[-1].mark != "runnable" or found[-1].output is not None:
                raise ValueError(f"{block.where}: an output block must follow a runnable block")
            found[-1] = Block(**{**found[-1].__dict__, "output": block.body})
            continue
        found.append(block)
    return found


def _section(text: str, at: int) -> str:
    headings = SECTION.findall(text, 0, at)
    return headings[-1] if headings else ""


def matches(expected: str, printed: str) -> bool:
    """Whether `printed` is what the output block shows, `...` standing for anything."""
    pattern = r"\s*".join(
        ".*?".join(re.escape(word) for word in chunk.split("...")) for chunk in expected.split()
    )
    return re.fullmatch(r"\s*" + pattern + r"\s*", printed, re.S) is not None
