"""Fixtures: a fake Discord, and the real discord.py client logged in to it."""
from __future__ import annotations

import asyncio
import contextlib

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.client import InterviewBot, use_endpoints
from bot.app import build_engine
from bot.store import MemoryStore
from tests.conftest import make_settings
from tests.fakes.fake_discord import GUILD_ID, TOKEN, FakeDiscord


@pytest.fixture(autouse=True)
def restore_discord_globals():
    """The adapter points discord.py's class attributes at the fake; put them back."""
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


@pytest.fixture
async def discord_fake(request):
    # Discord's real per-channel pace (5 per 5 s) makes a 10-section design take 10+ s against an
    # instant fake model; most tests raise it, the pacing tests mark themselves `discord_pace`.
    limit = 5 if request.node.get_closest_marker("discord_pace") else 100
    async with FakeDiscord(per_channel_limit=limit) as fake:
        yield fake


class BotRunner:
    """Starts InterviewBot instances against the fake; stops them all at the end."""

    def __init__(self, fake: FakeDiscord, llm_url: str):
        self.fake = fake
        self.llm_url = llm_url
        self.running: list[tuple[InterviewBot, asyncio.Task]] = []

    def settings(self, **overrides):
        values = dict(discord_token=TOKEN, discord_api_base=self.fake.api_base,
                      discord_gateway_url=self.fake.gateway_url, discord_guild_id=GUILD_ID)
        values.update(overrides)
        return make_settings(self.llm_url, **values)

    async def start(self, *, store=None, preview_interval: float = 0.05, wait_ready: bool = True,
                    **overrides) -> InterviewBot:
        settings = self.settings(**overrides)
        engine = build_engine(settings, store=store or MemoryStore())
        use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
        bot = InterviewBot(settings, engine, guild_ready_timeout=0.05, preview_interval=preview_interval)
        task = asyncio.get_running_loop().create_task(bot.start(TOKEN))
        self.running.append((bot, task))
        if wait_ready:
            deadline = asyncio.get_running_loop().time() + 10
            while not bot.is_ready():
                if task.done():
                    task.result()   # raise the start-up error
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("bot did not become ready")
                await asyncio.sleep(0.01)
        return bot

    async def stop(self, bot: InterviewBot) -> None:
        for item in list(self.running):
            if item[0] is bot:
                self.running.remove(item)
                await bot.close()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(item[1], 5)
                await bot.engine.llm.close()

    async def stop_all(self) -> None:
        for bot, _ in list(self.running):
            await self.stop(bot)


@pytest.fixture
async def runner(discord_fake, fake_llm):
    r = BotRunner(discord_fake, fake_llm.base_url)
    yield r
    await r.stop_all()


def pytest_configure(config):
    config.addinivalue_line("markers", "discord_pace: run the fake Discord at the real 5-per-5-s channel pace")
