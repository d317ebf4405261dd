"""What the core needs from storage: a durable per-thread inbox, leases, state.

Each thread has three things in the store:

* its **state**, one JSON document (`InterviewState`) with a TTL;
* its **inbox**, the inbound events not yet handled, oldest first;
* its **lease**: which process drains the inbox right now.  A lease is short
  (seconds), renewed while a turn runs and carries a fencing token: every
  write of a lease holder (checkpoint, complete) first checks that the lease
  is still its own, so a process that stalled past its lease can never save
  over newer state.

An event leaves the inbox only in the same atomic step that saves the state
its turn produced, so a crash at any point leaves the event to be handled
again by whichever process takes the lease next.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from ..state import SCHEMA_VERSION, InterviewState


class StoreError(Exception):
    """Base for store failures the engine turns into a friendly message."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached; nothing was read or written."""


class CorruptState(StoreError):
    """The stored document is unreadable or from an unknown schema version."""


class LeaseLost(StoreError):
    """The lease expired or was taken over: this process must not write for the thread."""


class HandedOff(StoreError):
    """Another process asked for the thread (it received one of its events): the lease was released at the
    inbox head for that process to claim; the events left are its to run."""


class AcceptOutcome(StrEnum):
    QUEUED = "queued"          # in the thread's inbox; a worker will handle it
    DUPLICATE = "duplicate"    # this event id was seen before (a platform retry)
    NOT_OURS = "not_ours"      # a reply in a thread that holds no interview


@dataclass(frozen=True)
class Lease:
    """The right to drain one thread's inbox; `token` starts with the fencing number."""

    key: str
    token: str

    @property
    def fence(self) -> int:
        return int(self.token.split(":", 1)[0])


@dataclass(frozen=True)
class Forward:
    """A hand-over written together with `complete`: a new thread's state and first event."""

    key: str
    state: InterviewState
    event_raw: str


@dataclass(frozen=True)
class DueTimer:
    """A timer whose time has come: its event goes into the thread's inbox like any other."""

    key: str
    event_raw: str
    due_at: float        # wall-clock seconds
    member: str = ""     # the backend's handle, for `drop_timer`


@dataclass
class Head:
    """The oldest unhandled event of a thread and the thread's state, read together."""

    event_raw: str
    state_raw: str | None
    redelivered: bool = False   # handed out before, to a process that died or stopped before finishing it


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
    """Storage shared by every process of a deployment (or one process, in memory)."""

    prefix: str = "ib"
    lease_ms: int = 20_000

    def key_for(self, state: InterviewState) -> str:
        return state.ref.key(self.prefix)

    # -- inbound ---------------------------------------------------------
    @abstractmethod
    async def accept(self, key: str, event_raw: str, event_id: str, *, require_thread: bool) -> AcceptOutcome:
        """Append an event to the thread's inbox unless its id was seen (or, with
        `require_thread`, unless the thread holds no interview); one round trip."""

    # -- draining ----------------------------------------------------------
    @abstractmethod
    async def claim(self, key: str, *, want_ms: int = 0) -> tuple[Lease, Head | None] | None:
        """Take the thread's lease if nobody holds it; with it, the inbox head and state.
        None if another process holds the lease; with `want_ms`, the holder is asked (for that long) to
        hand the lease over at its next event, because this caller will claim again.  A claim of an empty
        inbox releases at once."""

    @abstractmethod
    async def next(self, lease: Lease) -> Head | None:
        """The inbox head and state; None when the inbox is empty, which releases the lease.
        Raises HandedOff (the lease released, events left) when another process asked for the thread
        (see `claim`), LeaseLost when the lease is no longer ours."""

    @abstractmethod
    async def checkpoint(self, lease: Lease, state: InterviewState) -> None:
        """Save the state mid-turn (the event stays in the inbox). Raises LeaseLost."""

    @abstractmethod
    async def complete(self, lease: Lease, state: InterviewState | None, forward: Forward | None = None) -> None:
        """Save the state (if any), drop the inbox head and write `forward`, atomically. Raises LeaseLost."""

    @abstractmethod
    async def renew(self, lease: Lease) -> bool:
        """Extend the lease; False if it is no longer ours."""

    @abstractmethod
    async def release(self, lease: Lease) -> None:
        """Give the lease up (shutdown); unhandled events stay for another process."""

    @abstractmethod
    async def active(self) -> list[str]:
        """Keys of threads whose inbox may hold events (for picking up after a crash)."""

    # -- timers ------------------------------------------------------------
    @abstractmethod
    async def schedule(self, key: str, event_raw: str, due_at: float) -> None:
        """Remember an event to queue in the thread's inbox at `due_at` (wall clock); one round trip."""

    @abstractmethod
    async def due(self, now: float, limit: int = 100) -> list[DueTimer]:
        """Timers due at `now`, oldest first (they stay stored until `drop_timer`)."""

    @abstractmethod
    async def drop_timer(self, timer: DueTimer) -> None:
        """Forget a timer whose event has been queued."""

    # -- reading -----------------------------------------------------------
    @abstractmethod
    async def load(self, key: str) -> InterviewState | None:
        """The thread's state, outside any turn (read only)."""

    async def ping(self) -> None:
        return None

    async def prepare(self) -> None:
        """Once, before the first recovery scan: bring stored data up to this version's layout."""
        return None

    async def close(self) -> None:
        return None
