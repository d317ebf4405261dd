"""Scale-out: discussion turns per second with 1, 2 and 4 bot processes on one Redis.

    .venv/bin/python bench/scale.py [--processes 1 2 4] [--conversations 120] [--seconds 20]
                                    [--latency 1.0] [--cluster]

Real bot processes (`interview-bot slack --mode http`) share one private
redis-server (or, with --cluster, a three-node Redis Cluster started here);
the fake Slack and the fake model run in this process.  The model answers
after a fixed, realistic latency (--latency seconds to the first token, then
the short answer at once), so a turn's wall time is mostly waiting, and what
limits the throughput is each bot process's own work per turn (one core each).

`--conversations` interview threads are seeded in the discussion phase; each
runs a closed loop: a member's reply is delivered (round-robin over the
processes, as a load balancer would), and the next follows as soon as the
bot's answer is posted.  Turns per second are counted over `--seconds` after a
warm-up.  The machine has 2 cores, shared by the bot processes, this driver
with its fakes, and Redis: beyond 2 processes the curve shows the cores, not
the bot.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.state import InterviewState, Phase, ThreadRef  # noqa: E402
from bot.store import RedisMode, RedisStore, RedisTarget, make_client  # noqa: E402
from tests.fakes.bot_process import BotProcess, SlackClient, bot_env, free_port  # noqa: E402
from tests.fakes.fake_anthropic import FakeAnthropic, Reply  # noqa: E402
from tests.fakes.fake_slack import FakeSlack  # noqa: E402
from tests.fakes.llm_script import interview_responder, last_user_text  # noqa: E402

QID = re.compile(r"\bq-\d+-\d+\b")


class QuietBot(BotProcess):
    """The Slack bot in HTTP mode without live previews (`bench/scale.py bot --port N`): every answer is one
    chat.postMessage, so Slack's chat.update budget (kept per process) does not set the pace."""

    command = (str(Path(__file__).resolve()), "bot")


def run_bot(port: int) -> None:
    from adapters.slack import run
    from bot.app import setup_logging
    from bot.config import load_settings

    settings = load_settings("slack")
    setup_logging(settings)
    asyncio.run(run(settings, "http", port, preview_interval=None))


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))] if values else 0.0


async def reply(client: SlackClient, url: str, thread: str, text: str, n: int) -> int:
    """A member's thread reply, in conversation n's own workspace and channel (Slack's chat.update budget
    is per workspace: one workspace for every conversation would measure that budget, not the bot)."""
    client.n += 1
    team = f"T{n:04d}"
    event = {"type": "message", "channel": f"C{n}", "user": "UBEN", "text": text, "ts": f"{time.time():.6f}",
             "thread_ts": thread, "parent_user_id": "UBOT", "team": team, "channel_type": "channel"}
    body = json.dumps({"team_id": team, "api_app_id": "A1", "type": "event_callback",
                       "event_id": f"Ev{client.n:07d}{time.time_ns()}", "event_time": int(time.time()),
                       "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}], "event": event})
    return await client._send(url, body, "application/json")


class Redis:
    """A private redis-server (no persistence: the bench measures the bot), or a three-node cluster."""

    def __init__(self, cluster: bool):
        self.cluster = cluster
        self.dir = Path(tempfile.mkdtemp(prefix="ibscale-"))
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self) -> str:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is needed"
        for _ in range(3 if self.cluster else 1):
            port = free_port()
            while port + 10000 > 65535:
                port = free_port()
            extra = ["--cluster-enabled", "yes", "--cluster-config-file", str(self.dir / f"{port}.conf")] \
                if self.cluster else []
            self.procs.append(subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                                "--appendonly", "no", "--dir", str(self.dir), *extra],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.ports.append(port)
        time.sleep(0.5)
        if self.cluster:
            nodes = [f"127.0.0.1:{p}" for p in self.ports]
            subprocess.run(["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                infos = [subprocess.run(["redis-cli", "-p", str(p), "cluster", "info"], capture_output=True,
                                        text=True).stdout for p in self.ports]
                if all("cluster_state:ok" in i for i in infos):
                    break
                time.sleep(0.1)
        return f"redis://127.0.0.1:{self.ports[0]}" + ("" if self.cluster else "/0")

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def commands(self) -> int:
        total = 0
        for port in self.ports:
            out = subprocess.run(["redis-cli", "-p", str(port), "info", "stats"], capture_output=True, text=True).stdout
            total += int(re.search(r"total_commands_processed:(\d+)", out).group(1))   # type: ignore[union-attr]
        return total

    def cleanup(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Figures:
    rate: float        # turns per second
    p50: float         # turn wall time, delivery to answer posted
    p99: float
    commands: float    # Redis commands per turn (those run inside scripts included)
    bot_ms: float      # bot processes' CPU per turn
    bot_busy: float    # the busiest bot process's share of one core
    driver_ms: float   # this process's CPU per turn (fake Slack, fake model, deliveries)
    redis_ms: float    # redis-server's CPU per turn


class Run:
    def __init__(self, args: argparse.Namespace, processes: int):
        self.args, self.n = args, processes
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.latencies: list[float] = []
        self.done = 0
        self.deliveries = 0

    def responder(self, request: dict) -> Reply:
        text = last_user_text(request)
        if "Task: discussion." in text:
            qid = QID.search(text)
            return Reply(text=f"Answer to {qid.group(0) if qid else '?'}: the load balancer spreads it out.",
                         first_token_delay=self.args.latency, chunk_chars=10_000)
        return interview_responder(request)

    def watch(self, fake: FakeSlack) -> None:
        """Resolve a turn's waiter when its final answer is posted (or a preview is finished by an edit)."""
        for name in ("_m_chat_postMessage", "_m_chat_update"):
            original = getattr(fake, name)

            def wrapped(args, _original=original):
                result = _original(args)
                text = str(args.get("text") or "")
                if text.startswith("Answer to") and not text.rstrip().endswith("…"):
                    match = QID.search(text)
                    waiter = self.waiters.get(match.group(0)) if match else None
                    if waiter is not None and not waiter.done():
                        waiter.set_result(time.monotonic())
                return result
            setattr(fake, name, wrapped)

    async def conversation(self, client: SlackClient, bots: list[BotProcess], n: int, thread: str,
                           stop: asyncio.Event, measuring: asyncio.Event) -> None:
        k = 0
        while not stop.is_set():
            qid = f"q-{n}-{k}"
            k += 1
            waiter = asyncio.get_running_loop().create_future()
            self.waiters[qid] = waiter
            bot = bots[self.deliveries % len(bots)]
            self.deliveries += 1
            t0 = time.monotonic()
            status = await reply(client, bot.url, thread, f"What about {qid}?", n)
            if status != 200:
                raise RuntimeError(f"delivery answered {status}")
            try:
                at = await asyncio.wait_for(waiter, 60)
            except asyncio.TimeoutError:
                print(f"  no answer to {qid} within 60 s")
                continue
            finally:
                self.waiters.pop(qid, None)
            if measuring.is_set() and not stop.is_set():
                self.done += 1
                self.latencies.append(at - t0)

    async def go(self) -> Figures:
        redis = Redis(self.args.cluster)
        url = redis.start()
        prefix = f"ibscale-{uuid.uuid4().hex[:6]}"
        bots: list[BotProcess] = []
        try:
            async with FakeSlack() as fake, FakeAnthropic(responder=self.responder) as llm, \
                    aiohttp.ClientSession() as session:
                self.watch(fake)
                extra = {"REDIS_MODE": "cluster"} if self.args.cluster else {}
                env = bot_env(slack_base_url=fake.base_url, model_base_url=llm.base_url, redis_url=url,
                              prefix=prefix, RECOVER_INTERVAL="5", LOG_LEVEL="WARNING", **extra)
                bots = list(await asyncio.gather(*(QuietBot.start(env) for _ in range(self.n))))
                threads = await self.seed(url, prefix)
                client = SlackClient(session, fake.root)
                stop, measuring = asyncio.Event(), asyncio.Event()
                tasks = [asyncio.ensure_future(self.conversation(client, bots, n, t, stop, measuring))
                         for n, t in enumerate(threads)]
                await asyncio.sleep(self.args.warmup)
                commands_before = redis.commands()
                cpu_before = ([cpu_seconds(b.proc.pid) for b in bots if b.proc], own_cpu(), redis.cpu())
                measuring.set()
                t0 = time.monotonic()
                await asyncio.sleep(self.args.seconds)
                stop.set()
                wall = time.monotonic() - t0
                cpu_after = ([cpu_seconds(b.proc.pid) for b in bots if b.proc], own_cpu(), redis.cpu())
                commands = redis.commands() - commands_before
                await asyncio.wait(tasks, timeout=70)
                turns = max(1, self.done)
                bot_cpu = [after - before for after, before in zip(cpu_after[0], cpu_before[0])]
                return Figures(rate=self.done / wall, p50=pct(self.latencies, 50), p99=pct(self.latencies, 99),
                               commands=commands / turns, bot_ms=1000 * sum(bot_cpu) / turns,
                               bot_busy=max(bot_cpu) / wall, driver_ms=1000 * (cpu_after[1] - cpu_before[1]) / turns,
                               redis_ms=1000 * (cpu_after[2] - cpu_before[2]) / turns)
        finally:
            for bot in bots:
                bot.stop()
            redis.cleanup()

    async def seed(self, url: str, prefix: str) -> list[str]:
        """Interview threads already in discussion (written as the store writes them)."""
        client = make_client(RedisTarget(mode=RedisMode.CLUSTER if self.args.cluster else RedisMode.STANDALONE,
                                         url=url))
        store = RedisStore(prefix=prefix, client=client)
        threads = []
        for n in range(self.args.conversations):
            thread = f"{1700000000 + n}.000100"
            ref = ThreadRef(platform="slack", workspace=f"T{n:04d}", channel=f"C{n}", thread=thread)
            state = InterviewState(ref=ref, problem="Design a URL shortener", phase=Phase.DISCUSSING,
                                   sections={"scope": "A URL shortener."}, questions=["How many links?"])
            await client.set(ref.key(prefix), state.model_dump_json(), ex=3600)
            threads.append(thread)
        await store.close()
        return threads


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--conversations", type=int, default=120)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--latency", type=float, default=0.8, help="model: seconds to the first token")
    parser.add_argument("--cluster", action="store_true", help="a three-node Redis Cluster instead of one server")
    args = parser.parse_args()
    print(f"{args.conversations} conversations, model latency {args.latency:.1f} s, {os.cpu_count()} cores, "
          f"Redis: {'three-node cluster' if args.cluster else 'one server'}")
    base = None
    for n in args.processes:
        f = await Run(args, n).go()
        base = base or f.rate
        print(f"  {n} process{'es' if n > 1 else '  '}: {f.rate:6.1f} turns/s ({f.rate / base:.2f}x)  "
              f"turn p50 {f.p50:.2f} s p99 {f.p99:.2f} s | CPU per turn: bots {f.bot_ms:.2f} ms "
              f"(busiest at {f.bot_busy:.0%} of a core), driver+fakes {f.driver_ms:.2f} ms, "
              f"redis {f.redis_ms:.2f} ms | Redis commands per turn {f.commands:.1f}")
        # What this machine could do at most: every core busy with the measured CPU per turn.
        ceiling = (os.cpu_count() or 1) * 1000 / (f.bot_ms + f.driver_ms + f.redis_ms)
        print(f"     machine ceiling at this CPU per turn: {ceiling:.1f} turns/s ({ceiling / base:.2f}x); "
              f"reached {f.rate / ceiling:.0%} of it")
    print("(Redis commands include those run inside the store's scripts; a reply is 4 round trips.)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["bot"]:
        run_bot(int(sys.argv[sys.argv.index("--port") + 1]))
    else:
        asyncio.run(main())
