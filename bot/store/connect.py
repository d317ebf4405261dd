"""Redis clients for the three deployments: one server, a Redis Cluster, or a Sentinel-watched primary.

REDIS_MODE picks one:

* `standalone` (default): REDIS_URL names the server.
* `cluster`: REDIS_URL names any node of a Redis Cluster; the client learns the
  others and follows slot moves.  The store's scripts each touch one slot (see
  `bot.state.BUCKETS`), so nothing else changes.
* `sentinel`: REDIS_SENTINELS (`host:port,host:port`) are asked for the primary
  of REDIS_SENTINEL_SERVICE, again after a failover.  REDIS_URL, if set, gives
  only the credentials, database and TLS (`rediss://`) of the primary; its host
  is ignored.

Every client retries a connection broken by a restart or failover with backoff
and health-checks pooled connections.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis.asyncio as redis
import redis.exceptions as rexc
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff

RedisClient = redis.Redis | RedisCluster


class RedisMode(StrEnum):
    STANDALONE = "standalone"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (spaces or semicolons also separate; port 26379 when left out)."""
    nodes = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "26379")
        if not host or not port.isdigit():
            raise ValueError(f"{part!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


@dataclass(frozen=True)
class RedisTarget:
    """Where the store's Redis is and how to reach it (built from settings by `target_from_settings`)."""

    mode: RedisMode = RedisMode.STANDALONE
    url: str | None = None
    sentinels: list[tuple[str, int]] = field(default_factory=list)
    service: str = "mymaster"
    sentinel_password: str | None = None
    max_connections: int = 64
    retries: int = 3


def target_from_settings(settings) -> RedisTarget | None:
    """None when the settings name no Redis (the memory store is used then)."""
    mode = RedisMode(getattr(settings, "redis_mode", "standalone"))
    sentinels = parse_sentinels(getattr(settings, "redis_sentinels", "") or "")
    if not settings.redis_url and not (mode is RedisMode.SENTINEL and sentinels):
        return None
    secret = getattr(settings, "redis_sentinel_password", None)
    return RedisTarget(mode=mode, url=settings.redis_url, sentinels=sentinels,
                       service=getattr(settings, "redis_sentinel_service", "mymaster"),
                       sentinel_password=secret.get_secret_value() if secret is not None else None,
                       max_connections=getattr(settings, "redis_max_connections", 64))


def _common(target: RedisTarget) -> dict[str, Any]:
    retry = Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), target.retries)
    return dict(decode_responses=True, socket_connect_timeout=1, socket_timeout=5, health_check_interval=10,
                retry=retry, retry_on_error=[rexc.ConnectionError, rexc.TimeoutError])


def make_client(target: RedisTarget) -> RedisClient:
    """A redis.asyncio client (or cluster client) for the target; connections open on first use."""
    common = _common(target)
    if target.mode is RedisMode.CLUSTER:
        if not target.url:
            raise ValueError("REDIS_MODE=cluster needs REDIS_URL (any node of the cluster)")
        return RedisCluster.from_url(target.url, max_connections=target.max_connections, **common)
    if target.mode is RedisMode.SENTINEL:
        if not target.sentinels:
            raise ValueError("REDIS_MODE=sentinel needs REDIS_SENTINELS (host:port,host:port)")
        primary: dict[str, Any] = {}
        if target.url:
            primary = {k: v for k, v in parse_url(target.url).items() if k not in ("host", "port", "path")}
            if primary.pop("connection_class", None) is not None:   # rediss:// (the pool picks its own class)
                primary["ssl"] = True
        sentinel_kwargs = {"socket_connect_timeout": 1, "socket_timeout": 5}
        if target.sentinel_password:
            sentinel_kwargs["password"] = target.sentinel_password   # type: ignore[assignment]
        sentinel = Sentinel(target.sentinels, sentinel_kwargs=sentinel_kwargs)
        return sentinel.master_for(target.service, redis_class=redis.Redis, **{**primary, **common})
    if not target.url:
        raise ValueError("REDIS_URL is not set")
    # A blocking pool makes a burst of turns queue for a connection instead of failing.
    pool = redis.BlockingConnectionPool.from_url(target.url, max_connections=target.max_connections, timeout=10,
                                                 **common)
    return redis.Redis(connection_pool=pool)
