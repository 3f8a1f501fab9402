"""Lambda SnapStart: setup runs before the snapshot; after a restore, nothing stale is reused.

Restored environments share the snapshot's memory: cached AWS clients hold
connections and credentials from snapshot time, and random generators would
produce the same sequence in every restored copy.
"""

from __future__ import annotations

import random
import sys
from typing import Any

from predictor._log import logger
from predictor.artifacts._s3 import reset_clients
from predictor.runtime import Runtime

_registered: set[int] = set()


def register_snapstart_hooks(runtime: Runtime) -> bool:
    """Register the hooks when the runtime offers snapshot_restore_py; otherwise do nothing."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    if id(runtime) in _registered:
        return True
    _registered.add(id(runtime))
    register_before_snapshot(before_snapshot, runtime)
    register_after_restore(after_restore)
    return True


def before_snapshot(runtime: Runtime) -> None:
    if runtime.failure is not None:
        logger().warning("snapshot taken while not ready", extra={"reason": runtime.failure})


def after_restore() -> None:
    reset_clients()
    # An event function made its clients at init (before the snapshot); a function serving
    # only HTTP never loaded them.
    event_clients: Any = sys.modules.get("predictor.aws_lambda._clients")
    if event_clients is not None:
        event_clients.reset_clients()
    random.seed()
    numpy: Any = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
