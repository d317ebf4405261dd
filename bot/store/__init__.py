"""Per-thread state, inbox and lease: one contract, a Redis and an in-memory backend."""
from __future__ import annotations

from .base import (
    AcceptOutcome,
    CorruptState,
    DueTimer,
    Forward,
    HandedOff,
    Head,
    Lease,
    LeaseLost,
    SessionStore,
    StoreError,
    StoreUnavailable,
    decode_state,
)
from .connect import RedisMode, RedisTarget, make_client, target_from_settings
from .memory import MemoryStore
from .redis_store import RedisStore

__all__ = ["AcceptOutcome", "CorruptState", "DueTimer", "Forward", "HandedOff", "Head", "Lease", "LeaseLost",
           "MemoryStore", "RedisMode", "RedisStore", "RedisTarget", "SessionStore", "StoreError", "StoreUnavailable",
           "decode_state", "make_client", "make_store", "target_from_settings"]


def make_store(settings) -> SessionStore:
    """Redis when REDIS_URL (or, with REDIS_MODE=sentinel, REDIS_SENTINELS) is set, memory otherwise."""
    ttl = settings.session_ttl_seconds
    lease_ms = int(settings.lease_seconds * 1000)
    target = target_from_settings(settings)
    if target is not None:
        return RedisStore(prefix=settings.redis_prefix, ttl_seconds=ttl, dedupe_ttl=settings.dedupe_ttl,
                          lease_ms=lease_ms, client=make_client(target))
    return MemoryStore(prefix=settings.redis_prefix, ttl_seconds=ttl, dedupe_ttl=settings.dedupe_ttl,
                       lease_ms=lease_ms)
