"""Redis backend shared by every process of a deployment (one server, Sentinel or Cluster).

Keys of one thread `K` (`{prefix}:{platform}:{<tag>}:{workspace}:{channel}:{thread}`,
see `bot.state.ThreadRef.key`): `K` the state document, `K:inbox` a list of
unhandled events, `K:lease` the drain lease (`<fence>:<random>`), `K:fence` the
fencing counter, `K:event:{id}` remembered event ids (dedupe).  Besides, per
bucket tag, `{prefix}:active:{<tag>}` the threads whose inbox may hold events,
and `{prefix}:timers` a sorted set of timers (member: JSON `[key, event]`,
score: when it is due; only single-key commands touch it).  Every key a script
touches carries the same `{tag}`, so each script runs in one Redis Cluster slot.
Every method is one round trip (a Lua script where several keys change
together); `round_trips` counts them.

A command's turn hands over to the thread it opened (another slot): its
`complete` replaces the command's inbox head with the hand-over record, then
delivers it to the new thread (deduplicated there) and drops the record.  A
crash in between leaves the record at the head of an indexed inbox; whoever
claims the command's thread next delivers it again (dedupe makes that safe).

Pooled connections broken by a Redis restart or failover are retried with
backoff and health-checked, so a restart costs a short pause, not an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Any

import redis.exceptions as rexc

from ..state import InterviewState, all_bucket_tags, bucket_tag
from . import scripts
from .base import (
    AcceptOutcome,
    DueTimer,
    Forward,
    HandedOff,
    Head,
    Lease,
    LeaseLost,
    SessionStore,
    StoreUnavailable,
    decode_state,
)
from .connect import RedisClient, RedisTarget, make_client

log = logging.getLogger(__name__)

HANDOVER = "handover:"   # inbox entries starting with this are hand-over records, never events


def _head(reply: Any) -> Head | None:
    if not reply or reply[0] != "event":
        return None
    return Head(event_raw=reply[1], state_raw=reply[2] or None, redelivered=len(reply) > 3 and reply[3] == "1")


def tag_of(key: str) -> str:
    """The hash tag of a thread key (the text between its first braces; a key without one gets a bucket)."""
    start = key.find("{") + 1
    end = key.find("}", start)
    return key[start:end] if start and end > start else bucket_tag(key)


class RedisStore(SessionStore):
    def __init__(self, url: str | None = None, prefix: str = "ib", ttl_seconds: int = 14 * 86400,
                 dedupe_ttl: int = 3600, lease_ms: int = 20_000, max_connections: int = 64, retries: int = 3, *,
                 client: RedisClient | None = None):
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.dedupe_ttl = dedupe_ttl
        self.lease_ms = lease_ms
        self.round_trips = 0
        self._redis = client if client is not None else make_client(
            RedisTarget(url=url, max_connections=max_connections, retries=retries))
        self._scripts = {name: self._redis.register_script(body) for name, body in scripts.ALL.items()}
        self._indexes = [f"{prefix}:active:{{{tag}}}" for tag in all_bucket_tags()]
        self._timers = f"{prefix}:timers"

    @property
    def client(self) -> RedisClient:
        """The underlying client (budgets, health checks, tests and benchmarks use it)."""
        return self._redis

    def index_key(self, key: str) -> str:
        """The index of the bucket `key` belongs to (same hash tag, same slot)."""
        return f"{self.prefix}:active:{{{tag_of(key)}}}"

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
        reply = await self._run("accept", [key, f"{key}:inbox", f"{key}:event:{event_id}", self.index_key(key)],
                                [event_raw, int(require_thread), self.dedupe_ttl, key, self.ttl])
        return AcceptOutcome(reply)

    async def deliver(self, key: str, event_raw: str, state_raw: str = "") -> AcceptOutcome:
        """Queue a hand-over event (and its thread's first state, unless one exists); safe to repeat."""
        event_id = "handover-" + hashlib.sha256(event_raw.encode()).hexdigest()[:24]
        reply = await self._run("deliver", [key, f"{key}:inbox", f"{key}:event:{event_id}", self.index_key(key)],
                                [state_raw, event_raw, self.ttl, self.dedupe_ttl, key])
        return AcceptOutcome(reply)

    async def claim(self, key: str, *, want_ms: int = 0) -> tuple[Lease, Head | None] | None:
        token_part = secrets.token_hex(6)
        reply = await self._run("claim", [f"{key}:lease", f"{key}:fence", f"{key}:inbox", key, self.index_key(key),
                                          f"{key}:want", f"{key}:tried"],
                                [token_part, self.lease_ms, key, int(want_ms), self.ttl])
        if not reply:
            return None
        lease = Lease(key=key, token=reply[1])
        if reply[0] != "claimed":
            return lease, None
        return lease, await self._past_handovers(lease, _head(reply[2:]))

    async def next(self, lease: Lease) -> Head | None:
        return await self._past_handovers(lease, await self._next(lease))

    async def _next(self, lease: Lease) -> Head | None:
        key = lease.key
        reply = await self._run("next", [f"{key}:lease", f"{key}:inbox", key, self.index_key(key), f"{key}:want",
                                         f"{key}:tried"], [lease.token, key, self.ttl])
        if reply[0] == "lost":
            raise LeaseLost(f"lease on {key} is no longer ours")
        if reply[0] == "handed_off":
            raise HandedOff(f"{key}: handed over to the process that asked for it")
        return _head(reply)

    async def _past_handovers(self, lease: Lease, head: Head | None) -> Head | None:
        """Finish hand-overs a crashed holder left at the head of the inbox; the first real event."""
        while head is not None and head.event_raw.startswith(HANDOVER):
            log.info("%s: finishing a hand-over left by an interrupted turn", lease.key)
            await self._hand_over(lease, head.event_raw)
            head = await self._next(lease)
        return head

    async def _hand_over(self, lease: Lease, record: str) -> None:
        data = json.loads(record[len(HANDOVER):])
        await self.deliver(data["key"], data["event"], data["state"])
        if not await self._run("retire", [f"{lease.key}:lease", f"{lease.key}:inbox"], [lease.token, record]):
            raise LeaseLost(f"lease on {lease.key} is no longer ours")

    async def checkpoint(self, lease: Lease, state: InterviewState) -> None:
        key = self.key_for(state)
        ok = await self._run("checkpoint", [f"{lease.key}:lease", key],
                             [lease.token, state.model_dump_json(), self.ttl])
        if not ok:
            raise LeaseLost(f"lease on {lease.key} is no longer ours")

    async def complete(self, lease: Lease, state: InterviewState | None, forward: Forward | None = None) -> None:
        key = lease.key
        args: list[Any] = [lease.token, state.model_dump_json() if state is not None else "", self.ttl]
        record = None
        if forward is not None:
            record = HANDOVER + json.dumps({"key": forward.key, "state": forward.state.model_dump_json(),
                                            "event": forward.event_raw})
            args.append(record)
        if not await self._run("complete", [f"{key}:lease", key, f"{key}:inbox"], args):
            raise LeaseLost(f"lease on {key} is no longer ours")
        if record is not None:
            await self._hand_over(lease, record)

    async def renew(self, lease: Lease) -> bool:
        return bool(await self._run("renew", [f"{lease.key}:lease"], [lease.token, self.lease_ms]))

    async def release(self, lease: Lease) -> None:
        await self._run("release", [f"{lease.key}:lease", f"{lease.key}:inbox", self.index_key(lease.key)],
                        [lease.token, lease.key])

    async def active(self) -> list[str]:
        """Every bucket's index, read in one pipelined batch (per cluster node)."""
        pipe = self._redis.pipeline(transaction=False)
        for index in self._indexes:
            pipe.smembers(index)
        found = await self._call(pipe.execute())
        return sorted(key for members in found for key in members)

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

    async def prepare(self) -> None:
        """Move threads stored under the old, untagged key layout (once; see `migrate.py`)."""
        from .migrate import migrate_legacy

        await migrate_legacy(self)

    async def close(self) -> None:
        await self._redis.aclose()
