"""Practice history records and the /history message."""
from __future__ import annotations

import json

from bot.history import DAY, PracticeRecord, recent, record_from, render_history
from bot.levels import Level
from bot.rubric import load_rubric
from bot.scorecard import parse_scorecard
from tests.test_scorecard import scorecard_json

NOW = 1_800_000_000.0   # 2027-01-15


def record(days_ago: float, problem: str = "Design a URL shortener", scores: dict | None = None, **extra) -> PracticeRecord:
    ended = NOW - days_ago * DAY
    return PracticeRecord(user_id="u1", problem=problem, started_at=ended - 45 * 60, ended_at=ended,
                          target=Level.SENIOR, scores=scores if scores is not None else
                          {"problem_navigation": 2, "solution_design": 2, "technical_depth": 2, "communication": 3},
                          level_estimate=Level.MID, **extra)


def test_record_from_a_scorecard_and_without_one():
    rubric = load_rubric()
    card = parse_scorecard(json.dumps(scorecard_json()), rubric).scorecard
    rec = record_from(card, user_id="u1", problem="Design X", started_at=NOW - 600, ended_at=NOW,
                      target=Level.STAFF, card_id="url_shortener", hints_used=2, thread_url="https://x/t/1")
    assert rec.scores == {"problem_navigation": 3, "solution_design": 3, "technical_depth": 2, "communication": 4}
    assert rec.level_estimate is Level.SENIOR and rec.hints_used == 2
    assert PracticeRecord.model_validate_json(rec.model_dump_json()) == rec
    empty = record_from(None, user_id="u1", problem="Design X", started_at=NOW - 60, ended_at=NOW, target=Level.MID)
    assert empty.scores == {} and empty.level_estimate is None


def test_recent_keeps_180_days_newest_first():
    records = [record(200), record(3), record(179), record(0.5)]
    kept = recent(records, NOW)
    assert [round((NOW - r.ended_at) / DAY, 1) for r in kept] == [0.5, 3, 179]
    assert len(recent(records, NOW, keep_days=7)) == 2


def test_render_history_lines_links_and_trend():
    rubric = load_rubric()
    records = [
        record(10),
        record(1, "Design Tinder", {"problem_navigation": 3, "solution_design": 3, "technical_depth": 3,
                                    "communication": 4}, hints_used=1, thread_url="https://chat.example/t/9"),
        record(5, "Design a cache", {}),
    ]
    text = render_history(records, rubric, now=NOW)
    lines = text.splitlines()
    assert lines[0] == "**Practice history (your, last 180 days):**"
    assert lines[1] == ("- **2027-01-14** · [Design Tinder](https://chat.example/t/9) · 45 min · aimed for senior"
                        " · **13/16** (navigation 3, design 3, depth 3, communication 4) · estimated mid · 1 hint")
    assert lines[2].endswith("Design a cache · 45 min · aimed for senior · no scorecard")
    assert "**9/16**" in lines[3]
    assert lines[4] == "Since the oldest one listed: +4 points overall."


def test_render_history_limits_and_empty():
    rubric = load_rubric()
    text = render_history([record(d) for d in range(12)], rubric, now=NOW, limit=10, who="Ana's")
    assert text.startswith("**Practice history (Ana's, last 180 days):**")
    assert text.count("\n- **") == 10 and "…and 2 earlier." in text
    assert render_history([record(400)], rubric, now=NOW).startswith("No practice interviews in your history")
