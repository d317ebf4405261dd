"""Figures for running the bot at size: budgets, metrics scrape, the OpenAI-compatible path.

    .venv/bin/python bench/ops.py [--checks 2000] [--scrapes 200] [--concurrent 50] [--provider both]

1. Budget cost per turn on Redis: one `check` before the model call and one
   `record` after it (latency and Redis round trips).
2. `/metrics` scrape time over HTTP with a registry filled as a busy process
   would fill it (every platform, step, outcome, provider and error kind).
3. Concurrent interviews on the OpenAI-compatible path: the real `openai`
   SDK streaming from the fake Chat Completions server (in this same process,
   so its cost is counted too), through the engine, Redis-free; and the same
   on the Anthropic path (real SDK, fake Messages API) to compare.

Redis: TEST_REDIS_URL or redis://127.0.0.1:6379/0, under a private key prefix
that is deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from bot.app import build_engine
from bot.budget import RedisBudget, Who
from bot.config import Settings
from bot.health import Health, start_health_server
from bot.llm import LLM
from bot.llm_openai import OpenAILLM
from bot.metrics import Metrics, TurnOutcome, record_error, record_model_call, record_turn
from bot.state import ThreadRef, Usage
from bot.store import MemoryStore
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.fake_openai import FakeOpenAI, from_anthropic_responder
from tests.fakes.llm_script import interview_responder
from tests.fakes.platform import press, reply, start  # noqa: E402,F401
from tests.fakes.sinks import RecordingSink

TURNS = ["About 100M links a month, p99 50 ms", "Add rate limiting per user", "describe the diagram", "end"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


async def commands(client) -> int:
    stats = await client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("mget", "evalsha"))


async def bench_budget(url: str, n: int) -> None:
    client = aioredis.from_url(url)
    prefix = f"ibbench-{uuid.uuid4().hex[:8]}"
    budget = RedisBudget(client, prefix, user_limit=10**12, workspace_limit=10**12)
    usage = Usage(input_tokens=1200, output_tokens=800, cache_read_tokens=20_000, calls=1)
    try:
        await budget.record(Who("slack", "T0", "warm"), usage)
        checks, records = [], []
        before = await commands(client)
        for i in range(n):
            who = Who("slack", f"T{i % 10}", f"U{i % 100}")
            t0 = time.perf_counter()
            await budget.check(who)
            t1 = time.perf_counter()
            await budget.record(who, usage)
            t2 = time.perf_counter()
            checks.append((t1 - t0) * 1000)
            records.append((t2 - t1) * 1000)
        trips = (await commands(client) - before) / n
        print(f"budget check : p50 {pct(checks, 50):.3f} ms  p99 {pct(checks, 99):.3f} ms  "
              f"({n} turns; 1 MGET before the model call)")
        print(f"budget record: p50 {pct(records, 50):.3f} ms  p99 {pct(records, 99):.3f} ms  "
              f"(1 EVALSHA after it); Redis commands per turn: {trips:.2f} (target: 1 extra round trip before "
              f"the model call)")
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*"):
            await client.delete(key)
        await client.aclose()


def fill(metrics: Metrics) -> None:
    steps = ("questions", "design", "diagram", "discuss", "export", "end")
    for platform in ("slack", "discord", "console"):
        for step in steps:
            for outcome in TurnOutcome:
                for k in range(50):
                    record_turn(metrics, platform=platform, step=step, outcome=outcome, seconds=0.1 * k)
    for provider in ("anthropic", "openai"):
        for k in range(200):
            record_model_call(metrics, provider=provider, seconds=0.05 * k,
                              usage=Usage(input_tokens=k, output_tokens=k, cache_read_tokens=k, cache_write_tokens=k))
    for kind in ("overloaded", "rate_limited", "timeout", "connection", "auth", "bad_request", "api", "platform"):
        record_error(metrics, kind)


async def bench_scrape(n: int) -> None:
    metrics = Metrics(CollectorRegistry())
    fill(metrics)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runner = await start_health_server("127.0.0.1", port, Health(metrics))
    assert runner is not None
    times: list[float] = []
    size = 0
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(n):
                t0 = time.perf_counter()
                async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                    size = len(await r.read())
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        await runner.cleanup()
    series = sum(1 for line in metrics.render().decode().splitlines() if line and not line.startswith("#"))
    print(f"/metrics scrape: p50 {pct(times, 50):.2f} ms  p99 {pct(times, 99):.2f} ms  "
          f"({n} scrapes, {series} series, {size / 1024:.0f} KiB; target p99 < 50 ms)")


async def one_interview(engine, n: int) -> RecordingSink:
    ref = ThreadRef(platform="test", workspace="w", channel="c", thread=f"t{n}")
    sink = RecordingSink()
    await start(engine, ref, "Design a URL shortener", user="u", sink=sink, event_id=f"{n}-0")
    for i, text in enumerate(TURNS, 1):
        await reply(engine, ref, text, user="u", sink=sink, event_id=f"{n}-{i}")
    return sink


async def run_interviews(engine, concurrent: int) -> tuple[list[RecordingSink], float, float, float]:
    engine.whiteboard.png = False
    await one_interview(engine, -1)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    sinks = await asyncio.gather(*(one_interview(engine, n) for n in range(concurrent)))
    wall = time.perf_counter() - t0
    return sinks, wall, rss_before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(label: str, concurrent: int, sinks: list[RecordingSink], wall: float, streams: int,
           rss_before: float, rss: float) -> None:
    ended = sum(1 for s in sinks if "That's a wrap" in s.text())
    errors = sum(1 for s in sinks for m in s.messages if m.kind.value == "error")
    turns = concurrent * (len(TURNS) + 1)
    print(f"{label}: {concurrent} concurrent interviews ({len(TURNS) + 1} turns each): "
          f"completed {ended}/{concurrent}, error messages {errors}, wall {wall:.2f} s "
          f"({turns / wall:.1f} turns/s, {streams} HTTP streams), peak RSS {rss:.0f} MB (before: {rss_before:.0f} MB)")


async def bench_openai(concurrent: int) -> None:
    async with FakeOpenAI(responder=from_anthropic_responder(interview_responder)) as fake:
        settings = Settings(_env_file=None, llm_provider="openai", openai_base_url=fake.base_url,
                            openai_model="fake-model", anthropic_max_retries=2, anthropic_request_timeout=120,
                            anthropic_total_timeout=300, collect_seconds=0)
        engine = build_engine(settings, llm=OpenAILLM(settings), store=MemoryStore())
        try:
            result = await run_interviews(engine, concurrent)
        finally:
            await engine.llm.close()
        report("openai SDK + fake Chat Completions", concurrent, result[0], result[1], fake.served, *result[2:])


async def bench_anthropic(concurrent: int) -> None:
    """The same run on the Anthropic path (real SDK, fake Messages API) for comparison."""
    async with FakeAnthropic(responder=interview_responder) as fake:
        settings = Settings(_env_file=None, anthropic_api_key="bench", anthropic_base_url=fake.base_url,
                            anthropic_max_retries=2, anthropic_request_timeout=120, anthropic_total_timeout=300,
                            collect_seconds=0)
        engine = build_engine(settings, llm=LLM(settings), store=MemoryStore())
        try:
            result = await run_interviews(engine, concurrent)
        finally:
            await engine.llm.close()
        report("anthropic SDK + fake Messages API", concurrent, result[0], result[1], len(fake.requests), *result[2:])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--provider", choices=("openai", "anthropic", "both"), default="both")
    args = parser.parse_args()
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    await bench_budget(url, args.checks)
    await bench_scrape(args.scrapes)
    if args.provider in ("openai", "both"):
        await bench_openai(args.concurrent)
    if args.provider in ("anthropic", "both"):
        await bench_anthropic(args.concurrent)


if __name__ == "__main__":
    asyncio.run(main())
