"""The store contract (inbox, lease with fencing, atomic complete) against a real Redis and the in-memory twin."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.inbound import EventKind, Inbound
from bot.state import Answer, InterviewState, Phase, ThreadRef
from bot.store import (
    AcceptOutcome,
    CorruptState,
    Forward,
    LeaseLost,
    MemoryStore,
    RedisStore,
    StoreUnavailable,
    decode_state,
)

REF = ThreadRef(platform="slack", workspace="T1", channel="C1", thread="111.222")


def state(ref: ThreadRef = REF, **kw) -> InterviewState:
    return InterviewState(ref=ref, problem="Design a URL shortener", **kw)


def event(n: int, ref: ThreadRef = REF) -> str:
    return Inbound(kind=EventKind.REPLY, ref=ref, event_id=f"Ev{n}", text=f"message {n}").model_dump_json()


@pytest.fixture(params=["redis", "memory"])
async def store(request, redis_store):
    if request.param == "redis":
        yield redis_store
    else:
        yield MemoryStore(prefix=redis_store.prefix, lease_ms=redis_store.lease_ms)


async def seed(store, s: InterviewState) -> None:
    """Create a thread the way the engine does: a hand-over completed by a command's turn."""
    start_key = s.ref.model_copy(update={"thread": "start.x"}).key(store.prefix)
    assert await store.accept(start_key, event(0), f"cmd-{s.ref.thread}", require_thread=False) is AcceptOutcome.QUEUED
    lease, _ = await store.claim(start_key)
    await store.complete(lease, None, Forward(key=s.ref.key(store.prefix), state=s, event_raw=event(100, s.ref)))
    assert await store.next(lease) is None
    lease, head = await store.claim(s.ref.key(store.prefix))
    await store.complete(lease, None)
    assert await store.next(lease) is None


async def test_key_layout_and_round_trip(store):
    s = state(phase=Phase.WAITING_ANSWERS, questions=["a?", "b?"])
    await seed(store, s)
    key = REF.key(store.prefix)
    assert key == f"{store.prefix}:slack:T1:C1:111.222"
    assert await store.load(key) == s
    assert await store.load(key + "x") is None


async def test_accept_dedupes_and_ignores_threads_that_are_not_interviews(store):
    key = REF.key(store.prefix)
    assert await store.accept(key, event(1), "Ev1", require_thread=True) is AcceptOutcome.NOT_OURS
    await seed(store, state())
    assert await store.accept(key, event(1), "Ev1", require_thread=True) is AcceptOutcome.QUEUED
    assert await store.accept(key, event(1), "Ev1", require_thread=True) is AcceptOutcome.DUPLICATE
    assert await store.active() == [key]


async def test_inbox_is_drained_in_order_and_an_event_leaves_only_with_its_state(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    for n in range(1, 4):
        await store.accept(key, event(n), f"Ev{n}", require_thread=True)
    lease, head = await store.claim(key)
    seen = []
    while head is not None:
        ev = Inbound.model_validate_json(head.event_raw)
        seen.append(ev.text)
        s = decode_state(head.state_raw)
        s.answers.append(Answer(user="u", text=ev.text))
        if ev.text == "message 2":
            await store.checkpoint(lease, s)       # mid-turn: the event stays in the inbox
            again = await store.next(lease)
            assert again is not None and again.event_raw == head.event_raw
        await store.complete(lease, s)
        head = await store.next(lease)
    assert seen == ["message 1", "message 2", "message 3"]
    assert [a.text for a in (await store.load(key)).answers] == seen
    assert await store.active() == []


async def test_one_holder_at_a_time_and_a_stale_holder_cannot_write(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    await store.accept(key, event(1), "Ev1", require_thread=True)
    first, _ = await store.claim(key)
    assert await store.claim(key) is None, "the lease is exclusive"
    await asyncio.sleep(store.lease_ms / 1000 + 0.2)       # the holder stalls past its lease
    second, head = await store.claim(key)
    assert second.fence > first.fence and head is not None
    with pytest.raises(LeaseLost):
        await store.complete(first, state(phase=Phase.ENDED))
    with pytest.raises(LeaseLost):
        await store.checkpoint(first, state(phase=Phase.ENDED))
    assert await store.renew(first) is False
    await store.complete(second, state(phase=Phase.DISCUSSING))
    assert (await store.load(key)).phase is Phase.DISCUSSING


async def test_release_leaves_unhandled_events_for_another_process(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    await store.accept(key, event(1), "Ev1", require_thread=True)
    lease, _ = await store.claim(key)
    assert await store.renew(lease) is True
    await store.release(lease)
    assert await store.active() == [key]
    other, head = await store.claim(key)
    assert Inbound.model_validate_json(head.event_raw).event_id == "Ev1"
    await store.complete(other, None)
    assert await store.next(other) is None


async def test_ttl_is_set_and_refreshed(redis_store):
    await seed(redis_store, state())
    key = REF.key(redis_store.prefix)
    assert 3590 <= await redis_store.client.ttl(key) <= 3600
    await redis_store.client.expire(key, 10)
    await redis_store.accept(key, event(1), "Ev1", require_thread=True)
    lease, head = await redis_store.claim(key)
    await redis_store.complete(lease, decode_state(head.state_raw))
    assert await redis_store.client.ttl(key) > 3000
    assert json.loads(await redis_store.client.get(key))["schema_version"] == 1


@pytest.mark.parametrize("raw, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"schema_version": 0, "problem": "x"}), "schema version 0"),
    (json.dumps({"schema_version": 1, "problem": 5}), "does not match"),
])
async def test_corrupt_or_old_documents_raise_a_clear_error(redis_store, raw, reason):
    key = REF.key(redis_store.prefix)
    await redis_store.client.set(key, raw)
    with pytest.raises(CorruptState, match=reason):
        await redis_store.load(key)


async def test_each_operation_is_one_round_trip(redis_store):
    await seed(redis_store, state())
    key = REF.key(redis_store.prefix)
    before = redis_store.round_trips
    await redis_store.accept(key, event(1), "Ev1", require_thread=True)
    lease, head = await redis_store.claim(key)
    await redis_store.complete(lease, decode_state(head.state_raw))
    assert await redis_store.next(lease) is None
    assert redis_store.round_trips - before == 4, "a reply costs four round trips"


async def test_unreachable_redis_raises_store_unavailable():
    store = RedisStore("redis://127.0.0.1:1/0", prefix="ibtest-nowhere", retries=0)
    try:
        with pytest.raises(StoreUnavailable):
            await store.accept("k", event(1), "Ev1", require_thread=True)
        with pytest.raises(StoreUnavailable):
            await store.claim("k")
    finally:
        await store.close()


def test_history_is_stored_compressed_and_old_documents_still_load():
    from bot.state import Turn

    s = state(history=[Turn(role="user", content="Task: discussion.\n" + "why redis? " * 200),
                       Turn(role="assistant", content="Because reads dominate. " * 200)])
    raw = s.model_dump_json()
    assert "why redis?" not in raw and len(raw) < 2000
    assert decode_state(raw).history == s.history
    old = json.loads(raw)
    old["history"] = [t.model_dump() for t in s.history]          # a document written before compression
    assert decode_state(json.dumps(old)).history == s.history
    old["history"] = {"zlib": "not base64!"}
    with pytest.raises(CorruptState):
        decode_state(json.dumps(old))
