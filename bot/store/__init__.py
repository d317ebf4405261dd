"""Per-thread state, inbox and lease: one contract, a Redis and an in-memory backend."""
from __future__ import annotations

from .base import (
    AcceptOutcome,
    CorruptState,
    DueTimer,
    Forward,
    Head,
    Lease,
    LeaseLost,
    SessionStore,
    StoreError,
    StoreUnavailable,
    decode_state,
)
from .memory import MemoryStore
from .redis_store import RedisStore

__all__ = ["AcceptOutcome", "CorruptState", "DueTimer", "Forward", "Head", "Lease", "LeaseLost", "MemoryStore",
           "RedisStore", "SessionStore", "StoreError", "StoreUnavailable", "decode_state", "make_store"]


def make_store(settings) -> SessionStore:
    """Redis when REDIS_URL is set, memory otherwise (the console default)."""
    ttl = settings.session_ttl_seconds
    lease_ms = int(settings.lease_seconds * 1000)
    if settings.redis_url:
        return RedisStore(settings.redis_url, prefix=settings.redis_prefix, ttl_seconds=ttl,
                          dedupe_ttl=settings.dedupe_ttl, lease_ms=lease_ms)
    return MemoryStore(prefix=settings.redis_prefix, ttl_seconds=ttl, dedupe_ttl=settings.dedupe_ttl,
                       lease_ms=lease_ms)
