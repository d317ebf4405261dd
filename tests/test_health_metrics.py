"""Metrics helpers and the /healthz, /readyz, /metrics routes over real HTTP."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.health import (
    CheckStatus,
    Health,
    add_health_routes,
    http_reachable_check,
    model_probe_url,
    readiness_body,
    redact,
    redis_check,
    run_check,
    start_health_server,
)
from bot.metrics import (
    Metrics,
    TurnOutcome,
    interview_closed,
    interview_opened,
    record_budget_refusal,
    record_error,
    record_model_call,
    record_model_failure,
    record_platform_429,
    record_turn,
    set_inbox_depth,
)
from bot.state import Usage
from tests.conftest import make_settings, redis_url
from tests.fakes.fake_anthropic import FakeAnthropic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


def value(m: Metrics, name: str, **labels) -> float | None:
    return m.registry.get_sample_value(f"interview_bot_{name}", labels)


# --- metrics ------------------------------------------------------------------


def test_turns_and_latency_are_counted(metrics):
    record_turn(metrics, platform="slack", step="design", outcome=TurnOutcome.OK, seconds=3.2)
    record_turn(metrics, platform="slack", step="design", outcome=TurnOutcome.OK, seconds=0.4)
    record_turn(metrics, platform="slack", step="design", outcome=TurnOutcome.ERROR, seconds=1.0)
    assert value(metrics, "turns_total", platform="slack", step="design", outcome="ok") == 2
    assert value(metrics, "turns_total", platform="slack", step="design", outcome="error") == 1
    assert value(metrics, "turn_seconds_count", platform="slack", step="design") == 3
    assert value(metrics, "turn_seconds_sum", platform="slack", step="design") == pytest.approx(4.6)
    assert value(metrics, "turn_seconds_bucket", platform="slack", step="design", le="0.5") == 1
    assert value(metrics, "turn_seconds_bucket", platform="slack", step="design", le="5.0") == 3


def test_model_calls_count_tokens_by_kind(metrics):
    usage = Usage(input_tokens=120, output_tokens=300, cache_read_tokens=5000, cache_write_tokens=0, calls=1)
    record_model_call(metrics, provider="openai", seconds=2.5, usage=usage)
    record_model_call(metrics, provider="openai", seconds=1.5, usage=Usage(input_tokens=10, output_tokens=5))
    assert value(metrics, "tokens_total", provider="openai", kind="input") == 130
    assert value(metrics, "tokens_total", provider="openai", kind="output") == 305
    assert value(metrics, "tokens_total", provider="openai", kind="cache_read") == 5000
    assert value(metrics, "tokens_total", provider="openai", kind="cache_write") is None
    assert value(metrics, "model_seconds_sum", provider="openai") == pytest.approx(4.0)
    assert value(metrics, "model_calls_total", provider="openai") == 2


def test_errors_429s_gauges(metrics):
    record_model_failure(metrics, provider="anthropic", seconds=9, kind="overloaded")
    record_error(metrics, "overloaded")
    record_error(metrics, "timeout")
    record_platform_429(metrics, "discord")
    record_budget_refusal(metrics, "user")
    interview_opened(metrics, "discord")
    interview_opened(metrics, "discord")
    interview_closed(metrics, "discord")
    set_inbox_depth(metrics, "discord", 7)
    assert value(metrics, "errors_total", kind="overloaded") == 2
    assert value(metrics, "errors_total", kind="timeout") == 1
    assert value(metrics, "model_calls_total", provider="anthropic") is None
    assert value(metrics, "platform_rate_limited_total", platform="discord") == 1
    assert value(metrics, "budget_refusals_total", scope="user") == 1
    assert value(metrics, "active_interviews", platform="discord") == 1
    assert value(metrics, "inbox_depth", platform="discord") == 7


def test_two_registries_do_not_share_values():
    a, b = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    record_error(a, "timeout")
    assert a.registry.get_sample_value("interview_bot_errors_total", {"kind": "timeout"}) == 1
    assert b.registry.get_sample_value("interview_bot_errors_total", {"kind": "timeout"}) is None


# --- checks -------------------------------------------------------------------


async def test_check_outcomes_are_named_and_redacted():
    async def ok():
        return True

    async def broken():
        raise ConnectionError("cannot reach redis://:hunter2@db.internal:6379/0")

    async def slow():
        await asyncio.sleep(5)

    assert (await run_check("a", ok, 1)).status is CheckStatus.OK
    failed = await run_check("b", broken, 1)
    assert failed.status is CheckStatus.FAILED
    assert "hunter2" not in failed.detail and "ConnectionError" in failed.detail and "db.internal" in failed.detail
    timed = await run_check("c", slow, 0.05)
    assert timed.status is CheckStatus.TIMEOUT and timed.seconds < 1


def test_readiness_body_is_pure_and_names_failures():
    from bot.health import CheckResult

    status, body = readiness_body([CheckResult("redis", CheckStatus.OK), CheckResult("model", CheckStatus.TIMEOUT)])
    assert status == 503 and body["failed"] == ["model"] and body["checks"]["redis"]["status"] == "ok"
    assert readiness_body([])[0] == 200


def test_redact_keeps_host():
    assert redact("http://user:pw@h:1/x and rediss://:tok@r/0") == "http://***@h:1/x and rediss://***@r/0"


def test_model_probe_url_follows_provider():
    s = make_settings("http://127.0.0.1:9/")
    assert model_probe_url(s) == "http://127.0.0.1:9/v1/models"


# --- HTTP: side server ------------------------------------------------------------


@pytest.fixture
async def real_redis():
    client = aioredis.from_url(redis_url())
    yield client
    await client.aclose()


async def test_side_server_serves_all_three_routes(metrics, real_redis):
    record_turn(metrics, platform="discord", step="discuss", outcome=TurnOutcome.OK, seconds=1.25)
    async with FakeAnthropic() as fake:
        health = Health(metrics, {"redis": redis_check(real_redis),
                                  "model": http_reachable_check(f"{fake.base_url}/v1/models")})
        port = free_port()
        runner = await start_health_server("127.0.0.1", port, health)
        assert runner is not None
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    assert r.status == 200 and (await r.json())["status"] == "ok"
                async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                    body = await r.json()
                    assert r.status == 200, body
                    assert body["checks"]["redis"]["status"] == "ok" and body["checks"]["model"]["status"] == "ok"
                async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                    assert r.status == 200
                    assert r.headers["Content-Type"].startswith("text/plain")
                    text = await r.text()
        finally:
            await runner.cleanup()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    turns = families["interview_bot_turns"]
    sample = next(s for s in turns.samples if s.name == "interview_bot_turns_total")
    assert sample.labels == {"platform": "discord", "step": "discuss", "outcome": "ok"} and sample.value == 1
    assert "interview_bot_turn_seconds" in families


async def test_readyz_is_503_and_names_the_failed_check(metrics, real_redis):
    dead_port = free_port()  # nothing listens there
    dead_redis = aioredis.from_url(f"redis://:secretpw@127.0.0.1:{dead_port}/0", socket_connect_timeout=0.5)
    health = Health(metrics, {"redis": redis_check(real_redis),
                              "redis-dead": redis_check(dead_redis),
                              "model": http_reachable_check(f"http://127.0.0.1:{dead_port}/v1/models")},
                    check_timeout=2)
    port = free_port()
    runner = await start_health_server("127.0.0.1", port, health)
    assert runner is not None
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                assert r.status == 503
                body = await r.json()
                raw = await r.text()
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200  # the process itself is fine
    finally:
        await runner.cleanup()
        await dead_redis.aclose()
    assert sorted(body["failed"]) == ["model", "redis-dead"]
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["model"]["status"] in {"failed", "timeout"}
    assert "secretpw" not in raw


async def test_a_5xx_model_endpoint_is_not_ready(metrics):
    async def boom(request):
        return web.Response(status=502)

    upstream = web.Application()
    upstream.router.add_get("/v1/models", boom)
    up_runner = web.AppRunner(upstream)
    await up_runner.setup()
    up_port = free_port()
    await web.TCPSite(up_runner, "127.0.0.1", up_port).start()
    try:
        result = await run_check("model", http_reachable_check(f"http://127.0.0.1:{up_port}/v1/models"), 2)
    finally:
        await up_runner.cleanup()
    assert result.status is CheckStatus.FAILED and "502" in result.detail


async def test_port_zero_starts_nothing(metrics):
    assert await start_health_server("127.0.0.1", 0, Health(metrics)) is None


async def test_routes_added_to_an_existing_app_keep_its_own_routes(metrics):
    async def events(request):
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    add_health_routes(app, Health(metrics))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}/slack/events") as r:
                assert (await r.json()) == {"ok": True}
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                assert r.status == 200 and (await r.json())["failed"] == []
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert "interview_bot_turns" in await r.text()
    finally:
        await runner.cleanup()


def test_health_settings_defaults_are_off_and_local():
    s = make_settings("http://x")
    assert s.health_port == 0 and s.health_host == "127.0.0.1"


def test_discord_429_log_lines_are_counted(metrics):
    import inspect
    import logging

    import discord.http

    from bot.metrics import watch_rate_limit_logs

    source = inspect.getsource(discord.http)
    fmt = "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds."
    assert fmt in source, "discord.py changed its 429 log line; update RateLimitLogCounter"
    log = logging.getLogger("discord.http")
    handler = watch_rate_limit_logs(metrics, "discord")
    try:
        log.warning(fmt, "POST", "https://discord.com/api/v10/channels/1/messages", 0.5)
        log.warning("%s %s received a 429 despite having %s remaining requests. This is a sub-ratelimit.",
                    "PATCH", "/x", 3)
        log.info("unrelated line")
    finally:
        log.removeHandler(handler)
    log.warning(fmt, "POST", "/after", 0.5)
    assert value(metrics, "platform_rate_limited_total", platform="discord") == 2


async def test_side_server_from_settings_checks_the_model_endpoint(metrics, real_redis):
    from bot.health import start_from_settings

    async with FakeAnthropic() as fake:
        port = free_port()
        settings = make_settings(fake.base_url, health_port=port)
        runner = await start_from_settings(settings, metrics, real_redis)
        assert runner is not None
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as r:
                body = await r.json()
        finally:
            await runner.cleanup()
    assert r.status == 200 and set(body["checks"]) == {"redis", "model"}
    assert await start_from_settings(make_settings(fake.base_url), metrics) is None  # HEALTH_PORT=0: off
