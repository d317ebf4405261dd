"""The store contract (inbox, lease with fencing, atomic complete) against a real Redis and the in-memory twin."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.inbound import EventKind, Inbound
from bot.state import Answer, InterviewState, Phase, ThreadRef, bucket_tag
from bot.store import (
    AcceptOutcome,
    CorruptState,
    Forward,
    HandedOff,
    LeaseLost,
    MemoryStore,
    RedisStore,
    StoreUnavailable,
    decode_state,
)
from tests.conftest import open_redis_store

REF = ThreadRef(platform="slack", workspace="T1", channel="C1", thread="111.222")


def state(ref: ThreadRef = REF, **kw) -> InterviewState:
    return InterviewState(ref=ref, problem="Design a URL shortener", **kw)


def event(n: int, ref: ThreadRef = REF) -> str:
    return Inbound(kind=EventKind.REPLY, ref=ref, event_id=f"Ev{n}", text=f"message {n}").model_dump_json()


@pytest.fixture(params=["redis", "memory", "cluster"])
async def store(request):
    """The contract runs against one Redis server, the in-memory twin and a three-node Redis Cluster."""
    if request.param == "memory":
        yield MemoryStore(prefix="ibtest-mem", lease_ms=3000)
    else:
        async with open_redis_store(cluster=request.param == "cluster") as redis_store:
            yield redis_store


@pytest.fixture(params=["redis", "cluster"])
async def any_redis(request):
    async with open_redis_store(cluster=request.param == "cluster") as redis_store:
        yield redis_store


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
    tag = bucket_tag("slack:T1:C1:111.222")
    assert key == f"{store.prefix}:slack:{{{tag}}}:T1:C1:111.222"
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


async def test_a_holder_hands_the_thread_over_when_another_process_asks(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    for n in (1, 2, 3):
        await store.accept(key, event(n), f"Ev{n}", require_thread=True)
    holder, head = await store.claim(key)
    assert await store.claim(key) is None, "a plain claim asks nothing of the holder"
    await store.complete(holder, None)
    assert await store.next(holder) is not None, "nobody asked: the holder goes on"
    assert await store.claim(key, want_ms=2000) is None
    await store.complete(holder, None)
    with pytest.raises(HandedOff):   # asked: the holder lets go although events are left
        await store.next(holder)
    assert await store.active() == [key], "the thread stays indexed for whoever claims it"
    asker, head = await store.claim(key)
    assert asker.fence > holder.fence
    assert Inbound.model_validate_json(head.event_raw).event_id == "Ev3"
    with pytest.raises(LeaseLost):
        await store.complete(holder, None)


async def test_a_head_handed_out_again_says_it_was_tried_before(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    for n in (1, 2):
        await store.accept(key, event(n), f"Ev{n}", require_thread=True)
    first, head = await store.claim(key)
    assert head.redelivered is False
    await store.release(first)                     # the process stops (or dies and its lease expires)
    second, head = await store.claim(key)
    assert Inbound.model_validate_json(head.event_raw).event_id == "Ev1" and head.redelivered is True
    await store.complete(second, None)
    head = await store.next(second)
    assert Inbound.model_validate_json(head.event_raw).event_id == "Ev2" and head.redelivered is False


async def test_an_ask_that_nobody_follows_up_expires(store):
    await seed(store, state())
    key = REF.key(store.prefix)
    for n in (1, 2):
        await store.accept(key, event(n), f"Ev{n}", require_thread=True)
    holder, _ = await store.claim(key)
    assert await store.claim(key, want_ms=50) is None
    await asyncio.sleep(0.15)
    await store.complete(holder, None)
    assert await store.next(holder) is not None, "the ask expired: the holder keeps the thread"


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


async def test_ttl_is_set_and_refreshed(any_redis):
    redis_store = any_redis
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


async def test_each_operation_is_one_round_trip(any_redis):
    redis_store = any_redis
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


# -- one slot per script (Redis Cluster), hand-overs, the old key layout ---------------------------------------


def _record_script_keys(store: RedisStore) -> list[tuple[str, list[str]]]:
    calls: list[tuple[str, list[str]]] = []
    for name, script in list(store._scripts.items()):
        async def call(*, keys, args, _script=script, _name=name):
            calls.append((_name, list(keys)))
            return await _script(keys=keys, args=args)
        store._scripts[name] = call   # type: ignore[assignment]
    return calls


async def test_every_script_touches_keys_of_one_cluster_slot(redis_store):
    from redis.crc import key_slot

    calls = _record_script_keys(redis_store)
    await seed(redis_store, state())                       # a command's turn hands over to the new thread
    key = REF.key(redis_store.prefix)
    await redis_store.accept(key, event(1), "Ev1", require_thread=True)
    lease, head = await redis_store.claim(key)
    await redis_store.checkpoint(lease, decode_state(head.state_raw))
    assert await redis_store.renew(lease)
    await redis_store.release(lease)
    lease, head = await redis_store.claim(key)
    await redis_store.complete(lease, decode_state(head.state_raw))
    assert await redis_store.next(lease) is None
    names = {name for name, _ in calls}
    assert names == set(redis_store._scripts), f"not every script was exercised: {names}"
    for name, keys in calls:
        slots = {key_slot(k.encode()) for k in keys}
        assert len(slots) == 1, f"{name} touches several slots: {keys}"


async def test_a_hand_over_cut_short_by_a_crash_is_finished_by_the_next_claim(any_redis):
    store = any_redis
    s = state()
    start_key = REF.model_copy(update={"thread": "start.crash"}).key(store.prefix)
    key = REF.key(store.prefix)
    begin = event(100)
    await store.accept(start_key, event(0), "cmd-crash", require_thread=False)
    lease, _ = await store.claim(start_key)
    # The process dies right after the command's complete, before the new thread was written:
    # the command's inbox head is now the hand-over record and the thread is still indexed.
    original = store._hand_over

    async def crash(*args):
        raise KeyboardInterrupt

    store._hand_over = crash
    with pytest.raises(KeyboardInterrupt):
        await store.complete(lease, None, Forward(key=key, state=s, event_raw=begin))
    store._hand_over = original
    assert await store.load(key) is None
    assert start_key in await store.active()
    await store.client.delete(f"{start_key}:lease")          # the dead holder's lease runs out
    other, head = await store.claim(start_key)
    assert head is None, "the hand-over record is never handed to a turn"
    assert await store.load(key) == s
    assert key in await store.active() and start_key not in await store.active()
    lease, head = await store.claim(key)
    assert head is not None and head.event_raw == begin
    await store.complete(lease, None)
    assert await store.next(lease) is None
    assert await store.deliver(key, begin) is AcceptOutcome.DUPLICATE, "a repeated hand-over queues nothing"


async def test_threads_in_the_old_key_layout_are_moved_once(redis_store):
    # (A Redis Cluster never held the old layout: its scripts were cross-slot.)
    store, client = redis_store, redis_store.client
    s = state(phase=Phase.DISCUSSING)
    old = REF.legacy_key(store.prefix)
    await client.set(old, s.model_dump_json(), ex=500)
    first, second = event(1), event(2)
    await client.rpush(f"{old}:inbox", first, second)
    await client.set(f"{old}:fence", 7)
    await client.sadd(f"{store.prefix}:active", old)
    await store.schedule(old, first, due_at=100.0)            # a timer stored under the old key
    await store.prepare()
    key = REF.key(store.prefix)
    assert await store.load(key) == s and 400 < await client.ttl(key) <= 500
    assert not await client.exists(old, f"{old}:inbox", f"{old}:fence", f"{store.prefix}:active")
    assert await store.active() == [key]
    assert [(t.key, t.event_raw) for t in await store.due(now=200.0)] == [(key, first)]
    lease, head = await store.claim(key)
    seen = []
    while head is not None:
        seen.append(head.event_raw)
        await store.complete(lease, None)
        head = await store.next(lease)
    assert seen == [first, second]
    from bot.store.migrate import LAYOUT, migrate_legacy
    assert await client.get(f"{store.prefix}:layout") == LAYOUT
    await client.set(REF.model_copy(update={"thread": "late"}).legacy_key(store.prefix), s.model_dump_json())
    again = await migrate_legacy(store)
    assert not again.anything, "once migrated, later starts do not scan"
    await client.delete(f"{store.prefix}:layout")
    assert (await migrate_legacy(store)).states == 1
