"""Real bot processes for fault tests and the chaos benchmark.

`BotProcess` runs `python -m bot.cli slack --mode http` as a child process
against the fake Slack and fake model (both served by the calling process) and
a real Redis; `SlackClient` sends it signed requests as Slack would;
`RedisServer` runs a private `redis-server` that can be stopped and restarted
on the same port with its data (append-only file) kept.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import aiohttp
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[2]
SECRET = "process-test-secret"
TEAM = "T0TEAM"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(*, slack_base_url: str, model_base_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC", "SLACK", "DISCORD", "REDIS", "TEST_"))}
    env.update(PYTHONPATH=str(ROOT), ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=model_base_url,
               ANTHROPIC_MAX_RETRIES="2", SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
               SLACK_MODE="http", SLACK_HOST="127.0.0.1", SLACK_BASE_URL=slack_base_url, REDIS_URL=redis_url,
               REDIS_PREFIX=prefix, LEASE_SECONDS="2", RECOVER_INTERVAL="0.5", SHUTDOWN_GRACE="1",
               LOG_LEVEL="INFO", COLLECT_SECONDS="0")   # the first answer starts the design
    env.update(extra)
    return env


class BotProcess:
    # The command line before `--port N` (a bench may run the adapter its own way).
    command: tuple[str, ...] = ("-m", "bot.cli", "slack", "--mode", "http")

    def __init__(self, env: dict[str, str], port: int, log_path: Path):
        self.env, self.port, self.log_path = env, port, log_path
        self.proc: subprocess.Popen | None = None

    @classmethod
    async def start(cls, env: dict[str, str], *, port: int | None = None, log_dir: Path | None = None) -> "BotProcess":
        port = port or free_port()
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="ibproc-"))
        bot = cls(env, port, log_dir / f"bot-{port}-{time.time_ns()}.log")
        await bot._spawn()
        return bot

    async def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, *self.command, "--port", str(self.port)], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"bot exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"bot did not start:\n{self.log()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def terminate(self, timeout: float = 20.0) -> float:
        """SIGTERM; the seconds until the process exited."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while self.proc.poll() is None:
            if time.monotonic() - started > timeout:
                self.proc.kill()
                raise AssertionError(f"bot ignored SIGTERM for {timeout}s:\n{self.log()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class SlackClient:
    """Signed Slack deliveries (commands and thread replies), acknowledged one by one."""

    def __init__(self, session: aiohttp.ClientSession, fake_root: str):
        self.session = session
        self.fake_root = fake_root
        self.n = 0

    async def _send(self, url: str, body: str, content_type: str) -> int:
        ts = str(int(time.time()))
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)}
        async with self.session.post(url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp.status

    async def command(self, url: str, text: str, channel: str = "C1", user: str = "UALICE") -> int:
        self.n += 1
        form = {"team_id": TEAM, "channel_id": channel, "user_id": user, "user_name": "alice",
                "command": "/interview", "text": text, "response_url": f"{self.fake_root}/response/c{self.n}",
                "trigger_id": f"trig-{self.n}-{time.time_ns()}"}
        return await self._send(url, urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    async def reply(self, url: str, thread: str, text: str, channel: str = "C1", user: str = "UBEN") -> int:
        self.n += 1
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": f"{time.time():.6f}",
                 "thread_ts": thread, "parent_user_id": "UBOT", "team": TEAM, "channel_type": "channel"}
        body = json.dumps({"team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                           "event_id": f"Ev{self.n:06d}{time.time_ns()}", "event_time": int(time.time()),
                           "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}], "event": event})
        return await self._send(url, body, "application/json")


class RedisServer:
    """A private redis-server whose data survives a restart on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ibredis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is needed"
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                                      "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # redis flushes its append-only file on SIGTERM
            self.proc.wait(10)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
