"""In-process store: the console default, and tests that do not need persistence.

Same contract as the Redis store (inbox, lease with fencing token, atomic
complete) so the pipeline above it cannot tell the difference.
"""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque

from ..state import InterviewState
from .base import AcceptOutcome, DueTimer, Forward, HandedOff, Head, Lease, LeaseLost, SessionStore, decode_state


class MemoryStore(SessionStore):
    def __init__(self, prefix: str = "ib", ttl_seconds: int = 14 * 86400, dedupe_ttl: int = 3600,
                 lease_ms: int = 20_000, max_event_ids: int = 10_000):
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.dedupe_ttl = dedupe_ttl
        self.lease_ms = lease_ms
        self._docs: dict[str, tuple[float, str]] = {}
        self._inbox: dict[str, deque[str]] = {}
        self._leases: dict[str, tuple[float, str]] = {}
        self._fence = 0
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max_event_ids = max_event_ids
        self._timers: dict[str, DueTimer] = {}
        self._wants: dict[str, float] = {}
        self._tried: dict[str, str] = {}   # thread -> the last inbox head handed out

    # -- helpers -----------------------------------------------------------
    def _raw(self, key: str) -> str | None:
        item = self._docs.get(key)
        if item is None:
            return None
        if item[0] < time.monotonic():
            self._docs.pop(key, None)
            return None
        return item[1]

    def _put(self, key: str, state: InterviewState) -> None:
        self._docs[key] = (time.monotonic() + self.ttl, state.model_dump_json())

    def _holder(self, key: str) -> str | None:
        item = self._leases.get(key)
        if item is None or item[0] < time.monotonic():
            self._leases.pop(key, None)
            return None
        return item[1]

    def _check(self, lease: Lease) -> None:
        if self._holder(lease.key) != lease.token:
            raise LeaseLost(f"lease on {lease.key} is no longer ours")

    def _seen_before(self, event_id: str) -> bool:
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return True
        self._seen[event_id] = now + self.dedupe_ttl
        while len(self._seen) > self._max_event_ids:
            self._seen.popitem(last=False)
        return False

    def _head(self, key: str) -> Head | None:
        inbox = self._inbox.get(key)
        if not inbox:
            self._inbox.pop(key, None)
            return None
        return Head(event_raw=inbox[0], state_raw=self._raw(key))

    def _hand_out(self, key: str, head: Head) -> Head:
        """Remember the head handed out; the same head handed out again was tried before."""
        again = self._tried.get(key) == head.event_raw
        self._tried[key] = head.event_raw
        return Head(event_raw=head.event_raw, state_raw=head.state_raw, redelivered=again)

    # -- contract ----------------------------------------------------------
    async def accept(self, key: str, event_raw: str, event_id: str, *, require_thread: bool) -> AcceptOutcome:
        if require_thread and self._raw(key) is None and not self._inbox.get(key):
            return AcceptOutcome.NOT_OURS
        if self._seen_before(event_id):
            return AcceptOutcome.DUPLICATE
        self._inbox.setdefault(key, deque()).append(event_raw)
        return AcceptOutcome.QUEUED

    async def claim(self, key: str, *, want_ms: int = 0) -> tuple[Lease, Head | None] | None:
        if self._holder(key) is not None:
            if want_ms:
                self._wants[key] = time.monotonic() + want_ms / 1000
            return None
        self._fence += 1
        lease = Lease(key=key, token=f"{self._fence}:{secrets.token_hex(6)}")
        head = self._head(key)
        if head is None:
            return lease, None
        self._leases[key] = (time.monotonic() + self.lease_ms / 1000, lease.token)
        return lease, self._hand_out(key, head)

    async def next(self, lease: Lease) -> Head | None:
        self._check(lease)
        head = self._head(lease.key)
        if head is not None and self._wants.pop(lease.key, 0.0) > time.monotonic():
            self._leases.pop(lease.key, None)
            raise HandedOff(f"{lease.key}: handed over to the process that asked for it")
        if head is None:
            self._leases.pop(lease.key, None)
            return None
        return self._hand_out(lease.key, head)

    async def checkpoint(self, lease: Lease, state: InterviewState) -> None:
        self._check(lease)
        self._put(self.key_for(state), state)

    async def complete(self, lease: Lease, state: InterviewState | None, forward: Forward | None = None) -> None:
        self._check(lease)
        if state is not None:
            self._put(self.key_for(state), state)
        inbox = self._inbox.get(lease.key)
        if inbox:
            inbox.popleft()
        if forward is not None:
            if self._raw(forward.key) is None:
                self._put(forward.key, forward.state)
            self._inbox.setdefault(forward.key, deque()).append(forward.event_raw)

    async def renew(self, lease: Lease) -> bool:
        if self._holder(lease.key) != lease.token:
            return False
        self._leases[lease.key] = (time.monotonic() + self.lease_ms / 1000, lease.token)
        return True

    async def release(self, lease: Lease) -> None:
        if self._holder(lease.key) == lease.token:
            self._leases.pop(lease.key, None)

    async def active(self) -> list[str]:
        return [k for k, v in self._inbox.items() if v]

    async def schedule(self, key: str, event_raw: str, due_at: float) -> None:
        member = f"{key}\n{event_raw}"
        self._timers[member] = DueTimer(key=key, event_raw=event_raw, due_at=due_at, member=member)

    async def due(self, now: float, limit: int = 100) -> list[DueTimer]:
        ready = sorted((t for t in self._timers.values() if t.due_at <= now), key=lambda t: t.due_at)
        return ready[:limit]

    async def drop_timer(self, timer: DueTimer) -> None:
        self._timers.pop(timer.member, None)

    async def load(self, key: str) -> InterviewState | None:
        raw = self._raw(key)
        return None if raw is None else decode_state(raw)
