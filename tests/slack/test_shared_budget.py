"""Slack's chat.update limit is per workspace: bot processes sharing Redis share one budget."""
from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.api import SlackApi
from bot.rate import LocalBucket, SharedBucket, workspace_bucket
from bot.store import MemoryStore, RedisStore
from tests.conftest import redis_url


async def test_two_processes_draw_from_one_edit_budget(fake_slack, redis_store):
    fake = fake_slack
    other_store = RedisStore(redis_url(), prefix=redis_store.prefix)   # a second process
    try:
        apis = [SlackApi(AsyncWebClient(token=fake.token, base_url=fake.base_url), post_burst=100, post_rate=100,
                         update_bucket=workspace_bucket(store, "slack:app:chat.update", 4, 0.001))
                for store in (redis_store, other_store)]
        assert all(isinstance(api._updates, SharedBucket) for api in apis)
        ts = await apis[0].post("C1", "hello")
        done = [await apis[n % 2].update("C1", ts, f"edit {n}", optional=True) for n in range(8)]
        assert done.count(True) == 4, done   # not 4 per process
        assert fake.messages[ts]["edits"] == 4
        assert not await apis[1].can_edit_soon()
    finally:
        await other_store.close()


async def test_without_redis_or_while_it_is_down_each_process_counts_alone():
    assert isinstance(workspace_bucket(MemoryStore(), "x", 2, 1), LocalBucket)
    down = RedisStore("redis://127.0.0.1:1/0", prefix="ibtest-down", retries=0)
    try:
        bucket = workspace_bucket(down, "x", 2, 0.001)
        assert [await bucket.try_take() for _ in range(3)] == [True, True, False]
        assert await bucket.level() < 1
    finally:
        await down.close()
