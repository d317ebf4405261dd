"""Redis backend shared by every process of a deployment.

Keys of one thread `K` (`{prefix}:{platform}:{workspace}:{channel}:{thread}`):
`K` the state document, `K:inbox` a list of unhandled events, `K:lease` the
drain lease (`<fence>:<random>`), `K:fence` the fencing counter.  Besides:
`{prefix}:event:{id}` remembers event ids (dedupe) and `{prefix}:active` the
threads whose inbox may hold events, `{prefix}:timers` a sorted set of timers
(member: JSON `[key, event]`, score: when it is due).  Every method is one round trip (a Lua
script where several keys change together); `round_trips` counts them.

Pooled connections broken by a Redis restart are retried with backoff and
health-checked, so a restart costs a short pause, not an error message.
"""
from __future__ import annotations

import json
import secrets
from typing import Any

import redis.asyncio as redis
import redis.exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from ..state import InterviewState
from . import scripts
from .base import AcceptOutcome, DueTimer, Forward, Head, Lease, LeaseLost, SessionStore, StoreUnavailable, decode_state


def _head(reply: Any) -> Head | None:
    if not reply or reply[0] != "event":
        return None
    return Head(event_raw=reply[1], state_raw=reply[2] or None)


class RedisStore(SessionStore):
    def __init__(self, url: str, prefix: str = "ib", ttl_seconds: int = 14 * 86400, dedupe_ttl: int = 3600,
                 lease_ms: int = 20_000, max_connections: int = 64, retries: int = 3):
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.dedupe_ttl = dedupe_ttl
        self.lease_ms = lease_ms
        self.round_trips = 0
        retry = Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), retries)
        # A blocking pool makes a burst of turns queue for a connection instead of failing.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, decode_responses=True, socket_connect_timeout=1,
            socket_timeout=5, health_check_interval=10, retry=retry,
            retry_on_error=[rexc.ConnectionError, rexc.TimeoutError])
        self._redis = redis.Redis(connection_pool=pool)
        self._scripts = {name: self._redis.register_script(body) for name, body in scripts.ALL.items()}
        self._active = f"{prefix}:active"
        self._timers = f"{prefix}:timers"

    @property
    def client(self) -> redis.Redis:
        """The underlying client (tests and benchmarks inspect keys with it)."""
        return self._redis

    async def _call(self, coro: Any) -> Any:
        self.round_trips += 1
        try:
            return await coro
        except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
            raise StoreUnavailable(f"Redis is unreachable ({exc.__class__.__name__})") from exc

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._call(self._scripts[name](keys=keys, args=args))

    # -- contract ----------------------------------------------------------
    async def accept(self, key: str, event_raw: str, event_id: str, *, require_thread: bool) -> AcceptOutcome:
        reply = await self._run("accept", [key, f"{key}:inbox", f"{self.prefix}:event:{event_id}", self._active],
                                [event_raw, int(require_thread), self.dedupe_ttl, key, self.ttl])
        return AcceptOutcome(reply)

    async def claim(self, key: str) -> tuple[Lease, Head | None] | None:
        token_part = secrets.token_hex(6)
        reply = await self._run("claim", [f"{key}:lease", f"{key}:fence", f"{key}:inbox", key, self._active],
                                [token_part, self.lease_ms, key])
        if not reply:
            return None
        lease = Lease(key=key, token=reply[1])
        return lease, _head(reply[2:]) if reply[0] == "claimed" else None

    async def next(self, lease: Lease) -> Head | None:
        key = lease.key
        reply = await self._run("next", [f"{key}:lease", f"{key}:inbox", key, self._active], [lease.token, key])
        if reply[0] == "lost":
            raise LeaseLost(f"lease on {key} is no longer ours")
        return _head(reply)

    async def checkpoint(self, lease: Lease, state: InterviewState) -> None:
        key = self.key_for(state)
        ok = await self._run("checkpoint", [f"{lease.key}:lease", key],
                             [lease.token, state.model_dump_json(), self.ttl])
        if not ok:
            raise LeaseLost(f"lease on {lease.key} is no longer ours")

    async def complete(self, lease: Lease, state: InterviewState | None, forward: Forward | None = None) -> None:
        key = lease.key
        keys = [f"{key}:lease", key, f"{key}:inbox"]
        args: list[Any] = [lease.token, state.model_dump_json() if state is not None else "", self.ttl]
        if forward is not None:
            keys += [forward.key, f"{forward.key}:inbox", self._active]
            args += [forward.state.model_dump_json(), forward.event_raw, forward.key]
        if not await self._run("complete", keys, args):
            raise LeaseLost(f"lease on {key} is no longer ours")

    async def renew(self, lease: Lease) -> bool:
        return bool(await self._run("renew", [f"{lease.key}:lease"], [lease.token, self.lease_ms]))

    async def release(self, lease: Lease) -> None:
        await self._run("release", [f"{lease.key}:lease", f"{lease.key}:inbox", self._active],
                        [lease.token, lease.key])

    async def active(self) -> list[str]:
        return list(await self._call(self._redis.smembers(self._active)))

    async def schedule(self, key: str, event_raw: str, due_at: float) -> None:
        await self._call(self._redis.zadd(self._timers, {json.dumps([key, event_raw]): due_at}))

    async def due(self, now: float, limit: int = 100) -> list[DueTimer]:
        rows = await self._call(self._redis.zrangebyscore(self._timers, "-inf", now, start=0, num=limit,
                                                          withscores=True))
        timers = []
        for member, score in rows:
            try:
                key, event_raw = json.loads(member)
            except (ValueError, TypeError):
                await self._call(self._redis.zrem(self._timers, member))   # unreadable: nothing to queue
                continue
            timers.append(DueTimer(key=key, event_raw=event_raw, due_at=float(score), member=member))
        return timers

    async def drop_timer(self, timer: DueTimer) -> None:
        await self._call(self._redis.zrem(self._timers, timer.member))

    async def load(self, key: str) -> InterviewState | None:
        raw = await self._call(self._redis.get(key))
        return None if raw is None else decode_state(raw)

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
