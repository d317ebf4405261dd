"""Practice history: one record per finished practice interview, and the `/history` message.

The store keeps the records (the engine decides the keys and the 180-day expiry); this module
only builds a record from a scorecard, filters by age, and renders the list.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from .levels import Level
from .rubric import Rubric
from .scorecard import Scorecard

DAY = 86_400.0
DEFAULT_KEEP_DAYS = 180
DEFAULT_SHOWN = 10


class PracticeRecord(BaseModel):
    """What `/history` shows about one practice interview. Times are Unix seconds."""

    user_id: str
    problem: str
    card_id: str | None = None
    started_at: float
    ended_at: float
    target: Level
    level_estimate: Level | None = None      # None when no scorecard could be made
    scores: dict[str, int] = Field(default_factory=dict)
    hints_used: int = 0
    thread_url: str | None = None


def record_from(scorecard: Scorecard | None, *, user_id: str, problem: str, started_at: float, ended_at: float,
                target: Level, card_id: str | None = None, hints_used: int = 0,
                thread_url: str | None = None) -> PracticeRecord:
    scores = {s.signal: s.score for s in scorecard.signals} if scorecard else {}
    estimate = scorecard.level_estimate if scorecard else None
    return PracticeRecord(user_id=user_id, problem=problem, card_id=card_id, started_at=started_at,
                          ended_at=ended_at, target=target, level_estimate=estimate,
                          scores=scores, hints_used=hints_used, thread_url=thread_url)


def recent(records: Iterable[PracticeRecord], now: float, *,
           keep_days: float = DEFAULT_KEEP_DAYS) -> list[PracticeRecord]:
    """Records younger than `keep_days`, newest first."""
    cutoff = now - keep_days * DAY
    return sorted((r for r in records if r.ended_at >= cutoff), key=lambda r: r.ended_at, reverse=True)


def _short(name: str) -> str:
    """'Problem navigation' -> 'navigation'; 'Technical depth' -> 'depth'."""
    return name.split()[-1].lower()


def _line(record: PracticeRecord, rubric: Rubric) -> str:
    day = datetime.fromtimestamp(record.ended_at, tz=UTC).strftime("%Y-%m-%d")
    minutes = max(1, round((record.ended_at - record.started_at) / 60))
    problem = f"[{record.problem}]({record.thread_url})" if record.thread_url else record.problem
    head = f"- **{day}** · {problem} · {minutes} min · aimed for {record.target.value}"
    if not record.scores:
        return head + " · no scorecard"
    scored = [(s, record.scores[s.id]) for s in rubric.signals if s.id in record.scores]
    total = sum(v for _, v in scored)
    detail = ", ".join(f"{_short(s.name)} {v}" for s, v in scored)
    estimate = f" · estimated {record.level_estimate.value}" if record.level_estimate else ""
    hints = f" · {record.hints_used} hint{'s' if record.hints_used != 1 else ''}" if record.hints_used else ""
    return f"{head} · **{total}/{4 * len(scored)}** ({detail}){estimate}{hints}"


def render_history(records: Iterable[PracticeRecord], rubric: Rubric, *, who: str = "your", now: float,
                   keep_days: float = DEFAULT_KEEP_DAYS, limit: int = DEFAULT_SHOWN) -> str:
    """The `/history` message: newest first, at most `limit` lines, and a trend when there are several."""
    shown = recent(records, now, keep_days=keep_days)
    if not shown:
        return (f"No practice interviews in {who} history for the last {int(keep_days)} days. "
                "Start one with `/practice random medium`.")
    lines = [f"**Practice history ({who}, last {int(keep_days)} days):**"]
    lines += [_line(r, rubric) for r in shown[:limit]]
    if len(shown) > limit:
        lines.append(f"…and {len(shown) - limit} earlier.")
    scored = [r for r in shown if r.scores]
    if len(scored) >= 2:
        first, last = scored[-1], scored[0]
        delta = sum(last.scores.values()) - sum(first.scores.values())
        lines.append(f"Since the oldest one listed: {'+' if delta >= 0 else ''}{delta} points overall.")
    return "\n".join(lines)
