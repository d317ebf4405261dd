"""Sharding: two bot processes (here two clients) run one shard each and split the guilds; one store."""
from __future__ import annotations

import pytest

from adapters.discord.client import shard_options
from bot.config import SettingsError, load_settings
from bot.store import RedisStore
from tests.conftest import redis_url
from tests.discord.helpers import CHANNEL_ID, wait_text
from tests.fakes.fake_discord import GUILD_ID, SECOND_CHANNEL_ID, SECOND_GUILD_ID, shard_of

QUESTIONS = "A few quick questions"


async def thread_in(fake, channel_id: int) -> dict:
    await fake.wait_for(lambda: any(t["parent_id"] == str(channel_id) for t in fake.threads()), 10,
                        f"a thread in {channel_id}")
    return next(t for t in fake.threads() if t["parent_id"] == str(channel_id))


async def test_two_shard_processes_split_the_guilds_and_share_the_store(runner, discord_fake, redis_store):
    fake = discord_fake
    fake.add_guild()
    assert shard_of(GUILD_ID, 2) == 1 and shard_of(SECOND_GUILD_ID, 2) == 0
    # A second "process": its own store and connections on the same Redis, same prefix.
    second = RedisStore(redis_url(), prefix=redis_store.prefix, ttl_seconds=3600, lease_ms=3000)
    shard0 = await runner.start(store=redis_store, discord_shard_count=2, discord_shard_ids="0")
    shard1 = await runner.start(store=second, discord_shard_count=2, discord_shard_ids="1")

    # Each identified as its own shard of two and was given only its guilds.
    assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
    assert [g.id for g in shard0.guilds] == [SECOND_GUILD_ID]
    assert [g.id for g in shard1.guilds] == [GUILD_ID]
    assert sorted(shard0.shards) == [0] and sorted(shard1.shards) == [1]

    received: dict[int, set[str]] = {0: set(), 1: set()}
    for shard, bot in ((0, shard0), (1, shard1)):
        submit = bot.engine.submit

        async def recording(event, _submit=submit, _shard=shard):
            received[_shard].add(event.ref.workspace)
            return await _submit(event)
        bot.engine.submit = recording   # type: ignore[method-assign]

    # An interview in each guild: the command reaches only the process running the guild's shard.
    await fake.slash("interview", {"problem": "Design a URL shortener"}, channel_id=CHANNEL_ID)
    await fake.slash("interview", {"problem": "Design a chat app"}, channel_id=SECOND_CHANNEL_ID)
    first, other = await thread_in(fake, CHANNEL_ID), await thread_in(fake, SECOND_CHANNEL_ID)
    assert first["guild_id"] == str(GUILD_ID) and other["guild_id"] == str(SECOND_GUILD_ID)
    await wait_text(fake, first["id"], QUESTIONS)
    await wait_text(fake, other["id"], QUESTIONS)

    # A reply in the first guild's thread goes to shard 1's process; the interview goes on. (Turns run
    # wherever the thread's lease is taken: any process sharing the store can post through the REST API.)
    await fake.say(int(first["id"]), "About 100M links a month")
    await wait_text(fake, first["id"], "That's my design", timeout=20)
    assert received == {0: {str(SECOND_GUILD_ID)}, 1: {str(GUILD_ID)}}
    await second.close()


async def test_without_a_shard_count_one_process_runs_the_recommended_shards(runner, discord_fake):
    fake = discord_fake
    fake.add_guild()
    fake.recommended_shards = 2
    bot = await runner.start()
    assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
    assert sorted(g.id for g in bot.guilds) == sorted([GUILD_ID, SECOND_GUILD_ID])
    assert any(c.path == "/gateway/bot" for c in fake.calls)


def test_shard_settings(monkeypatch):
    assert shard_options(load_settings("console", _env_file=None, anthropic_api_key="k")) == {"shard_count": None}
    settings = load_settings("console", _env_file=None, anthropic_api_key="k", discord_shard_count=4, discord_shard_ids="3, 1")
    assert shard_options(settings) == {"shard_count": 4, "shard_ids": [1, 3]}
    assert shard_options(load_settings("console", _env_file=None, anthropic_api_key="k", discord_shard_count=4)) == \
        {"shard_count": 4, "shard_ids": None}
    with pytest.raises(SettingsError, match="DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"):
        load_settings("console", _env_file=None, anthropic_api_key="k", discord_shard_ids="0")
    with pytest.raises(SettingsError, match="shards are numbered 0 to 1"):
        load_settings("console", _env_file=None, anthropic_api_key="k", discord_shard_count=2, discord_shard_ids="0,2")
    with pytest.raises(SettingsError, match="DISCORD_SHARD_IDS is invalid"):
        load_settings("console", _env_file=None, anthropic_api_key="k", discord_shard_count=2, discord_shard_ids="one")
