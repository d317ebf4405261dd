"""The turn pipeline: durable per-thread inboxes drained in order, one process at a time.

`accept` puts an inbound event into its thread's inbox (the first thing the
process does with it) and makes sure a drain task runs for the thread.  A
drain task claims the thread's lease, hands the inbox head and state to the
turn handler, saves what the handler returns and drops the event in one
atomic step, and goes on until the inbox is empty.  While a turn runs a keeper
renews the lease; if the lease is lost (the process stalled past it and
another process took over) the turn is cancelled before it can write.

Any process picks up a thread whose holder died: `recover` scans the threads
with unhandled events (at start and every `recover_interval`), and a claim
succeeds as soon as the dead holder's lease has expired.  If the store is
down when an event arrives, the event is held in memory and accepted as soon
as the store answers again.

`shutdown` stops taking work, gives running turns a grace period, cancels
what is left (their checkpoints are saved, their events stay in the inbox)
and releases the leases so another process continues at once.

Timers (`schedule`) are events with a time: stored at once, and queued in their
thread's inbox by whichever process finds them due (every `timer_tick`); the
inbox's dedupe makes a timer queued twice by two processes count once.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Awaitable, Callable

from .inbound import Inbound
from .state import InterviewState
from .store import (
    AcceptOutcome,
    CorruptState,
    Forward,
    HandedOff,
    Head,
    Lease,
    LeaseLost,
    SessionStore,
    StoreUnavailable,
    decode_state,
)

log = logging.getLogger(__name__)

# A hand-over between processes (see `Pipeline._claim`): how long a process that received an event waits
# for the holder to let go, how often it asks, and how long one ask stands.  If the holder lets go just
# after the asker gave up, the recovery scan picks the thread up.
HANDOFF_WAIT = 2.0
HANDOFF_POLL = 0.05
WANT_MS = 200


class Held(StrEnum):
    HELD = "held"   # the store is down; the event waits in memory


@dataclass
class TurnResult:
    """What a turn leaves behind: the state to save (None: unchanged) and an optional hand-over."""

    state: InterviewState | None
    forward: Forward | None = None


@dataclass
class TurnInput:
    """One inbox head, decoded."""

    key: str
    event: Inbound
    state: InterviewState | None
    corrupt: CorruptState | None
    checkpoint: Callable[[InterviewState], Awaitable[None]]
    stopping: Callable[[], bool] = lambda: False   # shutdown asks the turn to stop at its next message
    redelivered: bool = False   # a process that died or stopped had started this turn


class Stopped(Exception):
    """Raised by a turn at a message boundary when shutdown asked it to stop (its checkpoint is saved)."""


Handler = Callable[[TurnInput], Awaitable[TurnResult]]
Report = Callable[[str, Inbound, BaseException], Awaitable[None]]


@dataclass
class _Waiting:
    key: str
    raw: str
    event_id: str
    require_thread: bool


@dataclass
class Stats:
    turns: int = 0
    failures: int = 0
    recovered: int = 0
    turn_seconds: list[float] = field(default_factory=list)


class Pipeline:
    def __init__(self, store: SessionStore, handler: Handler, *, report: Report,
                 owns: Callable[[str], bool] = lambda key: True, recover_interval: float = 5.0,
                 timer_tick: float = 1.0):
        self.store = store
        self.handler = handler
        self.report = report          # tells the thread that a turn failed unexpectedly
        self.owns = owns              # can this process deliver to the thread behind a key?
        self.recover_interval = recover_interval
        self.timer_tick = timer_tick
        self.stats = Stats()
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._order: dict[str, asyncio.Lock] = {}
        self._held: list[_Waiting] = []
        self._held_task: asyncio.Task[None] | None = None
        self._recover_task: asyncio.Task[None] | None = None
        self._timer_task: asyncio.Task[None] | None = None
        self._leases: dict[str, Lease] = {}
        self.closing = False
        self._stop_now = False

    # ------------------------------------------------------------ accepting
    async def accept(self, key: str, event: Inbound, *, require_thread: bool) -> AcceptOutcome | Held:
        """Queue an event durably (in arrival order per thread) and start draining its thread."""
        raw = event.model_dump_json()
        # Events of one thread reach the store in the order they reached this process:
        # an uncontended asyncio.Lock is taken without yielding, and waiters are served FIFO.
        lock = self._order.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if any(w.key == key for w in self._held):   # keep order behind held events
                    raise StoreUnavailable("events of this thread are still held")
                outcome = await self.store.accept(key, raw, event.event_id, require_thread=require_thread)
        except StoreUnavailable as exc:
            log.warning("store unavailable, holding event %s for %s: %s", event.event_id, key, exc)
            self._held.append(_Waiting(key, raw, event.event_id, require_thread))
            self._ensure_held_task()
            return Held.HELD
        finally:
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._order.pop(key, None)
        if outcome is AcceptOutcome.QUEUED:
            self.kick(key, waiting=True)
        return outcome

    def _ensure_held_task(self) -> None:
        if self._held_task is None or self._held_task.done():
            self._held_task = asyncio.ensure_future(self._flush_held())

    async def _flush_held(self) -> None:
        delay = 0.2
        while self._held:
            first = self._held[0]
            try:
                outcome = await self.store.accept(first.key, first.raw, first.event_id,
                                                  require_thread=first.require_thread)
            except StoreUnavailable:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except Exception:  # noqa: BLE001 - held events stay held (and logged) until the store takes them
                log.exception("%s: held event %s not accepted; trying again", first.key, first.event_id)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._held.pop(0)
            log.info("held event %s for %s accepted (%s)", first.event_id, first.key, outcome)
            if outcome is AcceptOutcome.QUEUED:
                self.kick(first.key)

    # ------------------------------------------------------------- draining
    def kick(self, key: str, *, waiting: bool = False) -> None:
        """Drain the thread here. `waiting`: this process just received one of its events, so if another
        process holds the thread it is asked to hand it over (see `_claim`)."""
        if self.closing:
            return
        task = self._drains.get(key)
        if task is not None and not task.done():
            self._again.add(key)
            return
        task = asyncio.ensure_future(self._drain(key, waiting))
        self._drains[key] = task
        task.add_done_callback(functools.partial(self._drained, key))

    def _drained(self, key: str, task: asyncio.Task[None]) -> None:
        if self._drains.get(key) is task:
            del self._drains[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("drain of %s failed", key, exc_info=task.exception())
        if key in self._again and not self.closing:
            self._again.discard(key)
            self.kick(key)

    async def _claim(self, key: str, waiting: bool) -> tuple[Lease, Head | None] | None:
        """Claim the thread. A process that received an event while another holds the thread asks the holder
        to hand it over at its next event and tries again for a moment: each process then runs the events
        its load balancer gave it, instead of a busy process keeping every thread it once held."""
        claimed = await self.store.claim(key, want_ms=WANT_MS if waiting else 0)
        deadline = time.monotonic() + HANDOFF_WAIT
        while claimed is None and waiting and not self.closing and time.monotonic() < deadline:
            await asyncio.sleep(HANDOFF_POLL)
            claimed = await self.store.claim(key, want_ms=WANT_MS)
        return claimed

    async def _drain(self, key: str, waiting: bool = False) -> None:
        self._again.discard(key)
        try:
            claimed = await self._claim(key, waiting)
        except StoreUnavailable as exc:
            log.warning("cannot claim %s (store unavailable: %s); the recovery scan retries", key, exc)
            return
        if claimed is None:
            return   # another process drains this thread
        lease, head = claimed
        if head is None:
            return
        self._leases[key] = lease
        try:
            while head is not None and not self.closing:
                await self._turn(lease, head)
                head = await self._next(lease)
            if head is not None:   # closing: leave the rest for another process
                await self.store.release(lease)
        except HandedOff:
            # The process that asked runs what is left, events this process took in meanwhile included.
            self._again.discard(key)
            log.debug("%s: handed over to another process", key)
        except LeaseLost as exc:
            log.warning("%s: %s; stopping here", key, exc)
        except Stopped:
            log.info("%s: stopped at a message boundary for shutdown; the rest is left for another process", key)
        finally:
            self._leases.pop(key, None)

    async def _next(self, lease: Lease) -> Head | None:
        return await self._retrying(lambda: self.store.next(lease), lease.key)

    async def _retrying(self, op: Callable[[], Awaitable], key: str, limit: float = 60.0):
        """Store writes that must not be dropped: retried through a short outage."""
        deadline = time.monotonic() + limit
        delay = 0.1
        while True:
            try:
                return await op()
            except StoreUnavailable as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("%s: store unavailable (%s); retrying", key, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _turn(self, lease: Lease, head: Head) -> None:
        key = lease.key
        try:
            event = Inbound.model_validate_json(head.event_raw)
        except ValueError as exc:
            log.error("%s: unreadable inbox entry dropped (%s)", key, exc)
            await self._retrying(lambda: self.store.complete(lease, None), key)
            return
        state, corrupt = None, None
        if head.state_raw:
            try:
                state = decode_state(head.state_raw)
            except CorruptState as exc:
                corrupt = exc

        async def checkpoint(new_state: InterviewState) -> None:
            await self._retrying(lambda: self.store.checkpoint(lease, new_state), key)

        started = time.perf_counter()
        turn = asyncio.ensure_future(self.handler(TurnInput(key, event, state, corrupt, checkpoint,
                                                            stopping=lambda: self._stop_now,
                                                            redelivered=head.redelivered)))
        keeper = asyncio.ensure_future(self._keep(lease, turn))
        try:
            result = await turn
        except asyncio.CancelledError:
            if turn.cancelled() and not keeper.done():
                raise     # we are being cancelled (shutdown)
            if keeper.done() and keeper.result() is False:
                raise LeaseLost(f"lease on {key} lost during the turn") from None
            raise
        except (LeaseLost, Stopped):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in a turn must not wedge the thread
            self.stats.failures += 1
            log.exception("%s: turn for event %s failed", key, event.event_id)
            await self.report(key, event, exc)
            result = TurnResult(state=None)
        finally:
            keeper.cancel()
            if not turn.done():
                turn.cancel()
        await self._retrying(lambda: self.store.complete(lease, result.state, result.forward), key)
        self.stats.turns += 1
        self.stats.turn_seconds.append(time.perf_counter() - started)
        if result.forward is not None:
            self.kick(result.forward.key)

    async def _keep(self, lease: Lease, turn: asyncio.Future) -> bool:
        """Renew the lease while the turn runs; cancel the turn if the lease is lost."""
        interval = self.store.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.store.renew(lease):
                    log.error("%s: lease lost while a turn was running; cancelling it", lease.key)
                    turn.cancel()
                    return False
            except StoreUnavailable as exc:
                log.warning("%s: could not renew the lease (%s)", lease.key, exc)

    # ------------------------------------------------------------- recovery
    async def recover(self) -> int:
        """Start draining every thread with unhandled events that this process can serve."""
        try:
            keys = await self.store.active()
        except StoreUnavailable as exc:
            log.warning("recovery scan skipped: %s", exc)
            return 0
        started = 0
        for key in keys:
            if self.closing:
                break
            if key not in self._drains and self.owns(key):
                self.kick(key)
                started += 1
        return started

    async def _recover_loop(self) -> None:
        try:
            await self.store.prepare()
        except Exception:  # noqa: BLE001 - a failed migration must not stop the process; it is logged
            log.exception("preparing the store (key migration) failed; old-layout threads stay where they are")
        while not self.closing:
            await self._periodic(self.recover, "recovery scan")
            await asyncio.sleep(self.recover_interval)

    def start(self) -> None:
        if self._recover_task is None:
            self._recover_task = asyncio.ensure_future(self._recover_loop())
        if self._timer_task is None:
            self._timer_task = asyncio.ensure_future(self._timer_loop())

    # --------------------------------------------------------------- timers
    async def schedule(self, key: str, event: Inbound, due_at: float) -> None:
        """Store an event to be queued in `key`'s inbox at `due_at` (wall clock); durable at once."""
        await self._retrying(lambda: self.store.schedule(key, event.model_dump_json(), due_at), key)

    async def fire_due(self, now: float | None = None) -> int:
        """Queue every timer due at `now` in its thread's inbox; how many were queued."""
        try:
            timers = await self.store.due(time.time() if now is None else now)
        except StoreUnavailable as exc:
            log.warning("timer scan skipped: %s", exc)
            return 0
        fired = 0
        for timer in timers:
            if self.closing:
                break
            if not self.owns(timer.key):
                continue
            try:
                event_id = Inbound.model_validate_json(timer.event_raw).event_id
                outcome = await self.store.accept(timer.key, timer.event_raw, event_id, require_thread=True)
                await self.store.drop_timer(timer)
            except ValueError as exc:
                log.error("%s: unreadable timer dropped (%s)", timer.key, exc)
                await self.store.drop_timer(timer)
                continue
            except StoreUnavailable as exc:
                log.warning("%s: timer not queued yet (%s); the next scan retries", timer.key, exc)
                break
            if outcome is AcceptOutcome.QUEUED:
                fired += 1
                self.kick(timer.key)
        return fired

    async def _timer_loop(self) -> None:
        while not self.closing:
            await self._periodic(self.fire_due, "timer scan")
            await asyncio.sleep(self.timer_tick)

    @staticmethod
    async def _periodic(job: Callable[[], Awaitable[int]], what: str) -> None:
        """One round of a background loop: a failure is logged and the loop goes on (it must never die quietly)."""
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("%s failed; trying again next round", what)

    async def settled(self, key: str, timeout: float = 30.0) -> None:
        """Wait until nothing of one thread is running or held here."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self._drains.get(key)
            if task is None:
                if not any(w.key == key for w in self._held):
                    return
                await asyncio.sleep(0.01)
                continue
            await asyncio.wait([task], timeout=max(0.0, deadline - time.monotonic()))

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until no turn runs and nothing is held (tests, console)."""
        deadline = time.monotonic() + timeout
        while (self._drains or self._held) and time.monotonic() < deadline:
            pending = [t for t in self._drains.values() if not t.done()]
            if self._held_task is not None and not self._held_task.done():
                pending.append(self._held_task)
            if not pending:
                await asyncio.sleep(0)
                continue
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))

    async def shutdown(self, grace: float) -> str:
        """Stop taking work, let running turns finish within `grace`, release leases; one summary line."""
        if self.closing:
            return "shutdown: already done"
        started = time.monotonic()
        self.closing = True
        for task in (self._recover_task, self._timer_task):
            if task is not None:
                task.cancel()
        running = [t for t in self._drains.values() if not t.done()]
        done, left = await asyncio.wait(running, timeout=grace) if running else (set(), set())
        leases = list(self._leases.values())
        if left:
            # Past the grace: turns stop before their next message (never in the middle of posting one,
            # which could leave a message the checkpoint does not know about); the rest are cancelled.
            self._stop_now = True
            _, still = await asyncio.wait(left, timeout=3.0)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=2.0)
        released = 0
        for lease in leases:
            try:
                await self.store.release(lease)
                released += 1
            except StoreUnavailable:
                pass
        if self._held_task is not None:
            self._held_task.cancel()
        line = (f"shutdown: {len(done)} turn(s) finished, {len(left)} checkpointed and left for another process, "
                f"{released} lease(s) released, {len(self._held)} held event(s) not stored, "
                f"in {time.monotonic() - started:.1f}s")
        log.info(line)
        return line
