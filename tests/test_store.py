"""The session stores against a real Redis server (and the in-memory twin)."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.state import InterviewState, Phase, ThreadRef
from bot.store import CorruptState, LockTimeout, MemoryStore, RedisStore, StoreUnavailable

REF = ThreadRef(platform="slack", workspace="T1", channel="C1", thread="111.222")


def state(**kw) -> InterviewState:
    return InterviewState(ref=REF, problem="Design a URL shortener", **kw)


@pytest.fixture(params=["redis", "memory"])
async def store(request, redis_store):
    if request.param == "redis":
        yield redis_store
    else:
        yield MemoryStore(prefix=redis_store.prefix)


async def test_key_layout_and_round_trip(store):
    s = state(phase=Phase.WAITING_ANSWERS, questions=["a?", "b?"])
    await store.save(s)
    key = REF.key(store.prefix)
    assert key == f"{store.prefix}:slack:T1:C1:111.222"
    loaded = await store.load(key)
    assert loaded == s
    assert await store.load(key + "x") is None


async def test_ttl_is_set_and_refreshed_on_save(redis_store):
    key = REF.key(redis_store.prefix)
    await redis_store.save(state())
    assert 3590 <= await redis_store.ttl_of(key) <= 3600
    await redis_store._redis.expire(key, 10)
    await redis_store.save(state())
    assert await redis_store.ttl_of(key) > 3000


async def test_json_document_has_schema_version(redis_store):
    await redis_store.save(state())
    raw = await redis_store._redis.get(REF.key(redis_store.prefix))
    assert json.loads(raw)["schema_version"] == 1


@pytest.mark.parametrize("raw, reason", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"schema_version": 0, "problem": "x"}), "schema version 0"),
    (json.dumps({"schema_version": 1, "problem": 5}), "does not match"),
])
async def test_corrupt_or_old_documents_raise_a_clear_error(store, raw, reason):
    key = REF.key(store.prefix)
    await store.put_raw(key, raw)
    with pytest.raises(CorruptState, match=reason):
        await store.load(key)


async def test_dedupe_first_delivery_only(store):
    assert await store.first_delivery("Ev1") is True
    assert await store.first_delivery("Ev1") is False
    assert await store.first_delivery("Ev2") is True


async def test_lock_serialises_concurrent_callers(store):
    key = REF.key(store.prefix)
    events: list[str] = []

    async def worker(name: str) -> None:
        async with store.lock(key):
            events.append(f"{name}+")
            await asyncio.sleep(0.05)
            events.append(f"{name}-")

    await asyncio.gather(*(worker(str(i)) for i in range(5)))
    # Never interleaved: every enter is followed by its own exit.
    for i in range(0, len(events), 2):
        assert events[i][:-1] == events[i + 1][:-1]
        assert events[i].endswith("+") and events[i + 1].endswith("-")
    assert len(events) == 10


async def test_lock_is_released_after_an_exception(store):
    key = REF.key(store.prefix)
    with pytest.raises(RuntimeError):
        async with store.lock(key):
            raise RuntimeError("boom")
    async with asyncio.timeout(1):
        async with store.lock(key):
            pass


async def test_lock_times_out_when_held_too_long(redis_store):
    key = REF.key(redis_store.prefix)
    # Another process holds the lock (for up to 5 s); we give up after 0.3 s.
    await redis_store._redis.set(f"{key}:lock", "other-process", px=5000)
    redis_store.lock_timeout = 0.3
    with pytest.raises(LockTimeout):
        async with redis_store.lock(key):
            pass
    assert await redis_store._redis.get(f"{key}:lock") == "other-process"


async def test_lock_of_crashed_holder_expires(redis_store):
    key = REF.key(redis_store.prefix)
    await redis_store._redis.set(f"{key}:lock", "someone-else", px=200)
    async with asyncio.timeout(2):
        async with redis_store.lock(key):
            assert await redis_store._redis.get(f"{key}:lock") != "someone-else"


async def test_unreachable_redis_raises_store_unavailable():
    dead = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await dead.load("ib:x")
    with pytest.raises(StoreUnavailable):
        await dead.first_delivery("e")
    await dead.close()


async def test_waiters_in_one_process_are_served_in_arrival_order(redis_store):
    key = REF.key(redis_store.prefix)
    order: list[int] = []

    async def worker(i: int) -> None:
        async with redis_store.lock(key):
            order.append(i)
            await asyncio.sleep(0.01)

    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(worker(i)))
        await asyncio.sleep(0)  # arrive one after the other
    await asyncio.gather(*tasks)
    assert order == list(range(8))


async def test_a_long_turn_keeps_its_lock(redis_store):
    key = REF.key(redis_store.prefix)
    redis_store.lock_timeout = 0.3
    async with redis_store.lock(key):
        await asyncio.sleep(0.8)  # well past the lock's own expiry
        assert await redis_store._redis.get(f"{key}:lock") is not None
    assert await redis_store._redis.get(f"{key}:lock") is None
