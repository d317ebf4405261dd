"""Fixtures: the fake Slack, the real Bolt app over HTTP, signed requests."""
from __future__ import annotations

import itertools
import json
import time
import urllib.parse

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackBot, http_port
from bot.app import build_engine
from tests.conftest import make_settings
from tests.fakes.fake_slack import FakeSlack

SECRET = "test-signing-secret"
TEAM = "T0TEAM"


class SlackHarness:
    """Sends signed Slack requests to the real Bolt app and waits for the work they start."""

    def __init__(self, fake: FakeSlack, bot: SlackBot, url: str, session: aiohttp.ClientSession):
        self.fake, self.bot, self.url, self.session = fake, bot, url, session
        self._ids = itertools.count(1)
        self.ack_ms: list[float] = []

    def sign(self, body: str, timestamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        return {"X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}

    async def send(self, body: str, content_type: str, headers: dict | None = None,
                   sign: dict | None = None) -> tuple[int, str]:
        h = {"Content-Type": content_type, **(sign if sign is not None else self.sign(body)), **(headers or {})}
        t0 = time.perf_counter()
        async with self.session.post(self.url, data=body.encode(), headers=h) as resp:
            text = await resp.text()
            self.ack_ms.append((time.perf_counter() - t0) * 1000)
            return resp.status, text

    async def command(self, text: str, command: str = "/interview", user_id: str = "UALICE",
                      user_name: str = "alice", channel: str = "C1", **extra) -> tuple[int, str]:
        n = next(self._ids)
        form = {"token": "x", "team_id": TEAM, "team_domain": "fake", "channel_id": channel,
                "channel_name": "general", "user_id": user_id, "user_name": user_name, "command": command,
                "text": text, "api_app_id": "A1", "response_url": self.fake.response_url(f"cmd{n}"),
                "trigger_id": f"trig-{n}-{time.time_ns()}", **extra}
        return await self.send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded", )

    def event_body(self, event: dict, event_id: str | None = None) -> str:
        return json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                           "event_id": event_id or f"Ev{next(self._ids):08d}", "event_time": int(time.time()),
                           "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": "UBOT",
                                               "is_bot": True, "is_enterprise_install": False}],
                           "event": event})

    async def event(self, event: dict, event_id: str | None = None, headers: dict | None = None,
                    sign: dict | None = None) -> tuple[int, str]:
        return await self.send(self.event_body(event, event_id), "application/json", headers, sign)

    async def reply(self, thread_ts: str, text: str, user: str = "UALICE", channel: str = "C1",
                    event_id: str | None = None, headers: dict | None = None, **extra) -> tuple[int, str]:
        ts = f"{time.time():.6f}"
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                 "thread_ts": thread_ts, "parent_user_id": "UBOT", "team": TEAM, "channel_type": "channel",
                 **extra}
        return await self.event(event, event_id, headers)

    async def click(self, action_id: str, message_ts: str, thread_ts: str, user: str = "UALICE",
                    channel: str = "C1") -> tuple[int, str]:
        n = next(self._ids)
        payload = {"type": "block_actions", "team": {"id": TEAM, "domain": "fake"},
                   "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM},
                   "api_app_id": "A1", "token": "x", "trigger_id": f"atrig-{n}-{time.time_ns()}",
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                                 "is_ephemeral": False, "thread_ts": thread_ts},
                   "channel": {"id": channel, "name": "general"},
                   "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "bot_id": "BBOT",
                               "user": "UBOT",
                               "text": self.fake.messages.get(message_ts, {}).get("text", ""),
                               "blocks": self.fake.messages.get(message_ts, {}).get("blocks", [])},
                   "response_url": self.fake.response_url(f"act{n}"),
                   "actions": [{"type": "button", "action_id": action_id, "block_id": "ib_actions",
                                "value": action_id, "action_ts": f"{time.time():.6f}"}]}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.send(body, "application/x-www-form-urlencoded")

    async def settle(self) -> None:
        await self.bot.drain()

    # ----------------------------------------------------------- reading
    def parent(self, channel: str = "C1") -> dict:
        return self.fake.channel_messages(channel)[-1]

    def thread_texts(self, thread_ts: str, channel: str = "C1") -> list[str]:
        return [m["text"] for m in self.fake.thread(channel, thread_ts)]


async def make_harness(fake: FakeSlack, fake_llm, store, **bot_kw):
    settings = make_settings(fake_llm.base_url, slack_bot_token=fake.token, slack_signing_secret=SECRET,
                             slack_mode="http", slack_base_url=fake.base_url,
                             **bot_kw.pop("settings", {}))
    engine = build_engine(settings, store=store)
    kw = dict(preview_interval=0.05, post_burst=1000, post_rate=1000, update_burst=1000, update_rate=1000)
    kw.update(bot_kw)
    bot = SlackBot(settings, engine, client=AsyncWebClient(token=fake.token, base_url=fake.base_url), **kw)
    runner = await bot.serve_http(host="127.0.0.1", port=0)
    session = aiohttp.ClientSession()
    harness = SlackHarness(fake, bot, f"http://127.0.0.1:{http_port(runner)}/slack/events", session)

    async def close():
        await bot.close()
        await session.close()
        await runner.cleanup()
        await engine.llm.close()
    harness.close = close
    return harness


@pytest.fixture
async def fake_slack():
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def slack(fake_slack, fake_llm, redis_store):
    """The Bolt app on a real Redis store, talking to the fake Slack and the fake model."""
    h = await make_harness(fake_slack, fake_llm, redis_store)
    yield h
    await h.close()


@pytest.fixture
async def slack_mem(fake_slack, fake_llm):
    from bot.store import MemoryStore
    h = await make_harness(fake_slack, fake_llm, MemoryStore())
    yield h
    await h.close()
