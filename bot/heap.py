"""Keep the garbage collector out of turn latency.

A bot process imports a lot (two model SDKs, pydantic models by the thousand)
and keeps it all for its whole life.  CPython's oldest-generation collection
walks every one of those objects, and in a turn that happens to trigger it,
costs 50-150 ms.  Freezing the heap once, when the process is about to serve,
moves what exists then out of the collector's sight: later collections look
only at what turns create.  Objects that die later are still freed by
reference counting; only reference cycles among the frozen ones would stay.
"""
from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

_settled = False


def settle_heap() -> int:
    """Collect once, then freeze what is left (once per process); the number of objects frozen."""
    global _settled
    if _settled:
        return 0
    _settled = True
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("heap settled: %d objects frozen", frozen)
    return frozen
