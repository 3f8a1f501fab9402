"""What a SAM template beside the function names on disk: code and layer directories, handler modules.

Read as text, line by line (CloudFormation's tags need a YAML loader of their own, which the
runtime does not carry): `CodeUri:`, `ContentUri:` and `Handler:` values that are local paths.
"""

from __future__ import annotations

import re
from pathlib import Path

PROPERTY = re.compile(r"^\s*(CodeUri|ContentUri|Handler):\s*([^\s#!][^\s#]*)\s*(#.*)?$")


def missing_files(template: Path) -> list[str]:
    """Each file or directory the template names that is not there, with the line naming it."""
    root = template.parent
    found: list[str] = []
    code_dirs: list[Path] = []
    handlers: list[tuple[int, str]] = []
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        match = PROPERTY.match(line)
        if match is None:
            continue
        key, value = match[1], match[2].strip("\"'")
        if key == "Handler":
            handlers.append((number, value))
            continue
        if "://" in value:
            continue
        directory = root / value
        if not directory.is_dir():
            found.append(f"line {number}: {key} {value} is not a directory")
        elif key == "CodeUri":
            code_dirs.append(directory)
        elif not any((directory / name).is_file() for name in ("requirements.txt", "Makefile")):
            found.append(f"line {number}: the layer {value} has no requirements.txt for sam build")
    for number, handler in handlers:
        module = handler.rpartition(".")[0].replace(".", "/")
        if code_dirs and not any((code / f"{module}.py").is_file() for code in code_dirs):
            found.append(f"line {number}: Handler {handler} names {module}.py, which no CodeUri holds")
    return found
