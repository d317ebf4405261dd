"""Discord adapter: `interview-bot discord` runs the bot (see docs/discord.md)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import settings_or_report

log = logging.getLogger(__name__)


async def run(settings) -> int:
    import discord

    from bot.app import build_engine, close_engine

    from .client import InterviewBot, use_endpoints

    # DISCORD_API_BASE / DISCORD_GATEWAY_URL (a local fake, a proxy): discord.py reads them from class attributes.
    use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    engine = build_engine(settings)
    bot = InterviewBot(settings, engine)
    loop = asyncio.get_running_loop()

    async def stop() -> None:
        # Running turns finish (or checkpoint) while the REST session is still open; then the gateway closes.
        await engine.shutdown()
        await bot.close()

    for sig in (signal.SIGTERM, signal.SIGINT):   # a host's stop signal ends the process cleanly
        try:
            loop.add_signal_handler(sig, lambda: loop.create_task(stop()))
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            pass
    from bot.metrics import watch_rate_limit_logs

    watch_rate_limit_logs(engine.metrics, "discord")
    side = await engine.start_health_server()
    try:
        await bot.start(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        print("interview-bot: Discord rejected DISCORD_TOKEN. Copy the bot token again from the Developer Portal "
              "(Bot -> Reset Token) into .env.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("interview-bot: Discord refused the Message Content intent. Enable it in the Developer Portal "
              "(Bot -> Privileged Gateway Intents -> MESSAGE CONTENT INTENT), then restart.", file=sys.stderr)
        return 2
    finally:
        if not bot.is_closed():
            await bot.close()
        await close_engine(engine)
        if side is not None:
            await side.cleanup()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="interview-bot discord",
                                     description="Run the Discord bot (settings come from the environment or .env).")
    parser.parse_args(argv)
    settings = settings_or_report("discord")
    if settings is None:
        return 2
    from bot.app import setup_logging

    setup_logging(settings)
    try:
        return asyncio.run(run(settings))
    except KeyboardInterrupt:
        return 0
