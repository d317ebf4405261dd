"""The practice clock with a frozen clock: phases, overrun nudges, next, automatic moves, pauses, restarts."""
from __future__ import annotations

import pytest

from bot.practice_clock import (
    DEFAULT_MINUTES,
    PhasePlan,
    PracticeClock,
    advance,
    clock_line,
    needs_nudge,
    note_for,
    pause,
    resume,
    start_clock,
    status,
)
from bot.practice_prompts import PRACTICE_PHASES

T0 = 1_800_000_000.0
MIN = 60.0


def test_default_plan_is_a_45_minute_interview_over_the_six_phases():
    plan = PhasePlan()
    assert sum(DEFAULT_MINUTES) == 45 and plan.total_seconds == 45 * MIN and plan.names == PRACTICE_PHASES


def test_a_fresh_clock_shows_the_first_phase():
    clock, state = status(start_clock(T0), T0 + 30)
    assert state.phase == "requirements" and state.phase_index == 0 and not state.overrun and not state.finished
    assert clock_line(state) == "5 min left for the requirements"
    _, later = status(clock, T0 + 4 * MIN + 30)
    assert clock_line(later) == "under a minute left for the requirements"
    assert note_for(later) == "[phase: requirements, under a minute left]"


def test_overrun_is_nudged_once_then_the_phase_moves_on_after_the_grace_period():
    clock = start_clock(T0)
    clock, nudge = needs_nudge(clock, T0 + 4 * MIN)
    assert not nudge
    clock, nudge = needs_nudge(clock, T0 + 6 * MIN)
    assert nudge
    clock, again = needs_nudge(clock, T0 + 7 * MIN)
    assert not again
    clock, state = status(clock, T0 + 7 * MIN)
    assert state.overrun and clock_line(state) == "we're over time on the requirements"
    assert note_for(state, hint=True) == "[phase: requirements, overrun: nudge toward the next phase] [hint requested]"
    clock, state = status(clock, T0 + 8 * MIN + 1)      # 5 min + 3 min grace
    assert state.phase == "estimates" and not state.overrun
    assert state.phase_seconds_left == pytest.approx(5 * MIN - 1)


def test_next_moves_on_immediately_and_the_last_phase_stays():
    clock = start_clock(T0)
    clock = advance(clock, T0 + 2 * MIN)
    clock, state = status(clock, T0 + 2 * MIN)
    assert state.phase == "estimates" and clock_line(state) == "5 min left for the estimates"
    assert note_for(state, phase_changed=True) == "[phase: estimates, new phase, 5 min left]"
    for _ in range(10):
        clock = advance(clock, T0 + 3 * MIN)
    assert clock.phase == len(PRACTICE_PHASES) - 1
    _, state = status(clock, T0 + 3 * MIN)
    assert state.phase == "wrap-up" and state.total_seconds_left == pytest.approx(42 * MIN)


def test_time_runs_out_for_the_whole_interview():
    clock, state = status(start_clock(T0), T0 + 45 * MIN)
    assert state.finished and clock_line(state) == "time is up: let's wrap up"
    clock, nudge = needs_nudge(clock, T0 + 46 * MIN)
    assert not nudge


def test_paused_time_does_not_count():
    clock = pause(start_clock(T0), T0 + 2 * MIN)
    assert pause(clock, T0 + 3 * MIN) == clock
    _, state = status(clock, T0 + 3 * 24 * 3600)          # three days later, still paused
    assert state.paused and state.phase == "requirements" and clock_line(state).endswith("(clock paused)")
    clock = resume(clock, T0 + 3 * 24 * 3600)
    assert resume(clock, T0 + 3 * 24 * 3600 + 5) == clock
    _, state = status(clock, T0 + 3 * 24 * 3600 + MIN)
    assert not state.paused and state.phase_seconds_left == pytest.approx(2 * MIN)


def test_the_clock_survives_a_restart_through_json():
    clock = advance(start_clock(T0), T0 + MIN)
    clock, _ = needs_nudge(clock, T0 + 7 * MIN)
    restored = PracticeClock.model_validate_json(clock.model_dump_json())
    assert restored == clock
    assert status(restored, T0 + 9 * MIN)[1] == status(clock, T0 + 9 * MIN)[1]


def test_custom_plans_are_checked():
    plan = PhasePlan(names=("talk", "draw"), minutes=(1, 2), grace_minutes=0.5)
    _, state = status(start_clock(T0, plan), T0 + 1.5 * MIN + 1)
    assert state.phase == "draw"
    with pytest.raises(ValueError, match="one duration per phase"):
        PhasePlan(names=("a",), minutes=(1, 2))
    with pytest.raises(ValueError, match="positive"):
        PhasePlan(names=("a",), minutes=(0,))
