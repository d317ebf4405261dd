"""Faults with real processes: kill -9 and SIGTERM mid-design, a Redis restart, two bots on one Redis.

The bot runs as `python -m bot.cli slack --mode http` in a child process; the
fake Slack and the fake model run in this process; Redis is real.
"""
from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import pytest

from bot.sections import DESIGN_SECTIONS
from bot.state import Phase, ThreadRef
from bot.store import RedisStore
from tests.conftest import redis_url
from tests.fakes.bot_process import BotProcess, RedisServer, SlackClient, bot_env
from tests.fakes.fake_anthropic import FakeAnthropic, Reply
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.llm_script import interview_responder, last_user_text

TITLES = list(DESIGN_SECTIONS.values())


def slow_design(request: dict) -> Reply:
    """The scripted interview, with the design streamed slowly enough to be interrupted."""
    reply = interview_responder(request)
    if "Task: present the design." in last_user_text(request):
        reply.tokens_per_second = 80
    return reply


async def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def finals(fake: FakeSlack, thread: str) -> list[str]:
    """Texts of the thread's messages, without previews a crash left unfinished (they end in '…')."""
    return [m["text"] for m in fake.thread("C1", thread) if not m["text"].rstrip().endswith("…")]


def section_counts(fake: FakeSlack, thread: str) -> dict[str, int]:
    texts = finals(fake, thread)
    return {t: sum(1 for x in texts if x.startswith(f"*{t}*")) for t in TITLES}


class World:
    def __init__(self, fake: FakeSlack, llm: FakeAnthropic, session: aiohttp.ClientSession, redis: str):
        self.fake, self.llm, self.session = fake, llm, session
        self.prefix = f"ibproc-{uuid.uuid4().hex[:8]}"
        self.redis = redis
        self.client = SlackClient(session, fake.root)
        self.bots: list[BotProcess] = []

    def env(self, **extra: str) -> dict[str, str]:
        return bot_env(slack_base_url=self.fake.base_url, model_base_url=self.llm.base_url, redis_url=self.redis,
                       prefix=self.prefix, **extra)

    async def bot(self, **extra: str) -> BotProcess:
        bot = await BotProcess.start(self.env(**extra))
        self.bots.append(bot)
        return bot

    async def interview(self, bot: BotProcess) -> str:
        before = len(self.fake.channel_messages("C1"))
        assert await self.client.command(bot.url, "Design a URL shortener") == 200
        parent = await wait_for(lambda: len(self.fake.channel_messages("C1")) > before
                                and self.fake.channel_messages("C1")[-1], 20, "the thread")
        await wait_for(lambda: any("quick questions" in t for t in finals(self.fake, parent["ts"])), 20,
                       "the questions")
        return parent["ts"]

    async def settled_state(self, thread: str, phase: Phase, timeout: float = 10.0):
        """The state once it reached `phase` (it is saved right after the turn's last post)."""
        deadline = time.monotonic() + timeout
        while True:
            state = await self.state(thread)
            if state.phase is phase or time.monotonic() > deadline:
                assert state.phase is phase, state.phase
                return state
            await asyncio.sleep(0.1)

    async def state(self, thread: str):
        store = RedisStore(self.redis, prefix=self.prefix)
        try:
            ref = ThreadRef(platform="slack", workspace="T0TEAM", channel="C1", thread=thread)
            return await store.load(ref.key(self.prefix))
        finally:
            await store.close()


@pytest.fixture
async def world():
    async with FakeSlack() as fake, FakeAnthropic(responder=slow_design) as llm, aiohttp.ClientSession() as session:
        w = World(fake, llm, session, redis_url())
        try:
            yield w
        finally:
            for bot in w.bots:
                bot.stop()


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
async def test_a_bot_stopped_mid_design_is_continued_by_another_without_repeats(world, how):
    fake = world.fake
    first, second = await world.bot(), await world.bot()   # two live processes sharing the Redis
    thread = await world.interview(first)
    assert await world.client.reply(first.url, thread, "About 100M links a month, p99 50 ms") == 200
    await wait_for(lambda: sum(section_counts(fake, thread).values()) >= 2, 30, "two sections")
    if how == "kill -9":
        first.kill9()
    else:
        took = await first.terminate()
        assert took < 6, f"SIGTERM took {took:.1f}s"
        assert "shutdown:" in first.log() and "lease(s) released" in first.log()
    await wait_for(lambda: any("That's my design" in t for t in finals(fake, thread)), 45, "the rest of the design")
    counts = section_counts(fake, thread)
    assert counts == {t: 1 for t in TITLES}, counts
    assert any("Picking up where I left off" in t for t in finals(fake, thread))
    stale = [m["text"] for m in fake.thread("C1", thread) if m["text"].rstrip().endswith("…")]
    assert stale == [], "the continued turn removed the previews the stopped process left unfinished"
    state = await world.settled_state(thread, Phase.DISCUSSING)
    assert [a.text for a in state.answers] == ["About 100M links a month, p99 50 ms"]
    # The thread goes on as usual on the surviving process.
    assert await world.client.reply(second.url, thread, "How does a redirect flow?") == 200
    await wait_for(lambda: "load balancer" in finals(fake, thread)[-1].lower(), 20, "the discussion answer")


async def test_two_bots_on_one_redis_keep_the_order_of_alternating_deliveries(world):
    fake, llm = world.fake, world.llm
    a, b = await world.bot(), await world.bot()
    thread = await world.interview(a)
    assert await world.client.reply(b.url, thread, "skip") == 200
    await wait_for(lambda: any("That's my design" in t for t in finals(fake, thread)), 40, "the design")
    for n in range(6):
        bot = (a, b)[n % 2]
        assert await world.client.reply(bot.url, thread, f"question number {n}") == 200
    await wait_for(lambda: sum("Task: discussion." in last_user_text(r) for r in llm.requests) >= 6, 40,
                   "six discussion turns")
    asked = [int(last_user_text(r).split("question number ")[1][0]) for r in llm.requests
             if "Task: discussion." in last_user_text(r)]
    assert asked == list(range(6)), asked


async def test_a_redis_restart_under_a_running_bot_costs_no_error_and_loses_nothing():
    server = RedisServer()
    server.start()
    try:
        async with FakeSlack() as fake, FakeAnthropic(responder=interview_responder) as llm, \
                aiohttp.ClientSession() as session:
            world = World(fake, llm, session, server.url)
            try:
                bot = await world.bot()
                thread = await world.interview(bot)
                server.stop()
                # Typed while Redis is down: kept, said so, handled once Redis is back.
                assert await world.client.reply(bot.url, thread, "About 100M links a month") == 200
                await wait_for(lambda: any("kept your message" in t for t in finals(fake, thread)), 10,
                               "the held notice")
                server.start()
                await wait_for(lambda: any("That's my design" in t for t in finals(fake, thread)), 40,
                               "the design after the restart")
                # Pooled connections from before the restart are replaced without errors.
                threads = []
                for _ in range(10):
                    threads.append(await world.interview(bot))
                texts = "\n".join(t for m in fake.messages.values() for t in [m["text"]])
                assert "can't reach my memory" not in texts.split("kept your message")[-1]
                assert sum("kept your message" in m["text"] for m in fake.messages.values()) == 1
                assert (await world.state(thread)).answers[0].text == "About 100M links a month"
                assert "Traceback" not in bot.log()
            finally:
                for b in world.bots:
                    b.stop()
    finally:
        server.cleanup()
