"""Socket Mode end to end: `run()` connects through apps.connections.open to the fake's WebSocket."""
from __future__ import annotations

import asyncio
import time

from adapters.slack import run
from tests.conftest import make_settings
from tests.fakes.fake_slack import FakeSlack


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_socket_mode_interview(fake_llm):
    async with FakeSlack() as fake:
        settings = make_settings(fake_llm.base_url, slack_bot_token=fake.token, slack_app_token=fake.app_token,
                                 slack_mode="socket", slack_base_url=fake.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, "socket", 0, stop=stop, post_rate=100, post_burst=100,
                                            update_rate=100, update_burst=100, preview_interval=0.05))
        try:
            await fake.wait_socket()
            t0 = time.perf_counter()
            env = await fake.socket_send("slash_commands", {
                "command": "/interview", "text": "Design a URL shortener", "channel_id": "C1", "user_id": "UALICE",
                "user_name": "alice", "team_id": "T0TEAM", "trigger_id": "sock-1",
                "response_url": fake.response_url("s1")})
            ack = await fake.socket_ack(env)
            assert (time.perf_counter() - t0) < 0.5 and ack["envelope_id"] == env
            await until(lambda: fake.channel_messages("C1") and fake.thread("C1", fake.channel_messages("C1")[0]["ts"]))
            thread = fake.channel_messages("C1")[0]["ts"]
            await until(lambda: "quick questions" in fake.thread("C1", thread)[-1]["text"])

            event = {"type": "message", "channel": "C1", "user": "UBOB", "text": "skip", "ts": "1800000000.000001",
                     "thread_ts": thread, "team": "T0TEAM"}
            body = {"type": "event_callback", "team_id": "T0TEAM", "api_app_id": "A1", "event_id": "EvS1",
                    "event_time": int(time.time()), "event": event}
            env = await fake.socket_send("events_api", body)
            await fake.socket_ack(env)
            env = await fake.socket_send("events_api", body, retry_attempt=1)  # a redelivery: handled once
            await fake.socket_ack(env)
            await until(lambda: "That's my design" in fake.thread("C1", thread)[-1]["text"], timeout=15)
            texts = [m["text"] for m in fake.thread("C1", thread)]
            assert sum("Functional requirements" in t for t in texts) == 1
            assert all(c.thread_ts == thread for c in fake.api_calls("chat.postMessage")[1:])
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert not fake.sockets  # closed cleanly


async def test_http_mode_run_serves_events_and_health(fake_llm):
    import socket

    import aiohttp
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with FakeSlack() as fake:
        settings = make_settings(fake_llm.base_url, slack_bot_token=fake.token, slack_signing_secret="s3cret",
                                 slack_mode="http", slack_base_url=fake.base_url)
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, "http", port, stop=stop))
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(100):
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                            assert resp.status == 200 and (await resp.json())["status"] == "ok"
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.02)
                else:
                    raise AssertionError("server did not start")
                async with session.post(f"http://127.0.0.1:{port}/slack/events", data=b"{}",
                                        headers={"Content-Type": "application/json"}) as resp:
                    assert resp.status == 401  # unsigned
                async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    body = await resp.json()
                    assert resp.status == 200 and body["checks"]["model"]["status"] == "ok", body
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    assert resp.status == 200 and "interview_bot_turns_total" in await resp.text()
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert [c.method for c in fake.calls] == ["auth.test"]
