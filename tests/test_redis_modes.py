"""REDIS_MODE: the settings build the right client; a whole interview and budgets on a real Redis Cluster."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from bot.app import build_engine
from bot.budget import RedisBudget, Who
from bot.config import Settings, SettingsError, load_settings
from bot.messages import Kind
from bot.state import Phase, ThreadRef, Usage
from bot.store import MemoryStore, RedisStore, make_store
from bot.store.connect import parse_sentinels
from tests.conftest import make_settings, open_redis_store
from tests.fakes.platform import reply, start
from tests.fakes.sinks import RecordingSink


def settings_with(**values) -> Settings:
    return Settings(_env_file=None, **values)


async def test_standalone_is_the_default_and_no_url_means_memory():
    assert isinstance(make_store(settings_with()), MemoryStore)
    store = make_store(settings_with(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(store, RedisStore) and type(store.client) is Redis
    await store.close()


async def test_cluster_mode_builds_a_cluster_client():
    store = make_store(settings_with(redis_mode="cluster", redis_url="redis://127.0.0.1:7000"))
    assert isinstance(store, RedisStore) and isinstance(store.client, RedisCluster)
    await store.close()


async def test_sentinel_mode_asks_the_sentinels_for_the_primary():
    settings = settings_with(redis_mode="sentinel", redis_sentinels="10.0.0.1:26379, 10.0.0.2",
                             redis_sentinel_service="interviews", redis_sentinel_password="sentinel-secret",
                             redis_url="rediss://:primary-secret@ignored:1/2")
    store = make_store(settings)
    try:
        assert isinstance(store, RedisStore)
        pool = store.client.connection_pool
        assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "interviews"
        assert pool.is_master
        sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
        assert [(k["host"], k["port"]) for k in sentinels] == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
        assert all(k["password"] == "sentinel-secret" for k in sentinels)
        # The primary's credentials, database and TLS come from REDIS_URL; its host does not.
        kwargs = pool.connection_kwargs
        assert kwargs["password"] == "primary-secret" and kwargs["db"] == 2 and "host" not in kwargs
        assert "SSL" in pool.connection_class.__name__
    finally:
        await store.close()


def test_parse_sentinels_names_a_bad_entry():
    assert parse_sentinels("a:1;b") == [("a", 1), ("b", 26379)]
    with pytest.raises(ValueError, match="'a:x' is not host:port"):
        parse_sentinels("a:x")


@pytest.mark.parametrize("env, message", [
    ({"REDIS_MODE": "shards"}, "REDIS_MODE is invalid"),
    ({"REDIS_MODE": "cluster"}, "REDIS_MODE=cluster needs REDIS_URL"),
    ({"REDIS_MODE": "sentinel"}, "REDIS_MODE=sentinel needs REDIS_SENTINELS"),
    ({"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "host:port"}, "REDIS_SENTINELS is invalid"),
])
def test_redis_mode_mistakes_are_named_at_start(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings("console", _env_file=None)


# -- on a real three-node Redis Cluster (scripts/test.sh starts it) ------------------------------------------------

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="cluster-1")


async def test_a_whole_interview_runs_on_a_redis_cluster(fake_llm):
    async with open_redis_store(cluster=True) as store:
        engine = build_engine(make_settings(fake_llm.base_url), store=store)
        try:
            sink = RecordingSink()
            assert (await start(engine, REF, "Design a URL shortener", user="ana", sink=sink)).accepted
            assert sink.of(Kind.QUESTIONS)
            await reply(engine, REF, "100M links a month", user="ana", sink=sink)
            state = await store.load(REF.key(store.prefix))
            assert state is not None and state.phase is Phase.DISCUSSING and state.answers[0].text.startswith("100M")
            assert await store.active() == []
        finally:
            await engine.llm.close()


async def test_budgets_count_on_a_redis_cluster():
    async with open_redis_store(cluster=True) as store:
        prefix = f"{store.prefix}-budget-{uuid.uuid4().hex[:6]}"
        now = datetime(2026, 12, 1, 12, tzinfo=UTC)
        budget = RedisBudget(store.client, prefix, user_limit=100, workspace_limit=1000, clock=lambda: now)
        ana = Who("slack", "T1", "U-ana")
        assert (await budget.check(ana)).allowed
        await budget.record(ana, Usage(input_tokens=60, output_tokens=50, calls=1))
        check = await budget.check(ana)
        assert not check.allowed and check.use.user_tokens == 110 and check.use.workspace_tokens == 110
        async for key in store.client.scan_iter(match=f"{prefix}:*"):
            await store.client.delete(key)
