"""Chaos: interviews over Slack HTTP on two bot processes sharing one Redis, while things break.

Two real bot processes (`interview-bot slack --mode http`) share a private
redis-server (append-only file on, as in production).  Interviews run
concurrently against them (a delivery goes to either process; when one is
down, to the other, as a load balancer would).  Meanwhile the bench kills a
process with -9 or SIGTERM now and then (and restarts it), restarts Redis,
and the fake Slack and the fake model answer some calls with 5xx.

    .venv/bin/python bench/chaos.py [--interviews 200] [--concurrency 20] [--seconds 600]

Prints: turns lost, turns out of order, duplicate posts, the longest silence
of a thread after a delivery, response time percentiles, faults injected.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.bot_process import BotProcess, RedisServer, SlackClient, bot_env  # noqa: E402
from tests.fakes.fake_anthropic import FakeAnthropic, Reply  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.llm_script import interview_responder, last_user_text  # noqa: E402

QID = re.compile(r"\bq-\d+-\d+\b")


class Chaos:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rng = random.Random(args.seed)
        self.model_faults = 0
        self.slack_faults = 0
        self.kills: list[str] = []
        self.redis_restarts = 0
        self.silences: list[float] = []
        self.lost: list[str] = []
        self.bots: list[BotProcess] = []
        self.down: set[int] = set()
        self.deliveries = 0

    # -- the model: the scripted interview, an answer that names its question, some 5xx
    def responder(self, request: dict) -> Reply:
        if self.rng.random() < self.args.model_fault_rate:
            self.model_faults += 1
            return Reply(fault="500")
        text = last_user_text(request)
        if "Task: discussion." in text:
            qid = QID.search(text)
            return Reply(text=f"Answer to {qid.group(0) if qid else '?'}: the load balancer spreads it out.")
        return interview_responder(request)

    async def deliver(self, send) -> None:
        """Send to a live process, failing over like a load balancer (Slack retries failed deliveries)."""
        self.deliveries += 1
        for _ in range(200):
            order = [i for i in range(len(self.bots)) if i not in self.down]
            self.rng.shuffle(order)
            for i in order:
                try:
                    if await send(self.bots[i].url) == 200:
                        return
                except aiohttp.ClientError:
                    continue
            await asyncio.sleep(0.1)
        raise RuntimeError("no bot process answered")

    async def wait_new(self, fake: FakeSlack, thread: str, seen: int, pred, what: str) -> float:
        """Wait until `pred` holds for the thread (saying *retry* after an error notice, as a person would).

        Records the longest silence: the longest time the thread showed nothing new while the bot
        still owed an answer (from the delivery to the first message, and between messages).
        """
        t0 = last_change = time.monotonic()
        count, longest, retried = seen, 0.0, 0
        ch = self.channel_of.get(thread, "C1")
        while time.monotonic() - t0 < self.args.turn_timeout:
            msgs = fake.thread(ch, thread)
            now = time.monotonic()
            if len(msgs) != count:
                count, last_change = len(msgs), now
            longest = max(longest, now - last_change)
            if pred(msgs):
                break
            last = msgs[-1]["text"] if msgs else ""
            if "say _retry_" in last and retried < len(msgs):
                retried = len(msgs)
                await self.deliver(lambda url: self.client.reply(url, thread, "retry", channel=ch))
            await asyncio.sleep(0.05)
        else:
            self.lost.append(f"{thread}: {what}")
            if self.args.verbose:
                print(f"lost: {thread} {what}; last: {[m['text'][:80] for m in fake.thread(ch, thread)[-3:]]}")
        self.silences.append(longest)
        return longest

    async def interview(self, fake: FakeSlack, n: int) -> None:
        # One channel per interview: Slack paces posts per channel (about one a second).
        ch = f"C{n}"
        await self.deliver(lambda url: self.client.command(url, f"Design a URL shortener #{n}", channel=ch))
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.args.turn_timeout:
            mine = [m for m in fake.channel_messages(ch) if re.search(rf"#{n}\b", m["text"])]
            if mine:
                thread = mine[0]["ts"]
                break
            await asyncio.sleep(0.05)
        else:
            self.lost.append(f"interview {n}: no thread")
            return
        self.channel_of[thread] = ch

        def has(needle):
            return lambda msgs: any(needle in m["text"] for m in msgs)

        await self.wait_new(fake, thread, 0, has("quick questions"), "questions")
        seen = len(fake.thread(ch, thread))
        await self.deliver(lambda url: self.client.reply(url, thread, f"About 100M links, interview {n}", channel=ch))
        await self.wait_new(fake, thread, seen, has("That's my design"), "design")
        for k in range(self.args.questions):
            seen = len(fake.thread(ch, thread))
            await self.deliver(lambda url, k=k: self.client.reply(url, thread, f"What about q-{n}-{k}?", channel=ch))
        await self.wait_new(fake, thread, seen, has(f"Answer to q-{n}-{self.args.questions - 1}"), "answers")
        seen = len(fake.thread(ch, thread))
        await self.deliver(lambda url: self.client.reply(url, thread, "end", channel=ch))
        await self.wait_new(fake, thread, seen, has("That's a wrap"), "end")
        self.threads.append(thread)

    async def faults(self, fake: FakeSlack, redis: RedisServer, env: dict[str, str], stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(*self.args.fault_every))
            if stop.is_set():
                return
            roll = self.rng.random()
            if roll < 0.15:
                self.redis_restarts += 1
                redis.stop()
                await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                redis.start()
            elif roll < 0.6:
                i = self.rng.randrange(len(self.bots))
                how = self.rng.choice(["kill -9", "SIGTERM"])
                self.kills.append(how)
                self.down.add(i)
                if how == "kill -9":
                    self.bots[i].kill9()
                else:
                    await self.bots[i].terminate()
                await asyncio.sleep(self.rng.uniform(0.5, 2.0))
                self.bots[i] = await BotProcess.start(env)
                self.down.discard(i)
            else:
                self.slack_faults += 3
                fake.fail(self.rng.choice(["chat.postMessage", "chat.update"]), status=500, times=3)

    def report(self, fake: FakeSlack, llm: FakeAnthropic, wall: float) -> None:
        dup_sections = dup_answers = 0
        for thread in self.threads:
            finals = [m["text"] for m in fake.thread(self.channel_of[thread], thread)
                      if not m["text"].rstrip().endswith("…")]
            heads = [t.split("\n", 1)[0] for t in finals if t.startswith("*") and "\n" in t]
            dup_sections += len(heads) - len(set(heads))
            answers = [QID.search(t).group(0) for t in finals if t.startswith("Answer to q-")]
            dup_answers += len(answers) - len(set(answers))
        order_errors = 0
        asked: dict[str, list[int]] = {}
        for r in llm.requests:
            text = last_user_text(r)
            if "Task: discussion." in text and (m := QID.search(text)):
                n, k = m.group(0).split("-")[1:]
                seq = asked.setdefault(n, [])
                if k not in map(str, seq):
                    seq.append(int(k))
        order_errors = sum(1 for seq in asked.values() if seq != sorted(seq))
        s = sorted(self.silences)

        def pct(p):
            return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else 0.0

        print(f"interviews: {len(self.threads)} completed of {self.args.interviews}, wall {wall:.0f} s")
        print(f"faults injected: {len(self.kills)} process kills ({self.kills.count('kill -9')} kill -9, "
              f"{self.kills.count('SIGTERM')} SIGTERM), {self.redis_restarts} Redis restarts, "
              f"{self.model_faults} model 5xx, {self.slack_faults} Slack 5xx")
        print(f"turns lost: {len(self.lost)} (target 0){'  ' + '; '.join(self.lost[:5]) if self.lost else ''}")
        print(f"turns out of order: {order_errors} (target 0)")
        print(f"duplicate posts: {dup_sections} sections, {dup_answers} answers (target 0)")
        print(f"longest silence of a thread owed an answer: p50 {pct(50):.2f} s, p99 {pct(99):.2f} s, "
              f"longest {pct(100):.2f} s (target <= 30 s)")

    def report_redis(self, redis: RedisServer) -> None:
        """Redis commands per delivery, from the server's own counters (since its last restart)."""
        import redis as redis_sync

        stats = redis_sync.Redis(port=redis.port).info("commandstats")
        calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
        scripts = calls.get("evalsha", 0) + calls.get("eval", 0)
        background = calls.get("smembers", 0) + calls.get("ping", 0)
        print(f"Redis commands since its last restart: {sum(calls.values())} ({scripts} scripts, {background} "
              f"recovery scans and pings), {self.deliveries} deliveries in the whole run; a reply is 4 scripts "
              "(accept, claim, complete, next) plus one checkpoint per design section (bench/overhead.py)")

    async def run(self) -> None:
        redis = RedisServer()
        redis.start()
        self.threads: list[str] = []
        self.channel_of: dict[str, str] = {}
        try:
            async with FakeSlack() as fake, FakeAnthropic(responder=self.responder) as llm, \
                    aiohttp.ClientSession() as session:
                self.client = SlackClient(session, fake.root)
                env = bot_env(slack_base_url=fake.base_url, model_base_url=llm.base_url, redis_url=redis.url,
                              prefix=f"ibchaos-{uuid.uuid4().hex[:6]}", LOG_LEVEL="WARNING",
                              LEASE_SECONDS=str(self.args.lease), RECOVER_INTERVAL="1", SHUTDOWN_GRACE="3")
                self.bots = [await BotProcess.start(env), await BotProcess.start(env)]
                stop = asyncio.Event()
                chaos = asyncio.ensure_future(self.faults(fake, redis, env, stop))
                sem = asyncio.Semaphore(self.args.concurrency)
                t0 = time.monotonic()

                async def one(n: int) -> None:
                    async with sem:
                        await self.interview(fake, n)

                try:
                    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(self.args.interviews))),
                                           self.args.seconds)
                finally:
                    stop.set()
                    chaos.cancel()
                self.report(fake, llm, time.monotonic() - t0)
                self.report_redis(redis)
        finally:
            for bot in self.bots:
                bot.stop()
            redis.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=900)
    parser.add_argument("--turn-timeout", type=float, default=120)
    parser.add_argument("--lease", type=float, default=20)
    parser.add_argument("--fault-every", type=float, nargs=2, default=(4.0, 10.0))
    parser.add_argument("--model-fault-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true")
    asyncio.run(Chaos(parser.parse_args()).run())


if __name__ == "__main__":
    main()
