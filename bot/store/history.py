"""Practice history records, per person: one small interface, a Redis and an in-memory backend.

Key naming lives here and nowhere else.  One Redis hash per person and workspace,
`{prefix}:history:{<platform>:<workspace>:<person>}` (the braces keep it in one Redis Cluster slot), with one
field per practice thread (so a scorecard written twice after a crash is still one record) and the record's
JSON as the value.  Every command touches that one key; the key expires `keep_days` after the last write and
records older than that are dropped when read.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import redis.exceptions as rexc
from pydantic import ValidationError

from ..history import DAY, PracticeRecord
from .base import SessionStore, StoreUnavailable
from .memory import MemoryStore
from .redis_store import RedisStore

log = logging.getLogger(__name__)


def person_tag(platform: str, workspace: str, person: str) -> str:
    """The hash tag of one person's history: the platform, the server or workspace, and their id."""
    return f"{{{platform}:{workspace}:{person}}}"


class HistoryStore(ABC):
    prefix: str = "ib"
    keep_days: float = 180

    def key(self, platform: str, workspace: str, person: str) -> str:
        return f"{self.prefix}:history:{person_tag(platform, workspace, person)}"

    @abstractmethod
    async def add(self, platform: str, workspace: str, person: str, thread: str, record: PracticeRecord) -> None:
        """Keep `record` for the person (one per thread: writing it again replaces it)."""

    @abstractmethod
    async def records(self, platform: str, workspace: str, person: str, now: float) -> list[PracticeRecord]:
        """The person's records of the `keep_days` before `now` (unordered)."""


def _decode(values: Mapping[Any, Any], cutoff: float) -> tuple[list[PracticeRecord], list[str]]:
    """(records young enough, fields to drop: too old or unreadable)."""
    kept: list[PracticeRecord] = []
    old: list[str] = []
    for field, raw in values.items():
        try:
            record = PracticeRecord.model_validate_json(raw)
        except ValidationError:
            log.warning("history record %s is unreadable; dropping it", field)
            old.append(field)
            continue
        if record.ended_at >= cutoff:
            kept.append(record)
        else:
            old.append(field)
    return kept, old


class RedisHistory(HistoryStore):
    def __init__(self, store: RedisStore, keep_days: float = 180):
        self.redis = store.client
        self.prefix = store.prefix
        self.keep_days = keep_days

    async def add(self, platform: str, workspace: str, person: str, thread: str, record: PracticeRecord) -> None:
        key = self.key(platform, workspace, person)
        try:
            await self.redis.hset(key, thread, record.model_dump_json())
            await self.redis.expire(key, int(self.keep_days * DAY))
        except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"Redis is unreachable ({exc.__class__.__name__})") from exc

    async def records(self, platform: str, workspace: str, person: str, now: float) -> list[PracticeRecord]:
        key = self.key(platform, workspace, person)
        try:
            values = await self.redis.hgetall(key)
            kept, old = _decode(values, now - self.keep_days * DAY)
            if old:
                await self.redis.hdel(key, *old)
        except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"Redis is unreachable ({exc.__class__.__name__})") from exc
        return kept


class MemoryHistory(HistoryStore):
    def __init__(self, prefix: str = "ib", keep_days: float = 180):
        self.prefix = prefix
        self.keep_days = keep_days
        self._hashes: dict[str, dict[str, str]] = {}

    async def add(self, platform: str, workspace: str, person: str, thread: str, record: PracticeRecord) -> None:
        self._hashes.setdefault(self.key(platform, workspace, person), {})[thread] = record.model_dump_json()

    async def records(self, platform: str, workspace: str, person: str, now: float) -> list[PracticeRecord]:
        values = self._hashes.get(self.key(platform, workspace, person), {})
        kept, old = _decode(values, now - self.keep_days * DAY)
        for field in old:
            values.pop(field, None)
        return kept


def history_for(store: SessionStore, keep_days: float) -> HistoryStore:
    """The history beside the session store: in Redis when the sessions are, else in memory."""
    if isinstance(store, RedisStore):
        return RedisHistory(store, keep_days)
    if not isinstance(store, MemoryStore):
        log.info("store %s has no history backend; keeping practice history in memory", type(store).__name__)
    return MemoryHistory(store.prefix, keep_days)
