"""Durable timers: stored at once, queued in their thread's inbox when due, once, by any process."""
from __future__ import annotations

import asyncio
import time

import pytest

from bot.inbound import EventKind, Inbound
from bot.interview import Ctx
from bot.state import Phase, ThreadRef
from bot.store import MemoryStore
from tests.fakes.platform import start
from tests.fakes.sinks import RecordingSink

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T-timers")


def timer_event(name: str, ref: ThreadRef = REF) -> str:
    return Inbound(kind=EventKind.TIMER, ref=ref, event_id=f"timer:{name}", text=name).model_dump_json()


@pytest.fixture(params=["redis", "memory"])
async def store(request, redis_store):
    if request.param == "redis":
        yield redis_store
    else:
        yield MemoryStore(prefix=redis_store.prefix)


async def test_store_keeps_timers_until_dropped_and_returns_only_due_ones(store):
    key = REF.key(store.prefix)
    await store.schedule(key, timer_event("a:1"), due_at=100.0)
    await store.schedule(key, timer_event("b:2"), due_at=50.0)
    await store.schedule(key, timer_event("c:3"), due_at=300.0)
    assert await store.due(now=10.0) == []
    due = await store.due(now=200.0)
    assert [Inbound.model_validate_json(t.event_raw).text for t in due] == ["b:2", "a:1"], "oldest first"
    assert all(t.key == key for t in due)
    assert len(await store.due(now=200.0)) == 2, "a due timer stays until it is dropped"
    await store.drop_timer(due[0])
    assert [Inbound.model_validate_json(t.event_raw).text for t in await store.due(now=1000.0)] == ["a:1", "c:3"]


async def _opened(engine, sink) -> None:
    await start(engine, REF, "Design a URL shortener", user="ana", sink=sink, event_id="t-open")
    assert (await engine.store.load(REF.key(engine.store.prefix))).phase is Phase.WAITING_ANSWERS


@pytest.mark.parametrize("which", ["memory", "redis"])
async def test_a_due_timer_reaches_its_handler_once_as_a_turn_of_its_thread(which, engine, redis_engine, fake_llm):
    eng = engine if which == "memory" else redis_engine
    sink = RecordingSink()
    await _opened(eng, sink)
    seen: list[tuple[str, str, Phase]] = []

    async def handler(ctx: Ctx, name: str) -> None:
        seen.append((ctx.key, name, ctx.state.phase))
        ctx.state.summary = f"fired {name}"   # a handler's change is saved like any turn's

    eng.on_timer("collect", handler)
    key = REF.key(eng.store.prefix)
    due_at = time.time() + 60
    await eng.pipeline.schedule(key, Inbound.model_validate_json(timer_event("collect:1")), due_at)
    assert await eng.pipeline.fire_due(now=due_at - 1) == 0, "not yet due"
    assert await eng.pipeline.fire_due(now=due_at + 1) == 1
    await eng.pipeline.idle()
    assert seen == [(key, "collect:1", Phase.WAITING_ANSWERS)]
    assert (await eng.store.load(key)).summary == "fired collect:1"
    # Scheduled again under the same name (a second process, a retried turn): the inbox dedupes it.
    await eng.pipeline.schedule(key, Inbound.model_validate_json(timer_event("collect:1")), due_at)
    assert await eng.pipeline.fire_due(now=due_at + 1) == 0
    await eng.pipeline.idle()
    assert len(seen) == 1
    assert await eng.store.due(now=due_at + 10) == [], "fired and duplicate timers are both dropped"


async def test_ctx_schedule_stores_a_timer_that_a_restarted_engine_fires(redis_engine, settings, redis_store,
                                                                        fake_llm):
    from bot.app import build_engine

    sink = RecordingSink()
    await _opened(redis_engine, sink)

    async def set_timer(ctx: Ctx, name: str) -> None:
        await ctx.schedule("nudge:42", delay=30)

    redis_engine.on_timer("set", set_timer)
    key = REF.key(redis_store.prefix)
    await redis_engine.pipeline.schedule(key, Inbound.model_validate_json(timer_event("set:1")), time.time())
    assert await redis_engine.pipeline.fire_due() == 1
    await redis_engine.pipeline.idle()
    assert await redis_engine.pipeline.fire_due() == 0, "the new timer is 30 s away"

    # A new process on the same Redis (the first one is gone) fires it when it is due.
    second = build_engine(settings, store=redis_store)
    fired: list[str] = []

    async def nudge(ctx: Ctx, name: str) -> None:
        fired.append(name)

    second.on_timer("nudge", nudge)
    from tests.fakes.platform import platform_of
    platform_of(second)
    assert await second.pipeline.fire_due(now=time.time() + 31) == 1
    await second.pipeline.idle()
    assert fired == ["nudge:42"]
    await second.llm.close()


async def test_timers_of_a_gone_thread_or_without_handler_are_dropped_quietly(engine, fake_llm, caplog):
    sink = RecordingSink()
    await _opened(engine, sink)
    gone = REF.model_copy(update={"thread": "never-opened"})
    await engine.pipeline.schedule(gone.key(engine.store.prefix),
                                   Inbound.model_validate_json(timer_event("x:1", gone)), 0)
    await engine.pipeline.schedule(REF.key(engine.store.prefix),
                                   Inbound.model_validate_json(timer_event("unknown:1")), 0)
    before = len(sink.messages)
    assert await engine.pipeline.fire_due(now=1) == 1, "only the live thread's timer is queued"
    await engine.pipeline.idle()
    assert len(sink.messages) == before, "an unknown timer says nothing in the thread"
    assert "timer 'unknown:1' has no handler" in caplog.text
    assert await engine.store.due(now=10) == []


async def test_a_failing_timer_scan_is_logged_and_the_loop_goes_on(fake_llm, caplog):
    from bot.app import build_engine
    from tests.conftest import make_settings

    class FlakyStore(MemoryStore):
        fails = 2

        async def due(self, now, limit=100):
            if self.fails:
                self.fails -= 1
                raise RuntimeError("unexpected reply from the store")
            return await super().due(now, limit)

    engine = build_engine(make_settings(fake_llm.base_url, timer_tick=0.02), store=FlakyStore())
    await _opened(engine, RecordingSink())
    fired: list[str] = []

    async def handler(ctx: Ctx, name: str) -> None:
        fired.append(name)

    engine.on_timer("nudge", handler)
    await engine.pipeline.schedule(REF.key(engine.store.prefix),
                                   Inbound.model_validate_json(timer_event("nudge:1")), 0)
    engine.pipeline.start()
    try:
        for _ in range(200):
            if fired:
                break
            await asyncio.sleep(0.01)
        assert fired == ["nudge:1"], "the loop survived two failed rounds"
        assert caplog.text.count("timer scan failed; trying again next round") == 2
    finally:
        await engine.shutdown(grace=1)
        await engine.llm.close()

