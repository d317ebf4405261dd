"""Shared fixtures: a real Redis, the fake Anthropic server, settings and an engine."""
from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import build_engine
from bot.config import Settings
from bot.store import MemoryStore, RedisMode, RedisStore, RedisTarget, make_client
from tests.fakes.fake_anthropic import FakeAnthropic
from tests.fakes.llm_script import interview_responder
from tests.fakes.sinks import RecordingSink

# CI runs the same property-test examples every time (derandomized); locally they vary, to find more.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def redis_url() -> str:
    # scripts/test.sh starts a private redis-server and exports TEST_REDIS_URL.
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@asynccontextmanager
async def open_redis_store(cluster: bool = False) -> AsyncIterator[RedisStore]:
    """A RedisStore under a unique key prefix (on the local Redis Cluster with `cluster`, skipped without
    one); only its own keys are removed afterwards."""
    prefix = f"ibtest-{uuid.uuid4().hex[:10]}"
    if cluster:
        url = cluster_url()
        if url is None:
            pytest.skip("no Redis Cluster (TEST_REDIS_CLUSTER_URL unset; scripts/test.sh starts one when it can)")
        client = make_client(RedisTarget(mode=RedisMode.CLUSTER, url=url))
        store = RedisStore(prefix=prefix, ttl_seconds=3600, dedupe_ttl=60, lease_ms=3000, client=client)
    else:
        url = redis_url()
        store = RedisStore(url, prefix=prefix, ttl_seconds=3600, dedupe_ttl=60, lease_ms=3000)
    try:
        await store.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis at {url} is not reachable ({exc}); run the tests with scripts/test.sh")
    try:
        yield store
    finally:
        async for key in store.client.scan_iter(match=f"{prefix}:*"):
            await store.client.delete(key)
        await store.close()


@pytest.fixture
async def redis_store():
    async with open_redis_store() as store:
        yield store


def cluster_url() -> str | None:
    # scripts/test.sh starts a three-node Redis Cluster and exports TEST_REDIS_CLUSTER_URL (unless it cannot).
    return os.environ.get("TEST_REDIS_CLUSTER_URL") or None


@pytest.fixture
async def cluster_store():
    async with open_redis_store(cluster=True) as store:
        yield store


@pytest.fixture
async def fake_llm():
    async with FakeAnthropic(responder=interview_responder) as fake:
        yield fake


def make_settings(base_url: str, **overrides) -> Settings:
    # Interviewer cards and the answer window add messages to a thread; tests of other features keep
    # the thread as it was (the first answer starts the design).
    values = dict(interviewer_cards=False, collect_seconds=0, anthropic_api_key="test", anthropic_base_url=base_url, anthropic_max_retries=2,
                  anthropic_total_timeout=20, anthropic_request_timeout=10, redis_url=None)
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(fake_llm):
    return make_settings(fake_llm.base_url)


@pytest.fixture
async def engine(settings):
    eng = build_engine(settings, store=MemoryStore())
    yield eng
    await eng.llm.close()


@pytest.fixture
async def redis_engine(settings, redis_store):
    eng = build_engine(settings, store=redis_store)
    yield eng
    await eng.llm.close()


@pytest.fixture
def sink():
    return RecordingSink()


@pytest.fixture(autouse=True)
def _no_project_dotenv(monkeypatch, tmp_path_factory):
    """Tests never read a developer's real .env next to the project (the working directory's still counts)."""
    missing = tmp_path_factory.getbasetemp() / "no-project-dotenv" / ".env"
    monkeypatch.setitem(Settings.model_config, "env_file", (missing, ".env"))
