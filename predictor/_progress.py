"""A progress bar for `predictor fetch` when stderr is a terminal (tqdm, if installed)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def terminal_progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """Yields (set_total, advance) callbacks; both do nothing off a terminal."""
    bar: Any = None
    lock = threading.Lock()

    def set_total(total: int) -> None:
        nonlocal bar
        if not sys.stderr.isatty():
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr)

    def advance(count: int) -> None:
        if bar is not None:
            with lock:
                bar.update(count)

    try:
        yield set_total, advance
    finally:
        if bar is not None:
            bar.close()
