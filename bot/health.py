"""Health and metrics over HTTP: /healthz, /readyz and /metrics.

`add_health_routes(app, health)` puts the three routes on an existing aiohttp
app (the Slack HTTP server); `start_health_server(host, port, health)` runs
them on a small side server of their own (Socket Mode, Discord).

/readyz runs the readiness checks concurrently, each bounded by a timeout; a
check is an async callable that returns normally when the dependency is fine
and raises otherwise.  The answer names every check and what failed, without
credentials.
"""
from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp
from aiohttp import web

from .metrics import CONTENT_TYPE, Metrics

ReadinessCheck = Callable[[], Awaitable[object]]

_USERINFO = re.compile(r"(\w+://)[^/@\s]+@")


class CheckStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Health:
    """What the routes serve: the metrics and the named readiness checks."""

    metrics: Metrics
    checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    check_timeout: float = 3.0


HEALTH_KEY = web.AppKey("interview_bot_health", Health)


def redact(text: str) -> str:
    """Drop `user:password@` from URLs in an error text."""
    return _USERINFO.sub(r"\1***@", text)


async def run_check(name: str, check: ReadinessCheck, timeout: float) -> CheckResult:
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            await check()
    except TimeoutError:
        return CheckResult(name, CheckStatus.TIMEOUT, f"no answer within {timeout:g} s", time.monotonic() - start)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failing check is reported, not raised
        detail = redact(f"{exc.__class__.__name__}: {exc}")[:300]
        return CheckResult(name, CheckStatus.FAILED, detail, time.monotonic() - start)
    return CheckResult(name, CheckStatus.OK, "", time.monotonic() - start)


async def run_checks(health: Health) -> list[CheckResult]:
    return list(await asyncio.gather(*(run_check(n, c, health.check_timeout) for n, c in health.checks.items())))


def readiness_body(results: list[CheckResult]) -> tuple[int, dict]:
    """HTTP status and JSON body for /readyz (pure)."""
    ready = all(r.status is CheckStatus.OK for r in results)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {r.name: {"status": r.status.value, "detail": r.detail, "ms": round(r.seconds * 1000, 1)}
                   for r in results},
        "failed": [r.name for r in results if r.status is not CheckStatus.OK],
    }
    return (200 if ready else 503), body


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    status, body = readiness_body(await run_checks(request.app[HEALTH_KEY]))
    return web.json_response(body, status=status)


async def _metrics(request: web.Request) -> web.Response:
    payload = request.app[HEALTH_KEY].metrics.render()
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE})


def add_health_routes(app: web.Application, health: Health) -> None:
    """Add GET /healthz, /readyz and /metrics to `app` (before it starts)."""
    app[HEALTH_KEY] = health
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)


def health_app(health: Health) -> web.Application:
    app = web.Application()
    add_health_routes(app, health)
    return app


async def start_health_server(host: str, port: int, health: Health) -> web.AppRunner | None:
    """Serve the routes on host:port; None (nothing started) when port is 0.

    Stop it with `await runner.cleanup()`.
    """
    if port == 0:
        return None
    runner = web.AppRunner(health_app(health), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


# --- ready-made checks --------------------------------------------------------


def redis_check(redis_client) -> ReadinessCheck:
    """Readiness of a redis.asyncio client: PING answers."""

    async def check() -> None:
        if not await redis_client.ping():
            raise RuntimeError("PING did not answer PONG")

    return check


def http_reachable_check(url: str, *, session: aiohttp.ClientSession | None = None) -> ReadinessCheck:
    """Readiness of an HTTP endpoint: any HTTP answer below 500 counts (401/404 included).

    For the model: the endpoint is up and talking HTTP; whether the key is
    right is left to the first real call, so the check costs no tokens.
    """

    async def check() -> None:
        own = session is None
        s = session or aiohttp.ClientSession()
        try:
            async with s.get(url, allow_redirects=False) as resp:
                if resp.status >= 500:
                    raise RuntimeError(f"HTTP {resp.status} from {redact(url)}")
        finally:
            if own:
                await s.close()

    return check


def model_probe_url(settings) -> str:
    """A cheap URL on the configured model endpoint: its model list."""
    if getattr(settings, "llm_provider", "anthropic") == "openai":
        base = (settings.openai_base_url or "https://api.openai.com/v1").rstrip("/")
        return f"{base}/models"
    base = (settings.anthropic_base_url or "https://api.anthropic.com").rstrip("/")
    return f"{base}/v1/models"


def standard_checks(settings, redis_client=None) -> dict[str, ReadinessCheck]:
    """/readyz checks for a bot: Redis answers PING (when used) and the model endpoint is reachable."""
    checks: dict[str, ReadinessCheck] = {}
    if redis_client is not None:
        checks["redis"] = redis_check(redis_client)
    checks["model"] = http_reachable_check(model_probe_url(settings))
    return checks


async def start_from_settings(settings, metrics: Metrics, redis_client=None) -> web.AppRunner | None:
    """The side server as configured (HEALTH_HOST, HEALTH_PORT; None when off) with the standard checks."""
    health = Health(metrics, standard_checks(settings, redis_client))
    return await start_health_server(settings.health_host, settings.health_port, health)
