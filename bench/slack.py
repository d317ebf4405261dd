"""Slack adapter benchmark: whole interviews against the fake Slack and a paced fake model.

The real Bolt app (HTTP mode, signed requests) and the real AsyncWebClient run
against tests/fakes/fake_slack.py, which enforces Slack-like rate limits
(chat.postMessage: burst 4, then 1/s per channel; chat.update: burst 10, then
50/min per workspace) and answers 429 + Retry-After beyond them.  The fake
model streams every reply with the first token after 500 ms, then ~60 tokens/s.

    .venv/bin/python bench/slack.py [--interviews 3] [--probe-rate 25] [--no-previews] [--redis]

Reports: ack latency (p50/p99 ms) for the interview's own requests and for
extra probe requests sent meanwhile (thread chatter, duplicate deliveries,
/interview help); time from the model's first token to the first visible text
in the thread; Web API calls per interview; 429s received.  Memory store (no
Redis needed); --redis uses TEST_REDIS_URL or redis://127.0.0.1:6379/0 under a
private prefix that is deleted afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from adapters.slack.app import SlackBot, http_port  # noqa: E402
from bot.app import build_engine  # noqa: E402
from bot.state import Phase, ThreadRef  # noqa: E402
from bot.store import MemoryStore, RedisStore  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.fakes.fake_anthropic import FakeAnthropic  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.llm_script import interview_responder, last_user_text  # noqa: E402
from tests.slack.conftest import SECRET, TEAM, SlackHarness  # noqa: E402

FIRST_TOKEN = 0.5
TOKENS_PER_SECOND = 60.0
STREAMING_TASKS = ("Task: clarifying questions.", "Task: present the design.", "Task: discussion.",
                   "Task: interview-ready flow diagram.")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def wait_turn(store, ref: ThreadRef, since: float, *, phase: Phase | None = None, timeout: float = 90) -> None:
    """Until the thread's state was saved after `since` (and is in `phase`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await store.load(ref.key(store.prefix))
        if state is not None and state.updated_at > since and (phase is None or state.phase is phase):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no turn finished in {ref.channel}")


async def interview(h: SlackHarness, store, channel: str, ack: list[float]) -> str:
    t0 = time.time()
    p0 = time.perf_counter()
    await h.command(f"Design a URL shortener (bench {channel})", channel=channel, user_id="UALICE")
    ack.append((time.perf_counter() - p0) * 1000)
    while not h.fake.channel_messages(channel):
        await asyncio.sleep(0.02)
    thread = h.fake.channel_messages(channel)[0]["ts"]
    ref = ThreadRef(platform="slack", workspace=TEAM, channel=channel, thread=thread)
    await wait_turn(store, ref, t0, phase=Phase.WAITING_ANSWERS)
    for text in ("About 100M links a month, 10k redirects per second at peak.",
                 "We need to add rate limiting per user.", "end"):
        t = time.time()
        p0 = time.perf_counter()
        await h.reply(thread, text, user="UBOB", channel=channel)
        ack.append((time.perf_counter() - p0) * 1000)
        await wait_turn(store, ref, t)
    return thread


async def probes(h: SlackHarness, rate: float, stop: asyncio.Event, ack: list[float]) -> None:
    """Requests that must be acked fast but start no interview work."""
    i = 0
    dup = h.event_body({"type": "message", "channel": "CPROBE", "user": "UX", "text": "dup", "ts": "1.000001",
                        "thread_ts": "1.000000"}, event_id="EvPROBEDUP")
    while not stop.is_set():
        i += 1
        p0 = time.perf_counter()
        kind = i % 3
        if kind == 0:
            await h.reply(f"1600000000.{i:06d}", "chatter in a thread that is no interview", channel="CPROBE")
        elif kind == 1:
            await h.send(dup, "application/json", headers={"X-Slack-Retry-Num": "1"})
        else:
            await h.command("help", channel="CPROBE")
        ack.append((time.perf_counter() - p0) * 1000)
        await asyncio.sleep(1 / rate)


async def main(args) -> None:
    request_times: list[tuple[float, str, str]] = []   # (first token due, whole request, last user turn)

    def responder(request: dict):
        reply = interview_responder(request)
        request_times.append((time.monotonic() + FIRST_TOKEN, json.dumps(request.get("messages", [])),
                              last_user_text(request)))
        return replace(reply, first_token_delay=FIRST_TOKEN, tokens_per_second=TOKENS_PER_SECOND)

    redis_prefix = None
    if args.redis:
        redis_prefix = f"ibbench-{uuid.uuid4().hex[:8]}"
        store = RedisStore(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), prefix=redis_prefix,
                           ttl_seconds=3600, dedupe_ttl=600)
    else:
        store = MemoryStore()

    limits = {"chat.postMessage": (4, 1.0), "chat.update": (10, 50 / 60)}
    async with FakeAnthropic(responder=responder) as llm, FakeSlack(rate_limits=limits) as fake:
        settings = make_settings(llm.base_url, slack_bot_token=fake.token, slack_signing_secret=SECRET,
                                 slack_mode="http", slack_base_url=fake.base_url, anthropic_total_timeout=120,
                                 anthropic_request_timeout=60)
        engine = build_engine(settings, store=store)
        bot = SlackBot(settings, engine, client=AsyncWebClient(token=fake.token, base_url=fake.base_url),
                       preview_interval=None if args.no_previews else 1.5)
        await bot.warm_up()
        runner = await bot.serve_http(host="127.0.0.1", port=0)
        session = aiohttp.ClientSession()
        h = SlackHarness(fake, bot, f"http://127.0.0.1:{http_port(runner)}/slack/events", session)
        stop = asyncio.Event()
        interview_ack: list[float] = []
        probe_ack: list[float] = []
        t_start = time.monotonic()
        try:
            probe = asyncio.create_task(probes(h, args.probe_rate, stop, probe_ack))
            channels = [f"CBENCH{i}" for i in range(args.interviews)]
            threads = await asyncio.gather(*(interview(h, store, c, interview_ack) for c in channels))
            stop.set()
            await probe
            await bot.drain()
        finally:
            elapsed = time.monotonic() - t_start
            await bot.close()
            await session.close()
            await runner.cleanup()
            await engine.llm.close()
            if redis_prefix:
                async for key in store.client.scan_iter(match=f"{redis_prefix}:*"):
                    await store.client.delete(key)
            await store.close()

        # first model token -> first visible text in that thread
        visible: list[float] = []
        for due, text, ask in request_times:
            if not any(task in ask for task in STREAMING_TASKS):
                continue
            m = re.search(r"bench (CBENCH\d+)", text)
            if not m:
                continue
            channel = m.group(1)
            thread = threads[channels.index(channel)]
            shown = [c.at for c in fake.calls if c.status == 200 and c.error is None and c.channel == channel
                     and c.at >= due and (c.method == "chat.update" or c.thread_ts == thread)]
            if shown:
                visible.append((min(shown) - due) * 1000)
                if os.environ.get("BENCH_DEBUG"):
                    task = next(t for t in STREAMING_TASKS if t in ask)
                    print(f"    {channel} {task:40s} {visible[-1]:7.0f} ms")

        per_method = collections.Counter(c.method for c in fake.calls
                                         if c.channel != "CPROBE" and c.method != "auth.test")
        probe_calls = [c for c in fake.calls if c.channel == "CPROBE"]
        total = sum(per_method.values())
        all_ack = interview_ack + probe_ack
        print(f"Slack adapter benchmark: {args.interviews} concurrent interviews, model first token "
              f"{FIRST_TOKEN * 1000:.0f} ms then {TOKENS_PER_SECOND:.0f} tok/s, "
              f"store={'redis' if args.redis else 'memory'}, "
              f"{'no live previews (sections only)' if args.no_previews else 'live previews'}, {elapsed:.1f} s")
        print(f"  ack latency, all {len(all_ack)} requests:      p50 {pct(all_ack, 50):6.1f} ms   "
              f"p99 {pct(all_ack, 99):6.1f} ms   max {max(all_ack):6.1f} ms   (target p99 < 50 ms)")
        print(f"  ack latency, interview requests ({len(interview_ack)}):  p50 {pct(interview_ack, 50):6.1f} ms   "
              f"p99 {pct(interview_ack, 99):6.1f} ms")
        print(f"  first token -> first visible text ({len(visible)} streams): p50 {pct(visible, 50):6.0f} ms   "
              f"max {max(visible) if visible else float('nan'):6.0f} ms   (target < 1000 ms)")
        print(f"  Web API calls per interview: {total / args.interviews:.1f}  ("
              + ", ".join(f"{k} {v / args.interviews:.1f}" for k, v in sorted(per_method.items())) + ")")
        print(f"  probe requests that reached the Web API: {len(probe_calls)} (expected 0)")
        print(f"  429s received: {fake.rate_limited} (fake Slack), retried by the bot: {bot.rate_limits.count}"
              f"   (target 0)")
        print("  messages per thread: " + ", ".join(str(len(fake.thread(c, t))) for c, t in zip(channels, threads)))
        if statistics.mean(all_ack) != statistics.mean(all_ack):  # pragma: no cover - NaN guard
            sys.exit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interviews", type=int, default=3, help="concurrent interviews, one per channel")
    parser.add_argument("--probe-rate", type=float, default=25.0, help="extra requests per second meanwhile")
    parser.add_argument("--no-previews", action="store_true",
                        help="post each section only when complete (no placeholder + chat.update)")
    parser.add_argument("--redis", action="store_true", help="use Redis instead of the memory store")
    asyncio.run(main(parser.parse_args()))
