"""`interview-bot slack`: run the Slack bot in Socket Mode or HTTP mode (see docs/slack.md)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

log = logging.getLogger(__name__)


def check_slack_settings(settings, mode: str) -> str | None:
    """One line naming what is missing for this run mode, or None."""
    def value(secret) -> str:
        return secret.get_secret_value().strip() if secret is not None else ""

    bot = value(settings.slack_bot_token)
    if bot.startswith("xapp-"):
        return ("interview-bot: SLACK_BOT_TOKEN holds an app-level token (xapp-...). Use the Bot User OAuth Token "
                "(xoxb-...) from OAuth & Permissions.")
    if mode == "socket":
        app = value(settings.slack_app_token)
        if not app:
            return ("interview-bot: SLACK_APP_TOKEN is not set. Socket Mode needs an app-level token (xapp-...) "
                    "with connections:write (Basic Information > App-Level Tokens), or set SLACK_MODE=http.")
        if not app.startswith("xapp-"):
            return "interview-bot: SLACK_APP_TOKEN must be an app-level token starting with xapp-."
    elif not value(settings.slack_signing_secret):
        return ("interview-bot: SLACK_SIGNING_SECRET is not set. HTTP mode needs the Signing Secret "
                "(Basic Information > App Credentials), or set SLACK_MODE=socket.")
    return None


async def run(settings, mode: str, port: int, *, stop: asyncio.Event | None = None, engine=None,
              **bot_options) -> None:
    """Run until SIGINT/SIGTERM (or until `stop` is set, for tests; `bot_options` go to SlackBot)."""
    from bot.app import build_engine, close_engine

    from .app import SlackBot

    engine = engine or build_engine(settings)
    bot = SlackBot(settings, engine, **bot_options)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
                pass
    runner = handler = side = None
    try:
        engine.start()   # pick up threads a crashed or stopped process left unhandled
        auth = await bot.warm_up()
        log.info("connected to Slack workspace %s as %s", auth.get("team"), auth.get("user"))
        if mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
            side = await engine.start_health_server()
            handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token.get_secret_value())
            await handler.connect_async()
            log.info("Slack Socket Mode connected; waiting for /interview")
        else:
            runner = await bot.serve_http(host=settings.slack_host, port=port)
            log.info("Slack HTTP endpoint on %s:%d/slack/events", settings.slack_host, port)
        await stop.wait()
    finally:
        # Stop taking work first, then let running turns finish (or checkpoint) and release leases.
        if handler is not None:
            await handler.close_async()
        if runner is not None:
            await runner.cleanup()
        if side is not None:
            await side.cleanup()
        await bot.close()
        await close_engine(engine)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="interview-bot slack", description="Run the Slack bot.")
    parser.add_argument("--mode", choices=["socket", "http"], help="override SLACK_MODE")
    parser.add_argument("--port", type=int, help="override SLACK_PORT (http mode)")
    args = parser.parse_args(argv)

    from bot.app import setup_logging
    from bot.config import settings_or_report
    settings = settings_or_report("slack")
    if settings is None:
        return 2
    mode = args.mode or settings.slack_mode
    problem = check_slack_settings(settings, mode)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    setup_logging(settings)
    try:
        asyncio.run(run(settings, mode, args.port or settings.slack_port))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - one line instead of a traceback for the usual failures
        import aiohttp
        from slack_sdk.errors import SlackApiError
        if isinstance(exc, SlackApiError):
            print(f"interview-bot: Slack refused the token ({exc.response.get('error')}). "
                  "Check SLACK_BOT_TOKEN / SLACK_APP_TOKEN.", file=sys.stderr)
            return 1
        if isinstance(exc, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
            print(f"interview-bot: cannot reach Slack ({exc.__class__.__name__}: {exc}). "
                  "Check the network (and SLACK_BASE_URL if set).", file=sys.stderr)
            return 1
        raise
    return 0
