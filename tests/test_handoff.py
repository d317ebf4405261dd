"""Two processes on one Redis: each runs the events its load balancer gave it.

A process that receives an event of a thread another process is draining asks
for the thread; the holder lets go after its current turn, so a busy process
does not keep every thread it ever held (which made two processes scale no
better than one).
"""
from __future__ import annotations

import asyncio

from bot.inbound import EventKind, Inbound
from bot.pipeline import Pipeline, TurnInput, TurnResult
from bot.store import RedisStore
from tests.conftest import redis_url
from tests.test_store import REF, seed, state


def reply(n: int) -> Inbound:
    return Inbound(kind=EventKind.REPLY, ref=REF, event_id=f"Ev{n}", text=f"message {n}")


async def test_the_process_that_received_an_event_runs_it_after_the_holders_turn(redis_store):
    other = RedisStore(redis_url(), prefix=redis_store.prefix, lease_ms=redis_store.lease_ms)   # process b
    await seed(redis_store, state())
    key = REF.key(redis_store.prefix)
    ran: list[tuple[str, str]] = []
    first_turn_started = asyncio.Event()

    def handler(name: str):
        async def handle(turn: TurnInput) -> TurnResult:
            ran.append((name, turn.event.event_id))
            if turn.event.event_id == "Ev1":
                first_turn_started.set()
                await asyncio.sleep(0.3)   # a model call
            return TurnResult(state=turn.state)
        return handle

    async def report(key, event, exc):  # pragma: no cover - no turn fails here
        raise AssertionError(exc)

    a = Pipeline(redis_store, handler("a"), report=report)
    b = Pipeline(other, handler("b"), report=report)
    await a.accept(key, reply(1), require_thread=True)
    await first_turn_started.wait()
    await b.accept(key, reply(2), require_thread=True)   # while a is in the middle of Ev1
    await a.accept(key, reply(3), require_thread=True)
    await asyncio.wait_for(asyncio.gather(a.idle(), b.idle()), 10)
    await asyncio.sleep(0)
    assert [e for _, e in ran] == ["Ev1", "Ev2", "Ev3"], "order is the inbox's, whoever runs it"
    assert ran[:2] == [("a", "Ev1"), ("b", "Ev2")], ran
    assert await redis_store.active() == []
    await other.close()
