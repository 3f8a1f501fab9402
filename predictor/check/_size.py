"""The unzipped size of a built function and its layer, from a `sam build` directory."""

from __future__ import annotations

from pathlib import Path

# Lambda's limit on a zip function with all its layers, unzipped.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


def directory_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


def largest_function_and_layer(build_dir: Path) -> tuple[str, int, str | None, int]:
    """The largest built function and the largest layer (a layer's build holds python/), by bytes.
    A function of the stack never carries more than one runtime layer, so their sum bounds each."""
    functions: dict[str, int] = {}
    layers: dict[str, int] = {}
    for entry in build_dir.iterdir():
        if entry.is_dir():
            (layers if (entry / "python").is_dir() else functions)[entry.name] = directory_bytes(entry)
    if not functions:
        raise FileNotFoundError(f"{build_dir} holds no built function; run sam build")
    function = max(functions, key=functions.__getitem__)
    layer = max(layers, key=layers.__getitem__) if layers else None
    return function, functions[function], layer, layers[layer] if layer else 0
