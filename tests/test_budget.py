"""Daily token budgets: Redis (the test script's real server) and memory, texts, prices."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from bot.budget import (
    BudgetCheck,
    DailyUse,
    MemoryBudget,
    ModelPrice,
    RedisBudget,
    Verdict,
    Who,
    budget_keys,
    budget_tokens,
    cost_of,
    format_money,
    interview_usage_line,
    make_budget,
    next_reset,
    over_budget_text,
    price_for,
    usage_text,
    who_for,
)
from bot.config import Settings
from bot.state import ThreadRef, Usage
from tests.conftest import make_settings, redis_url

ALICE = Who("slack", "T1", "U-alice")
BOB = Who("slack", "T1", "U-bob")
CAROL_ELSEWHERE = Who("slack", "T2", "U-alice")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def redis_client():
    client = aioredis.from_url(redis_url())
    prefix = f"ibtest-{uuid.uuid4().hex[:10]}"
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis at {redis_url()} is not reachable ({exc}); run the tests with scripts/test.sh")
    yield client, prefix
    async for key in client.scan_iter(match=f"{prefix}:*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 21, 30, tzinfo=UTC))


def tokens(n: int) -> Usage:
    return Usage(input_tokens=n, calls=1)


@pytest.fixture(params=["redis", "memory"])
async def budget_factory(request, clock):
    """Builds a budget with given limits, on Redis or in memory."""
    if request.param == "memory":
        yield lambda user, ws: MemoryBudget(user, ws, clock)
        return
    client = aioredis.from_url(redis_url())
    prefix = f"ibtest-{uuid.uuid4().hex[:10]}"
    yield lambda user, ws: RedisBudget(client, prefix, user, ws, clock)
    async for key in client.scan_iter(match=f"{prefix}:*"):
        await client.delete(key)
    await client.aclose()


# --- pure ---------------------------------------------------------------------------


def test_key_scheme_hash_tags_the_workspace():
    day = datetime(2026, 12, 1, tzinfo=UTC).date()
    assert budget_keys("ib", ALICE, day) == ("ib:budget:slack:{T1}:U-alice:20261201", "ib:budget:slack:{T1}:-:20261201")
    assert budget_keys("ib", Who("slack", "T1", "-"), day)[0] == "ib:budget:slack:{T1}:_:20261201"
    assert who_for(ThreadRef(platform="discord", workspace="G9", channel="c", thread="t"), "u7") == \
        Who("discord", "G9", "u7")
    evil = Who("discord", "g{1}:x", "u 1:{}")
    ukey, wkey = budget_keys("ib", evil, day)
    assert ukey == "ib:budget:discord:{g1x}:u1:20261201" and wkey.count("{") == 1


def test_budget_tokens_counts_cache_reads_at_a_tenth():
    u = Usage(input_tokens=100, output_tokens=50, cache_read_tokens=1001, cache_write_tokens=20)
    assert budget_tokens(u) == 100 + 50 + 20 + 101


def test_next_reset_is_next_utc_midnight():
    assert next_reset(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)
    plus2 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC).astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    assert next_reset(plus2) == datetime(2026, 12, 2, tzinfo=UTC)


def test_texts_name_the_limit_and_reset_time():
    now = datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
    use = DailyUse(now.date(), 1500, 1500, 1000, 10_000, next_reset(now))
    text = over_budget_text(BudgetCheck(Verdict.OVER_USER, use), now)
    assert text == ("You've used your daily model budget (1,500 of 1,000 tokens). "
                    "It resets at 00:00 UTC (in 2 h 30 min).")
    ws = over_budget_text(BudgetCheck(Verdict.OVER_WORKSPACE, use), now)
    assert ws.startswith("This workspace has used its daily model budget (1,500 of 10,000 tokens)")
    assert over_budget_text(BudgetCheck(Verdict.ALLOWED, use), now) == ""
    shown = usage_text(DailyUse(now.date(), 42, 99, 0, 500, next_reset(now)), now + timedelta(hours=2, minutes=29))
    assert "you: 42 tokens (no limit)" in shown and "this workspace: 99 of 500 tokens" in shown
    assert "2026-12-01" in shown and "(in 1 min)" in shown


def test_prices_and_money_formatting():
    table = {"gpt-4o": ModelPrice(input=Decimal("2.5"), output=Decimal(10), cache_read=Decimal("1.25")),
             "gpt-4o-mini": ModelPrice(input=Decimal("0.15"), output=Decimal("0.6"))}
    assert price_for("gpt-4o-mini-2024-07-18", table) is table["gpt-4o-mini"]
    assert price_for("gpt-4o", table) is table["gpt-4o"]
    assert price_for("llama3.1", table) is None
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=2_000_000, calls=3)
    assert cost_of(usage, table["gpt-4o"]) == Decimal("2.5") + Decimal(1) + Decimal("2.5")
    assert format_money(Decimal(6), "$") == "$6.00"
    assert format_money(Decimal("0.004217"), "$") == "$0.0042"
    assert format_money(Decimal("1.235"), "EUR") == "1.24 EUR"
    line = interview_usage_line(usage, "gpt-4o-2024", table)
    assert line == ("_Model usage for this interview: 3 calls, 3,000,000 input tokens (2,000,000 read from cache), "
                    "100,000 output tokens, about $6.00._")
    assert "about" not in interview_usage_line(usage, "llama3.1", table)


def test_price_table_setting_is_json(monkeypatch):
    monkeypatch.setenv("PRICE_TABLE", '{"claude-sonnet-5": {"input": 3, "output": 15, "cache_read": 0.3}}')
    monkeypatch.setenv("BUDGET_USER_DAILY_TOKENS", "200000")
    s = Settings(_env_file=None)
    assert s.price_table["claude-sonnet-5"].cache_read == Decimal("0.3")
    assert s.budget_user_daily_tokens == 200_000 and s.budget_workspace_daily_tokens == 0
    monkeypatch.setenv("PRICE_TABLE", '{"m": {"input": -1, "output": 1}}')
    with pytest.raises(ValueError):
        Settings(_env_file=None)


# --- both backends ------------------------------------------------------------------------


async def test_user_limit_refuses_after_the_crossing_call(budget_factory):
    budget = budget_factory(1000, 0)
    assert (await budget.check(ALICE)).verdict is Verdict.ALLOWED
    await budget.record(ALICE, tokens(600))
    assert (await budget.check(ALICE)).allowed
    use = await budget.record(ALICE, tokens(600))  # crosses the limit: it already ran
    assert use.user_tokens == 1200 and use.workspace_tokens == 1200
    check = await budget.check(ALICE)
    assert check.verdict is Verdict.OVER_USER and check.use.user_tokens == 1200
    assert check.resets_at == datetime(2026, 12, 2, tzinfo=UTC)
    assert (await budget.check(BOB)).verdict is Verdict.ALLOWED        # another person
    assert (await budget.check(CAROL_ELSEWHERE)).allowed               # same person, other workspace


async def test_workspace_limit_covers_everyone_in_it(budget_factory):
    budget = budget_factory(10_000, 1500)
    await budget.record(ALICE, tokens(800))
    await budget.record(BOB, tokens(800))
    assert (await budget.check(BOB)).verdict is Verdict.OVER_WORKSPACE
    assert (await budget.check(ALICE)).verdict is Verdict.OVER_WORKSPACE
    assert (await budget.check(CAROL_ELSEWHERE)).allowed
    today = await budget.today(BOB)
    assert (today.user_tokens, today.workspace_tokens, today.workspace_limit) == (800, 1600, 1500)


async def test_a_new_day_starts_from_zero(budget_factory, clock):
    budget = budget_factory(1000, 0)
    await budget.record(ALICE, tokens(5000))
    assert not (await budget.check(ALICE)).allowed
    clock.now += timedelta(hours=3)  # 00:30 the next day
    check = await budget.check(ALICE)
    assert check.allowed and check.use.user_tokens == 0
    assert check.resets_at == datetime(2026, 12, 3, tzinfo=UTC)


async def test_unlimited_never_refuses_but_still_counts(budget_factory):
    budget = budget_factory(0, 0)
    await budget.record(ALICE, tokens(10**9))
    assert (await budget.check(ALICE)).allowed
    assert (await budget.today(ALICE)).user_tokens == 10**9


# --- Redis specifics ----------------------------------------------------------------------


async def test_redis_keys_expire_an_hour_after_their_day(redis_client, clock):
    client, prefix = redis_client
    budget = RedisBudget(client, prefix, 1000, 1000, clock)
    await budget.record(ALICE, Usage(output_tokens=7))
    ukey, wkey = budget_keys(prefix, ALICE, clock.now.date())
    assert int(await client.get(ukey)) == 7 and int(await client.get(wkey)) == 7
    expire_at = int((datetime(2026, 12, 2, 1, 0, tzinfo=UTC)).timestamp())
    assert await client.expiretime(ukey) == expire_at and await client.expiretime(wkey) == expire_at


async def test_concurrent_records_from_many_clients_are_all_counted(redis_client, clock):
    client, prefix = redis_client
    others = [aioredis.from_url(redis_url()) for _ in range(4)]
    budgets = [RedisBudget(c, prefix, 0, 0, clock) for c in others]
    people = [Who("discord", "G1", f"u{i}") for i in range(5)]
    await asyncio.gather(*(budgets[i % 4].record(people[i % 5], tokens(3)) for i in range(200)))
    total = await RedisBudget(client, prefix, 0, 0, clock).today(people[0])
    assert total.workspace_tokens == 600 and total.user_tokens == 120
    for c in others:
        await c.aclose()


async def test_check_and_record_are_one_round_trip_each(redis_client, clock):
    client, prefix = redis_client
    budget = RedisBudget(client, prefix, 1000, 5000, clock)
    await budget.record(ALICE, tokens(1))  # loads the script once
    before = await _commands_processed(client)
    await budget.check(ALICE)
    mid = await _commands_processed(client)
    scripts_before = await _evalsha_calls(client)
    await budget.record(ALICE, tokens(1))
    after = await _commands_processed(client)
    # INFO itself counts one command; check is one MGET.
    assert mid - before == 2
    # record is one EVALSHA; Redis also counts the script's four inner commands (INCRBY, EXPIREAT x2).
    assert await _evalsha_calls(client) - scripts_before == 1
    assert after - mid == 1 + 1 + 4 + 1  # INFO, EVALSHA + 4 inner, INFO commandstats


async def _evalsha_calls(client) -> int:
    return int((await client.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0))


async def _commands_processed(client) -> int:
    return int((await client.info("stats"))["total_commands_processed"])


async def test_unlimited_check_touches_no_redis(redis_client, clock):
    client, prefix = redis_client
    budget = RedisBudget(client, prefix, 0, 0, clock)
    before = await _commands_processed(client)
    for _ in range(5):
        await budget.check(ALICE)
    assert await _commands_processed(client) - before == 1


async def test_make_budget_picks_the_backend(redis_client):
    client, _ = redis_client
    s = make_settings("http://x", budget_user_daily_tokens=10, budget_workspace_daily_tokens=20)
    mem = make_budget(s)
    assert isinstance(mem, MemoryBudget) and (mem.user_limit, mem.workspace_limit) == (10, 20)
    red = make_budget(s, client)
    assert isinstance(red, RedisBudget) and red.prefix == s.redis_prefix
