"""EMF lines read back as a table: what `predictor invoke` shows of the metrics a function emits."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any, TextIO

EMF_MARK = '{"_aws":'


def rows(line: str) -> list[tuple[str, str, str, str]]:
    """(metric, dimensions, unit, values) for each metric one EMF line declares."""
    document: dict[str, Any] = json.loads(line)
    found = []
    for directive in document["_aws"]["CloudWatchMetrics"]:
        names = [name for dimension_set in directive["Dimensions"] for name in dimension_set]
        dimensions = " ".join(f"{name}={document[name]}" for name in dict.fromkeys(names))
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(f"{v:.4g}" for v in values)
            found.append((metric["Name"], dimensions, metric.get("Unit", "None"), shown))
    return found


def render(lines: Iterable[str]) -> str:
    table = [("metric", "dimensions", "unit", "values")]
    for line in lines:
        table += rows(line)
    widths = [max(len(row[column]) for row in table) for column in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in table
    )


class EmfSplitter(io.TextIOBase):
    """A text stream passing everything to `out` but EMF lines, which it keeps for a table."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.emf: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            if line.startswith(EMF_MARK):
                self.emf.append(line)
            else:
                self.out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial and not self._partial.startswith(EMF_MARK):
            self.out.write(self._partial)
            self._partial = ""
        self.out.flush()
