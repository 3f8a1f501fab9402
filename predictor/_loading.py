"""Find the Predictor subclass a user names: `functions/iris`, `app.py` or `app.py:Iris`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from predictor.contract import Predictor

APP_FILE = "app.py"


class LoadError(RuntimeError):
    """The named function cannot be loaded; the message says what to fix."""


def load_predictor_class(spec: str) -> type[Predictor[Any, Any]]:
    location, _, class_name = spec.partition(":")
    path = Path(location)
    if path.is_dir():
        path = path / APP_FILE
    if not path.is_file():
        raise LoadError(f"{spec!r}: no {path}; name a function directory or path/app.py[:Class]")
    module = _import_file(path.resolve())
    candidates = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Predictor)
        and value is not Predictor
        and value.__module__ == module.__name__
    ]
    names = ", ".join(c.__name__ for c in candidates) or "none"
    if class_name:
        found = getattr(module, class_name, None)
        if not (isinstance(found, type) and issubclass(found, Predictor)):
            raise LoadError(f"{path} has no Predictor subclass named {class_name!r}; it defines: {names}")
        return found
    if len(candidates) != 1:
        raise LoadError(
            f"{path} defines {len(candidates)} Predictor subclasses ({names}); "
            f"name one as {location}:ClassName"
        )
    return candidates[0]


def _import_file(path: Path) -> Any:
    module_name = f"_predictor_app_{abs(hash(str(path)))}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # Let the app import sibling modules the way Lambda's handler import would.
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[module_name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    return module
