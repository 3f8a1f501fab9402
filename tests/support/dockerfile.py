"""A small Dockerfile reader for tests: instructions, exec-form arguments, ENV, LABEL and ARG values."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Dockerfile:
    instructions: list[tuple[str, str]]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        text = re.sub(r"\\\n", " ", path.read_text())
        instructions = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                keyword, _, rest = line.partition(" ")
                instructions.append((keyword.upper(), rest.strip()))
        return cls(instructions)

    def all(self, keyword: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == keyword]

    def last(self, keyword: str) -> str:
        return self.all(keyword)[-1]

    def exec_form(self, keyword: str) -> list[str]:
        """ENTRYPOINT/CMD in exec form (a JSON array); shell form would not receive signals."""
        value = json.loads(self.last(keyword))
        assert isinstance(value, list), f"{keyword} must be a JSON array"
        return [str(item) for item in value]

    def pairs(self, keyword: str) -> dict[str, str]:
        """ENV, LABEL or ARG as name=value pairs (ARG without a value maps to "")."""
        found: dict[str, str] = {}
        for rest in self.all(keyword):
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                found[name] = value
        return found

    def env(self) -> dict[str, str]:
        expanded: dict[str, str] = {}
        for name, value in self.pairs("ENV").items():
            expanded[name] = re.sub(r"\$(\w+)", lambda m: f"${{{m.group(1)}}}", value)
        return expanded
