"""Per-thread interview state: one interface, a Redis and an in-memory backend.

Redis keeps one JSON document per thread (`{prefix}:{platform}:{workspace}:
{channel}:{thread}`), refreshes its TTL on every save, serialises the handling
of one thread's messages with a lock, and remembers event ids so that a
platform's retried delivery is handled once.  Memory does the same inside one
process, for the console and for tests that do not care about persistence.
"""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from contextlib import asynccontextmanager
from typing import AsyncIterator

from pydantic import ValidationError

from .state import SCHEMA_VERSION, InterviewState

log = logging.getLogger(__name__)


class StoreError(Exception):
    """Base for store failures the engine turns into a friendly message."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached; nothing was read or written."""


class CorruptState(StoreError):
    """The stored document is unreadable or from an unknown schema version."""


class LockTimeout(StoreError):
    """Another message of the same thread held the lock for too long."""


def decode_state(raw: str | bytes) -> InterviewState:
    """Parse a stored document, naming what is wrong instead of crashing."""
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise CorruptState(f"the saved interview is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptState("the saved interview is not a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CorruptState(f"the saved interview has schema version {version!r}, this bot reads {SCHEMA_VERSION}")
    try:
        return InterviewState.model_validate(data)
    except ValidationError as exc:
        raise CorruptState(f"the saved interview does not match the schema ({exc.error_count()} problems)") from None


class SessionStore(ABC):
    """What the engine needs from storage."""

    prefix: str = "ib"

    @abstractmethod
    async def load(self, key: str) -> InterviewState | None: ...

    @abstractmethod
    async def save(self, state: InterviewState) -> None: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def first_delivery(self, event_id: str) -> bool:
        """True the first time an event id is seen, False for a repeat."""

    @abstractmethod
    def lock(self, key: str) -> "asyncio.AbstractAsyncContextManager[None]": ...

    async def close(self) -> None:  # pragma: no cover - trivial default
        return None

    def key_for(self, state: InterviewState) -> str:
        return state.ref.key(self.prefix)


class MemoryStore(SessionStore):
    """In-process store: the console default and a stand-in when Redis is not configured."""

    def __init__(self, prefix: str = "ib", ttl_seconds: int = 14 * 86400, dedupe_ttl: int = 3600,
                 max_event_ids: int = 10000):
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.dedupe_ttl = dedupe_ttl
        self._docs: dict[str, tuple[float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max_event_ids = max_event_ids

    async def load(self, key: str) -> InterviewState | None:
        item = self._docs.get(key)
        if item is None:
            return None
        expires, raw = item
        if expires < time.monotonic():
            self._docs.pop(key, None)
            return None
        return decode_state(raw)

    async def save(self, state: InterviewState) -> None:
        self._docs[self.key_for(state)] = (time.monotonic() + self.ttl, state.model_dump_json())

    async def delete(self, key: str) -> None:
        self._docs.pop(key, None)

    async def put_raw(self, key: str, raw: str) -> None:
        """Test hook: store an arbitrary document."""
        self._docs[key] = (time.monotonic() + self.ttl, raw)

    async def first_delivery(self, event_id: str) -> bool:
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now + self.dedupe_ttl
        while len(self._seen) > self._max_event_ids:
            self._seen.popitem(last=False)
        return True

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            yield
        if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
            self._locks.pop(key, None)


# Release the lock only if we still own it (our random token), in one round trip.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""


_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end
"""


class RedisStore(SessionStore):
    """Redis backend shared by every process of a deployment.

    Every public method is one round trip (`round_trips` counts them for the
    benchmark), so a turn costs: dedupe + lock + load + save + unlock.
    """

    def __init__(self, url: str, prefix: str = "ib", ttl_seconds: int = 14 * 86400, dedupe_ttl: int = 3600,
                 lock_timeout: float = 600.0, lock_poll: float = 0.05, max_connections: int = 64):
        import redis.asyncio as redis

        self.prefix = prefix
        self.ttl = ttl_seconds
        self.dedupe_ttl = dedupe_ttl
        self.lock_timeout = lock_timeout
        self.lock_poll = lock_poll
        self.round_trips = 0
        # A blocking pool makes a burst of turns queue for a connection instead
        # of failing with "too many connections".
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                                     decode_responses=True, socket_connect_timeout=2,
                                                     socket_timeout=5, health_check_interval=30)
        self._redis = redis.Redis(connection_pool=pool)
        self._release = self._redis.register_script(_RELEASE)
        self._extend = self._redis.register_script(_EXTEND)
        self._local_locks: dict[str, asyncio.Lock] = {}

    async def _call(self, coro):
        import redis.exceptions as rexc

        self.round_trips += 1
        try:
            return await coro
        except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"Redis is unreachable ({exc.__class__.__name__})") from exc

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def load(self, key: str) -> InterviewState | None:
        raw = await self._call(self._redis.get(key))
        if raw is None:
            return None
        return decode_state(raw)

    async def save(self, state: InterviewState) -> None:
        await self._call(self._redis.set(self.key_for(state), state.model_dump_json(), ex=self.ttl))

    async def put_raw(self, key: str, raw: str) -> None:
        await self._call(self._redis.set(key, raw, ex=self.ttl))

    async def delete(self, key: str) -> None:
        await self._call(self._redis.delete(key))

    async def ttl_of(self, key: str) -> int:
        return await self._call(self._redis.ttl(key))

    async def first_delivery(self, event_id: str) -> bool:
        ok = await self._call(self._redis.set(f"{self.prefix}:event:{event_id}", "1", nx=True, ex=self.dedupe_ttl))
        return bool(ok)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the thread's lock: first come, first served inside this process
        (an asyncio.Lock queues the waiters), mutual exclusion across processes
        (a Redis key with a random token)."""
        local = self._local_locks.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout(self.lock_timeout):
                await local.acquire()
        except TimeoutError:
            raise LockTimeout("another message in this thread is still being handled") from None
        try:
            async with self._redis_lock(key):
                yield
        finally:
            local.release()
            if not local.locked() and not getattr(local, "_waiters", None):
                self._local_locks.pop(key, None)

    @asynccontextmanager
    async def _redis_lock(self, key: str) -> AsyncIterator[None]:
        lock_key = f"{key}:lock"
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self.lock_timeout
        # The lock expires on its own so a crashed process cannot wedge a thread;
        # a live holder keeps extending it, so a long model call never loses it.
        ttl_ms = int(self.lock_timeout * 1000)
        while not await self._call(self._redis.set(lock_key, token, nx=True, px=ttl_ms)):
            if time.monotonic() > deadline:
                raise LockTimeout("another message in this thread is still being handled")
            await asyncio.sleep(self.lock_poll)
        keeper = asyncio.create_task(self._keep_lock(lock_key, token, ttl_ms))
        try:
            yield
        finally:
            keeper.cancel()
            try:
                await self._call(self._release(keys=[lock_key], args=[token]))
            except StoreUnavailable:
                log.warning("could not release lock %s; it will expire on its own", lock_key)

    async def _keep_lock(self, lock_key: str, token: str, ttl_ms: int) -> None:
        try:
            while True:
                await asyncio.sleep(ttl_ms / 3000)
                if not await self._call(self._extend(keys=[lock_key], args=[token, ttl_ms])):
                    log.warning("lost lock %s while holding it", lock_key)
                    return
        except StoreUnavailable:
            log.warning("could not extend lock %s", lock_key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_store(settings) -> SessionStore:
    """Redis when REDIS_URL is set, memory otherwise (the console default)."""
    ttl = settings.session_ttl_seconds
    if settings.redis_url:
        return RedisStore(settings.redis_url, prefix=settings.redis_prefix, ttl_seconds=ttl,
                          dedupe_ttl=settings.dedupe_ttl, lock_timeout=settings.lock_timeout)
    return MemoryStore(prefix=settings.redis_prefix, ttl_seconds=ttl, dedupe_ttl=settings.dedupe_ttl)
