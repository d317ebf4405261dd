"""Benchmark the Discord adapter end to end: the real discord.py client, a fake Discord, a paced fake model.

    .venv/bin/python bench/discord.py [--interviews 6]

The fake Discord enforces Discord's per-channel pace (5 message posts and 5
edits per 5 s per channel, with real rate-limit headers) and answers a 429
when a client goes over it; the fake model sends its first token after
500 ms, then about 60 tokens per second.  Several interviews run at once,
each: /interview -> clarifying questions -> an answer (or the Skip button) ->
the whole design -> one discussion question -> /end.

Reported: interaction response latency (gateway dispatch to the callback
reaching Discord; target p99 < 100 ms), time from the model's first token to
the first visible text in the thread (target < 1 s), REST calls per
interview, and 429s received (target 0).  Redis is used if REDIS_URL or
TEST_REDIS_URL is set, else the in-memory store.
"""
from __future__ import annotations

import sys
from pathlib import Path

# This file is called discord.py: keep its own folder off the import path so `import discord` finds the library.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from discord.gateway import DiscordWebSocket  # noqa: E402
from discord.http import Route  # noqa: E402

from adapters.discord.client import InterviewBot, use_endpoints  # noqa: E402
from bot.app import build_engine  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.store import MemoryStore, RedisStore  # noqa: E402
from tests.fakes.fake_anthropic import FakeAnthropic, Reply  # noqa: E402
from tests.fakes.fake_discord import GUILD_ID, TOKEN, FakeDiscord  # noqa: E402
from tests.fakes.llm_script import interview_responder, last_user_text  # noqa: E402

FIRST_TOKEN_DELAY = 0.5
TOKENS_PER_SECOND = 60.0
VISIBLE_TASKS = ("Task: clarifying questions.", "Task: present the design.", "Task: discussion.")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class PacedModel:
    """The scripted interview model, paced like a real one; remembers when each stream's first token left."""

    def __init__(self) -> None:
        self.first_tokens: list[tuple[float, dict]] = []

    def __call__(self, request: dict) -> Reply:
        reply = interview_responder(request)
        reply.first_token_delay = FIRST_TOKEN_DELAY
        reply.tokens_per_second = TOKENS_PER_SECOND
        self.first_tokens.append((time.monotonic() + FIRST_TOKEN_DELAY, request))
        return reply


async def wait(fake: FakeDiscord, predicate, what: str, timeout: float = 60.0):
    return await fake.wait_for(predicate, timeout, what)


async def one_interview(fake: FakeDiscord, k: int, problems: dict[int, str]) -> None:
    problem = f"Design a URL shortener for team {k}"
    user = 700000000000000000 + k
    fake.add_member(user, f"interviewer{k}")
    await fake.slash("interview", {"problem": problem}, user_id=user)
    thread = await wait(fake, lambda: next((t for t in fake.threads() if t["name"].endswith(f"team {k}")), None),
                        "thread")
    tid = int(thread["id"])
    problems[tid] = problem
    text = lambda: fake.thread_text(tid)  # noqa: E731

    def skip_message():
        for msg in fake.thread_messages(tid):
            for row in msg.get("components") or []:
                if any(c.get("custom_id") == "ib_skip_questions" for c in row.get("components", [])):
                    return msg
        return None

    msg = await wait(fake, skip_message, "questions")
    if k % 2:
        await fake.press(int(msg["id"]), "ib_skip_questions", user_id=user)
    else:
        await fake.say(tid, "100M links a month, 10k redirects/s at peak, no custom aliases.", user_id=user)
    await wait(fake, lambda: "That's my design" in text(), "design")
    await fake.say(tid, "Walk me through a redirect, please.", user_id=user)
    await wait(fake, lambda: "only misses go to the store" in text(), "discussion answer")
    await fake.slash("end", channel_id=tid, user_id=user)
    await wait(fake, lambda: "That's a wrap" in text(), "wrap-up")


async def main(n: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.ERROR)   # voice-support notices
    logging.getLogger("discord.http").setLevel(logging.WARNING)  # ...but keep "We are being rate limited"
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    model = PacedModel()
    redis_url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    async with FakeAnthropic(responder=model) as llm, FakeDiscord() as fake:
        settings = Settings(_env_file=None, anthropic_api_key="bench", anthropic_base_url=llm.base_url,
                            discord_token=TOKEN, discord_api_base=fake.api_base,
                            discord_gateway_url=fake.gateway_url, discord_guild_id=GUILD_ID, redis_url=None,
                            collect_seconds=0)   # the first answer starts the design, as measured before
        store = (RedisStore(redis_url, prefix=f"ibbench-{os.getpid()}", ttl_seconds=600) if redis_url
                 else MemoryStore())
        engine = build_engine(settings, store=store)
        use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
        bot = InterviewBot(settings, engine, guild_ready_timeout=0.05)
        runner = asyncio.create_task(bot.start(TOKEN))
        try:
            await fake.wait_for(bot.is_ready, 15, "login")
            login_calls = len(fake.calls)
            t0 = time.monotonic()
            problems: dict[int, str] = {}
            await asyncio.gather(*(one_interview(fake, k, problems) for k in range(n)))
            elapsed = time.monotonic() - t0
            await asyncio.sleep(0.3)
        finally:
            await bot.close()
            try:
                await asyncio.wait_for(runner, 5)
            except Exception:  # noqa: BLE001
                pass
            await engine.llm.close()
            if isinstance(store, RedisStore):
                async for key in store.client.scan_iter(match=f"{store.prefix}:*"):
                    await store.client.delete(key)
            await store.close()
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved

    # ---- interaction response latency (dispatch on the gateway -> callback received)
    lat = [(i["acked_at"] - i["sent_at"]) * 1000 for i in fake.interactions.values() if i["acked_at"]]
    unanswered = sum(1 for i in fake.interactions.values() if not i["acked_at"])

    # ---- first model token -> first visible text in that thread
    visible: list[float] = []
    for t_tok, request in model.first_tokens:
        task = last_user_text(request)
        if not task.startswith(VISIBLE_TASKS):
            continue
        body = str(request["messages"])
        tid = next((t for t, p in problems.items() if p in body), None)
        if tid is None:
            continue
        prefix = f"/channels/{tid}/messages"
        seen = [c.at for c in fake.calls if c.path.startswith(prefix) and c.status == 200 and c.at >= t_tok - 0.05
                and c.method in ("POST", "PATCH")]
        if seen:
            visible.append((min(seen) - t_tok) * 1000)

    calls = fake.calls[login_calls:]
    kinds = Counter()
    for c in calls:
        if c.path.endswith("/callback"):
            kinds["interaction callbacks"] += 1
        elif c.path.startswith("/webhooks/"):
            kinds["command-response edits"] += 1
        elif c.path.endswith("/threads"):
            kinds["thread creations"] += 1
        elif c.path.endswith("/typing"):
            kinds["typing"] += 1
        elif c.method == "POST" and c.path.endswith("/messages"):
            kinds["message posts"] += 1
        elif c.method == "PATCH":
            kinds["message edits"] += 1
        else:
            kinds[f"other {c.method}"] += 1

    print(f"Discord adapter benchmark: {n} concurrent interviews, model first token {FIRST_TOKEN_DELAY * 1000:.0f} ms "
          f"then ~{TOKENS_PER_SECOND:.0f} tokens/s; store: {'Redis' if redis_url else 'memory'}")
    print(f"  wall time for all interviews:          {elapsed:6.1f} s")
    print(f"  interaction response latency:          p50 {pct(lat, 50):6.1f} ms   p99 {pct(lat, 99):6.1f} ms   "
          f"max {max(lat):6.1f} ms   (n={len(lat)}, unanswered {unanswered})   target p99 < 100 ms")
    print(f"  first model token -> first visible text: p50 {pct(visible, 50):6.1f} ms   p99 {pct(visible, 99):6.1f} ms"
          f"   max {max(visible):6.1f} ms   (n={len(visible)} streams)   target < 1000 ms")
    print(f"  REST calls per interview:              {len(calls) / n:6.1f}   ("
          + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(kinds.items())) + ")")
    print(f"  429s received:                         {len(fake.ratelimited):6d}   target 0")
    ok = pct(lat, 99) < 100 and max(visible) < 1000 and not fake.ratelimited and not unanswered
    print("  result: " + ("all targets met" if ok else "TARGET MISSED"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interviews", type=int, default=6, help="interviews run at the same time (default 6)")
    args = parser.parse_args()
    asyncio.run(main(args.interviews))
