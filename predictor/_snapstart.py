"""Lambda SnapStart: setup runs before the snapshot; after a restore, nothing stale is reused.

Restored environments share the snapshot's memory: cached AWS clients hold
connections and credentials from snapshot time, and random generators would
produce the same sequence in every restored copy.
"""

from __future__ import annotations

import random
import sys
from typing import Any

from predictor import _aws_clients
from predictor._log import logger
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
    # Every AWS client and cached credential the package holds, whichever module made it.
    _aws_clients.renew()
    random.seed()
    numpy: Any = sys.modules.get("numpy")  # reseeded where loaded, never imported for it
    if numpy is not None:
        numpy.random.seed()
