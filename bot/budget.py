"""Daily token budgets per person and per workspace, and what tokens cost.

Before a model call the engine asks `check(who)`: `Allowed`, `OverUser` or
`OverWorkspace` (with the reset time).  After the call it reports the real
usage with `record(who, usage)`.  `today(who)` backs the `usage` command.

Counting is per UTC day.  In Redis every counter is one integer key::

    {prefix}:budget:{platform}:{{workspace}}:{user}:{YYYYMMDD}   one person
    {prefix}:budget:{platform}:{{workspace}}:-:{YYYYMMDD}        the whole workspace

The workspace id is a hash tag (in braces) so that a person's key and their
workspace's key share one Redis Cluster slot: `check` reads both with one
MGET and `record` adds to both with one script, one round trip each.  Keys
expire an hour after their day ends.

A check only looks at what was already used, so the call that crosses a
limit still runs (it cannot know its own size); the next one is refused.

Which tokens count: fresh input, cache writes and output in full, cache reads
at a tenth (roughly what they cost), rounded up.  With both limits at 0
nothing is refused, but usage is still counted for `usage`.

The user-facing texts are pure functions at the end of this module.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from .state import ThreadRef, Usage

Clock = Callable[[], datetime]
EXPIRE_GRACE = timedelta(hours=1)

_RECORD_LUA = """
local u = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
local w = redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('EXPIREAT', KEYS[2], ARGV[2])
return {u, w}
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Verdict(StrEnum):
    ALLOWED = "allowed"
    OVER_USER = "over_user"
    OVER_WORKSPACE = "over_workspace"


@dataclass(frozen=True)
class Who:
    """Whose budget: platform ("slack", "discord", "console"), workspace/guild id, user id."""

    platform: str
    workspace: str
    user: str


def who_for(ref: ThreadRef, user: str) -> Who:
    """The budget holder for a message from `user` in the thread `ref`."""
    return Who(platform=ref.platform, workspace=ref.workspace, user=user or "-")


@dataclass(frozen=True)
class DailyUse:
    """Today's counts and limits (0 = unlimited) for one person in one workspace."""

    day: date
    user_tokens: int
    workspace_tokens: int
    user_limit: int
    workspace_limit: int
    resets_at: datetime


@dataclass(frozen=True)
class BudgetCheck:
    verdict: Verdict
    use: DailyUse

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED

    @property
    def resets_at(self) -> datetime:
        return self.use.resets_at


class ModelPrice(BaseModel):
    """Price of one million tokens of each kind, in PRICE_CURRENCY."""

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cache_read: Decimal | None = Field(default=None, ge=0)   # default: same as input
    cache_write: Decimal | None = Field(default=None, ge=0)  # default: same as input


# --- pure pieces ---------------------------------------------------------------


def budget_tokens(usage: Usage) -> int:
    """The tokens a call costs against a budget (see the module text)."""
    return usage.input_tokens + usage.cache_write_tokens + usage.output_tokens + math.ceil(usage.cache_read_tokens / 10)


def day_of(now: datetime) -> date:
    return now.astimezone(UTC).date()


def next_reset(now: datetime) -> datetime:
    """The next UTC midnight after `now`."""
    d = day_of(now) + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _part(value: str) -> str:
    """A key part without the characters the key scheme uses (: { })."""
    cleaned = "".join(c for c in str(value) if c not in ":{}" and not c.isspace())
    return cleaned or "_"


def budget_keys(prefix: str, who: Who, day: date) -> tuple[str, str]:
    """(person key, workspace key) for one day."""
    base = f"{prefix}:budget:{_part(who.platform)}:{{{_part(who.workspace)}}}"
    stamp = day.strftime("%Y%m%d")
    user = _part(who.user)
    if user == "-":  # "-" is the workspace's own counter
        user = "_"
    return f"{base}:{user}:{stamp}", f"{base}:-:{stamp}"


def verdict_for(user_tokens: int, workspace_tokens: int, user_limit: int, workspace_limit: int) -> Verdict:
    """Over a limit once the day's count has reached it; a limit of 0 never refuses."""
    if workspace_limit > 0 and workspace_tokens >= workspace_limit:
        return Verdict.OVER_WORKSPACE
    if user_limit > 0 and user_tokens >= user_limit:
        return Verdict.OVER_USER
    return Verdict.ALLOWED


def cost_of(usage: Usage, price: ModelPrice) -> Decimal:
    per_token = Decimal(1_000_000)
    cache_read = price.cache_read if price.cache_read is not None else price.input
    cache_write = price.cache_write if price.cache_write is not None else price.input
    total = (usage.input_tokens * price.input + usage.output_tokens * price.output
             + usage.cache_read_tokens * cache_read + usage.cache_write_tokens * cache_write)
    return total / per_token


def price_for(model: str, table: dict[str, ModelPrice]) -> ModelPrice | None:
    """The table's entry for `model`: exact name first, else the longest key the name starts with."""
    if model in table:
        return table[model]
    matches = [k for k in table if k and model.startswith(k)]
    return table[max(matches, key=len)] if matches else None


# --- backends --------------------------------------------------------------------


class Budget(Protocol):
    async def check(self, who: Who) -> BudgetCheck: ...
    async def record(self, who: Who, usage: Usage) -> DailyUse: ...
    async def today(self, who: Who) -> DailyUse: ...


class _BudgetBase:
    def __init__(self, user_limit: int, workspace_limit: int, clock: Clock = utc_now):
        self.user_limit = user_limit
        self.workspace_limit = workspace_limit
        self.clock = clock

    @property
    def unlimited(self) -> bool:
        return self.user_limit <= 0 and self.workspace_limit <= 0

    def _use(self, now: datetime, user_tokens: int, workspace_tokens: int) -> DailyUse:
        return DailyUse(day=day_of(now), user_tokens=user_tokens, workspace_tokens=workspace_tokens,
                        user_limit=self.user_limit, workspace_limit=self.workspace_limit, resets_at=next_reset(now))

    async def _read(self, who: Who, day: date) -> tuple[int, int]:
        raise NotImplementedError

    async def today(self, who: Who) -> DailyUse:
        now = self.clock()
        return self._use(now, *await self._read(who, day_of(now)))

    async def check(self, who: Who) -> BudgetCheck:
        """Whether `who` may make a model call now.  No storage round trip when unlimited."""
        now = self.clock()
        if self.unlimited:
            return BudgetCheck(Verdict.ALLOWED, self._use(now, 0, 0))
        use = self._use(now, *await self._read(who, day_of(now)))
        return BudgetCheck(verdict_for(use.user_tokens, use.workspace_tokens, self.user_limit, self.workspace_limit),
                           use)


class MemoryBudget(_BudgetBase):
    """In-process counters (the console; lost on restart).  Old days are dropped as days pass."""

    def __init__(self, user_limit: int = 0, workspace_limit: int = 0, clock: Clock = utc_now):
        super().__init__(user_limit, workspace_limit, clock)
        self._counts: dict[str, int] = {}
        self._day: date | None = None

    def _roll(self, day: date) -> None:
        if self._day != day:
            self._counts.clear()
            self._day = day

    async def _read(self, who: Who, day: date) -> tuple[int, int]:
        self._roll(day)
        ukey, wkey = budget_keys("mem", who, day)
        return self._counts.get(ukey, 0), self._counts.get(wkey, 0)

    async def record(self, who: Who, usage: Usage) -> DailyUse:
        now = self.clock()
        self._roll(day_of(now))
        ukey, wkey = budget_keys("mem", who, day_of(now))
        n = budget_tokens(usage)
        self._counts[ukey] = self._counts.get(ukey, 0) + n
        self._counts[wkey] = self._counts.get(wkey, 0) + n
        return self._use(now, self._counts[ukey], self._counts[wkey])


class RedisBudget(_BudgetBase):
    """Counters in Redis, shared by every process; one round trip per check and per record."""

    def __init__(self, redis, prefix: str, user_limit: int = 0, workspace_limit: int = 0, clock: Clock = utc_now):
        super().__init__(user_limit, workspace_limit, clock)
        self.redis = redis
        self.prefix = prefix
        self._script = redis.register_script(_RECORD_LUA)

    async def _read(self, who: Who, day: date) -> tuple[int, int]:
        raw = await self.redis.mget(budget_keys(self.prefix, who, day))
        return int(raw[0] or 0), int(raw[1] or 0)

    async def record(self, who: Who, usage: Usage) -> DailyUse:
        now = self.clock()
        n = budget_tokens(usage)
        keys = budget_keys(self.prefix, who, day_of(now))
        if n <= 0:
            return self._use(now, *await self._read(who, day_of(now)))
        expire_at = int((next_reset(now) + EXPIRE_GRACE).timestamp())
        user_total, ws_total = await self._script(keys=list(keys), args=[n, expire_at])
        return self._use(now, int(user_total), int(ws_total))


def make_budget(settings, redis=None, clock: Clock = utc_now) -> MemoryBudget | RedisBudget:
    """Redis-backed when a redis.asyncio client is given (share the store's), else in memory."""
    user, ws = settings.budget_user_daily_tokens, settings.budget_workspace_daily_tokens
    if redis is None:
        return MemoryBudget(user, ws, clock)
    return RedisBudget(redis, settings.redis_prefix, user, ws, clock)


# --- user-facing texts (pure) ------------------------------------------------------


def _until(now: datetime, then: datetime) -> str:
    minutes = max(1, math.ceil((then - now).total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def reset_phrase(resets_at: datetime, now: datetime) -> str:
    return f"{resets_at.astimezone(UTC):%H:%M} UTC (in {_until(now, resets_at)})"


def over_budget_text(check: BudgetCheck, now: datetime) -> str:
    """The message shown instead of running the model; empty when allowed."""
    use = check.use
    when = reset_phrase(use.resets_at, now)
    if check.verdict is Verdict.OVER_WORKSPACE:
        return (f"This workspace has used its daily model budget ({use.workspace_tokens:,} of "
                f"{use.workspace_limit:,} tokens). It resets at {when}.")
    if check.verdict is Verdict.OVER_USER:
        return (f"You've used your daily model budget ({use.user_tokens:,} of {use.user_limit:,} tokens). "
                f"It resets at {when}.")
    return ""


def _of(used: int, limit: int) -> str:
    return f"{used:,} of {limit:,} tokens" if limit > 0 else f"{used:,} tokens (no limit)"


def usage_text(use: DailyUse, now: datetime) -> str:
    """The answer to the `usage` command."""
    return (f"Model use today (UTC day {use.day:%Y-%m-%d}):\n"
            f"• you: {_of(use.user_tokens, use.user_limit)}\n"
            f"• this workspace: {_of(use.workspace_tokens, use.workspace_limit)}\n"
            f"Counters reset at {reset_phrase(use.resets_at, now)}.")


def format_money(amount: Decimal, currency: str = "$") -> str:
    """`$0.042` style: two decimals, or two significant digits below a cent."""
    if amount >= Decimal("0.01") or amount == 0:
        text = str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    else:
        exp = amount.adjusted() - 1  # two significant digits
        text = str(amount.quantize(Decimal(1).scaleb(exp), rounding=ROUND_HALF_UP))
    return f"{currency}{text}" if len(currency) <= 1 else f"{text} {currency}"


def interview_usage_line(usage: Usage, model: str, table: dict[str, ModelPrice], currency: str = "$") -> str:
    """The end-of-interview line; names a cost when the price table knows the model."""
    line = (f"Model usage for this interview: {usage.calls} calls, "
            f"{usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens:,} input tokens "
            f"({usage.cache_read_tokens:,} read from cache), {usage.output_tokens:,} output tokens")
    price = price_for(model, table)
    if price is not None:
        line += f", about {format_money(cost_of(usage, price), currency)}"
    return f"_{line}._"
