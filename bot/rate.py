"""Token buckets for platform rate limits, in this process or shared by every process through Redis.

Some platform limits hold per workspace, whatever number of bot processes post
into it (Slack allows about 50 `chat.update` a minute per workspace).  With
Redis configured the bucket lives there (one key, one script per take, so it
works on a Redis Cluster too) and every process draws from the same tokens;
without Redis, or while Redis is unreachable, each process keeps its own.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Bucket(Protocol):
    async def try_take(self) -> bool:
        """Take a token if one is there."""

    async def take(self) -> None:
        """Take a token, waiting for one."""

    async def level(self) -> float:
        """Tokens available now."""


class LocalBucket:
    """`capacity` calls at once, refilled at `rate` per second, for this process."""

    def __init__(self, capacity: float, rate: float):
        self.capacity, self.rate = capacity, rate
        self.tokens = capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take_now(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def try_take(self) -> bool:
        return self.take_now()

    async def take(self) -> None:
        while not self.take_now():
            await asyncio.sleep(max(0.005, (1 - self.tokens) / self.rate))

    async def level(self) -> float:
        self._refill()
        return self.tokens


# KEYS: the bucket.  ARGV: capacity, rate per second, take (1/0).  Redis's own clock, so every process
# agrees on the time.  Returns {granted, tokens left}.
TAKE = """
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('hmget', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(v[1]) or capacity
local stamp = tonumber(v[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local granted = 0
if ARGV[3] == '1' and tokens >= 1 then
  tokens = tokens - 1
  granted = 1
end
redis.call('hset', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('expire', KEYS[1], 3600)
return {granted, tostring(tokens)}
"""


class SharedBucket:
    """The same bucket for every process on one Redis; falls back to a local one while Redis is down."""

    def __init__(self, client: Any, key: str, capacity: float, rate: float):
        self.key, self.capacity, self.rate = key, capacity, rate
        self._script = client.register_script(TAKE)
        self.local = LocalBucket(capacity, rate)

    async def _run(self, take: bool) -> tuple[bool, float] | None:
        try:
            granted, tokens = await self._script(keys=[self.key], args=[self.capacity, self.rate, int(take)])
        except Exception as exc:  # noqa: BLE001 - a rate bucket must never stop a post
            log.warning("shared rate bucket %s unavailable (%s); counting in this process", self.key, exc)
            return None
        return bool(int(granted)), float(tokens)

    async def try_take(self) -> bool:
        got = await self._run(take=True)
        return self.local.take_now() if got is None else got[0]

    async def take(self) -> None:
        while True:
            got = await self._run(take=True)
            if got is None:
                await self.local.take()
                return
            granted, tokens = got
            if granted:
                return
            await asyncio.sleep(max(0.005, (1 - tokens) / self.rate))

    async def level(self) -> float:
        got = await self._run(take=False)
        return await self.local.level() if got is None else got[1]


def workspace_bucket(store: Any, name: str, capacity: float, rate: float) -> Bucket:
    """A bucket shared through the store's Redis when there is one (key `{prefix}:rate:{name}`), else local."""
    client = getattr(store, "client", None)
    if client is None:
        return LocalBucket(capacity, rate)
    return SharedBucket(client, f"{store.prefix}:rate:{{{name}}}", capacity, rate)
