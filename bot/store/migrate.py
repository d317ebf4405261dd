"""One-time move of threads stored under the old key layout (before keys carried a hash tag).

Old layout: `{prefix}:{platform}:{workspace}:{channel}:{thread}` (state) and
`...:inbox` (unhandled events), one global `{prefix}:active` set, `...:lease`,
`...:fence` and `{prefix}:event:{id}`.  The store runs this once at start (the
pipeline's first recovery scan waits for it):

* each old state document is copied to its new key (unless one exists there),
  keeping its time to live, and the old key is deleted;
* each old inbox's events are queued, in order, in the new inbox (each delivery
  is deduplicated, so a crash midway repeats nothing) and the old list emptied;
* timers (`{prefix}:timers`) that name an old key are re-added under the new one;
* the old fence counter and the global `active` set are deleted; old leases
  and event ids expire by themselves.

Only one process migrates at a time (a lock key); the others go on at once.
When a scan finishes, `{prefix}:layout` records it, so later starts skip the scan.
Stop processes of the old version before starting the new one: an old process
would keep writing the old layout.  A Redis Cluster never held the old layout
(its scripts were cross-slot), but the scan works there too.
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..state import ThreadRef

if TYPE_CHECKING:
    from .redis_store import RedisStore

log = logging.getLogger(__name__)

LOCK_SECONDS = 300
LAYOUT = "tagged-256"   # the key layout of bot.state (hash-tag buckets); stored once migrated


@dataclass
class Migrated:
    states: int = 0
    events: int = 0
    timers: int = 0
    skipped: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.states or self.events or self.timers or self.skipped)


def legacy_ref(prefix: str, key: str) -> tuple[ThreadRef, str] | None:
    """(thread, "state" or "inbox") for a key in the old layout, else None."""
    if "{" in key or not key.startswith(prefix + ":"):
        return None
    parts = key[len(prefix) + 1:].split(":")
    if len(parts) == 5 and parts[4] == "inbox":
        what, parts = "inbox", parts[:4]
    elif len(parts) == 4:
        what = "state"
    else:
        return None
    if parts[0] in ("budget", "event", "active", "timers") or not all(parts):
        return None
    return ThreadRef(platform=parts[0], workspace=parts[1], channel=parts[2], thread=parts[3]), what


async def _move_state(store: RedisStore, old: str, ref: ThreadRef, report: Migrated) -> None:
    client = store.client
    raw = await client.get(old)
    if raw is None:
        return
    try:   # the document names its thread; trust it over the key when it can be read
        ref = ThreadRef.model_validate(json.loads(raw)["ref"])
    except (ValueError, KeyError, TypeError):
        pass
    ttl_ms = await client.pttl(old)
    new = ref.key(store.prefix)
    if ttl_ms and ttl_ms > 0:
        await client.set(new, raw, nx=True, px=ttl_ms)
    else:
        await client.set(new, raw, nx=True, ex=store.ttl)
    await client.delete(old)
    report.states += 1


async def _move_inbox(store: RedisStore, old: str, ref: ThreadRef, report: Migrated) -> None:
    client = store.client
    new = ref.key(store.prefix)
    while (raw := await client.lindex(old, 0)) is not None:
        # Deduplicated: a repeat after a crash queues nothing twice.
        await store.deliver(new, raw if isinstance(raw, str) else raw.decode())
        await client.lpop(old)
        report.events += 1


async def _move_timers(store: RedisStore, report: Migrated) -> None:
    client, timers = store.client, f"{store.prefix}:timers"
    rows: list[Any] = await client.zrange(timers, 0, -1, withscores=True)
    for member, score in rows:
        try:
            key, event_raw = json.loads(member)
        except (ValueError, TypeError):
            continue
        found = legacy_ref(store.prefix, key)
        if found is None:
            continue
        await client.zadd(timers, {json.dumps([found[0].key(store.prefix), event_raw]): score})
        await client.zrem(timers, member)
        report.timers += 1


async def migrate_legacy(store: RedisStore) -> Migrated:
    """Move every old-layout thread of `store.prefix`; returns what was moved."""
    client, prefix = store.client, store.prefix
    report = Migrated()
    if await client.get(f"{prefix}:layout") == LAYOUT:
        return report
    lock = f"{prefix}:migrate-lock"
    token = secrets.token_hex(8)
    if not await client.set(lock, token, nx=True, ex=LOCK_SECONDS):
        log.info("key migration: another process is migrating; going on")
        return report
    try:
        inboxes: list[tuple[str, ThreadRef]] = []
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            found = legacy_ref(prefix, key)
            if found is None:
                if key.startswith(prefix + ":") and "{" not in key and key.endswith(":fence"):
                    await client.delete(key)
                continue
            ref, what = found
            if what == "inbox":
                inboxes.append((key, ref))   # after the states, so the first turn finds its thread
            elif await client.type(key) == "string":
                await _move_state(store, key, ref, report)
            else:
                report.skipped += 1
        for key, ref in inboxes:
            await _move_inbox(store, key, ref, report)
        await _move_timers(store, report)
        await client.delete(f"{prefix}:active")
        await client.set(f"{prefix}:layout", LAYOUT)
    finally:
        if await client.get(lock) == token:
            await client.delete(lock)
    if report.anything:
        log.warning("key migration: moved %d thread state(s), %d queued event(s) and %d timer(s) to the hash-tagged "
                    "layout (%d key(s) not understood were left alone)", report.states, report.events, report.timers,
                    report.skipped)
    return report
