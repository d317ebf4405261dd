"""The bot's own cost per turn, with a model that answers instantly.

The model is an in-process stand-in that streams the scripted replies with no
network and no delay, so every millisecond measured is the bot's: the state
machine, section parsing, diagram rendering (text; PNG off), Redis.

    .venv/bin/python bench/overhead.py [--interviews 50] [--concurrent 200]

Redis: TEST_REDIS_URL or redis://127.0.0.1:6379/0, under a private key prefix
that is deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_engine  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.heap import settle_heap  # noqa: E402
from bot.inbound import EventKind, Inbound  # noqa: E402
from bot.llm import LLMResult  # noqa: E402
from bot.state import ThreadRef, Usage  # noqa: E402
from bot.store import RedisStore  # noqa: E402
from tests.fakes.llm_script import interview_responder  # noqa: E402
from tests.fakes.sinks import RecordingSink  # noqa: E402

TURNS = ["About 100M links a month, p99 50 ms", "Add rate limiting per user", "describe the diagram", "end"]


class InstantLLM:
    """Streams the scripted model's reply at once, in 12-character deltas, like the real client."""

    async def complete(self, system, turns, *, on_text=None, tool=None, max_tokens=None, cache_pin=None) -> LLMResult:
        request = {"messages": [{"role": t.role, "content": [{"type": "text", "text": t.content}]} for t in turns]}
        reply = interview_responder(request)
        if on_text is not None:
            for i in range(0, len(reply.text), 12):
                await on_text(reply.text[i:i + 12])
        return LLMResult(text=reply.text, usage=Usage(calls=1), tool_input=reply.tool_input)

    async def close(self) -> None:
        return None


class BenchPlatform:
    """Every thread gets its own recording sink; threads open instantly."""

    name = "bench"
    commands_in_threads = True

    def __init__(self) -> None:
        self.sinks: dict[str, RecordingSink] = {}

    def sink(self, ref: ThreadRef) -> RecordingSink:
        return self.sinks.setdefault(ref.thread, RecordingSink())

    async def open_thread(self, where: ThreadRef, title: str, announce: str, event_id: str) -> ThreadRef:
        return where.model_copy(update={"thread": f"t-{event_id}"})

    async def display_name(self, author_id: str, fallback: str) -> str:
        return fallback


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


async def one_interview(engine, n: int, timings: list[float] | None, trips: list[int] | None) -> None:
    channel = ThreadRef(platform="bench", workspace="w", channel="c", thread="")
    thread = channel.model_copy(update={"thread": f"t-{n}-0"})
    steps = [(EventKind.START, channel, "Design a URL shortener")] + [(EventKind.REPLY, thread, t) for t in TURNS]
    for i, (kind, ref, text) in enumerate(steps):
        before = engine.store.round_trips
        t0 = time.perf_counter()
        event = Inbound(kind=kind, ref=ref, event_id=f"{n}-{i}", author="u", text=text)
        await engine.submit(event)
        await engine.pipeline.settled(engine.inbox_key(event))
        await engine.pipeline.settled(engine.key(thread))
        if timings is not None:
            timings.append((time.perf_counter() - t0) * 1000)
        if trips is not None:
            trips.append(engine.store.round_trips - before)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"ibbench-{uuid.uuid4().hex[:8]}"
    settings = Settings(_env_file=None, anthropic_api_key="bench", collect_seconds=0)
    store = RedisStore(url, prefix=prefix, ttl_seconds=600)
    engine = build_engine(settings, llm=InstantLLM(), store=store)
    engine.whiteboard.png = False
    platform = BenchPlatform()
    engine.register(platform)
    try:
        await one_interview(engine, -1, None, None)  # warm-up (imports, script loading)
        settle_heap()    # as Engine.start does when a process begins serving
        timings: list[float] = []
        trips: list[int] = []
        for n in range(args.interviews):
            await one_interview(engine, n, timings, trips)
        print(f"own time per turn over {len(timings)} turns: p50 {percentile(timings, 50):.2f} ms, "
              f"p99 {percentile(timings, 99):.2f} ms, max {max(timings):.2f} ms (target p99 < 20 ms)")
        replies = trips[2::len(TURNS) + 1]   # the first thread reply of each interview: an answer
        print(f"Redis round trips per turn: mean {statistics.mean(trips):.2f}, max {max(trips)} "
              f"(a reply: {statistics.mean(replies):.2f}; design turns add one checkpoint per section)")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        await asyncio.gather(*(one_interview(engine, 10_000 + n, None, None) for n in range(args.concurrent)))
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sinks = list(platform.sinks.values())
        errors = sum(1 for sk in sinks for m in sk.messages if m.kind.value == "error")
        ended = sum(1 for sk in sinks if "That's a wrap" in sk.text())
        print(f"interviews completed: {ended}/{len(sinks)}, error messages: {errors}")
        print(f"{args.concurrent} concurrent interviews ({len(TURNS) + 1} turns each): wall {wall:.2f} s, "
              f"peak RSS {rss:.0f} MB (before: {rss_before:.0f} MB; target < 150 MB)")
    finally:
        async for key in store.client.scan_iter(match=f"{prefix}:*"):
            await store.client.delete(key)
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
