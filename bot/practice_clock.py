"""The practice-mode clock: phases with time budgets, wall-clock time kept in the thread's state.

Pure functions over a small pydantic model, so a restart does not reset the clock and tests can
pass any `now`.  The phase moves on when the candidate says `next` (`advance`) or, after an
overrun and its grace period, on its own; the interview is over when the total budget is spent.
With `pause`/`resume` (the async-practice setting) the time between sessions does not count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, Field

# The phases of a practice interview, in order, as prompts/interviewer.txt names them.  Defined here (not in
# practice_prompts) because the thread state stores a clock and must not import the prompt and settings modules.
PRACTICE_PHASES = ("requirements", "estimates", "API and data model", "high-level design", "deep dive", "wrap-up")

# Minutes per phase for a 45-minute interview (settings may override).
DEFAULT_MINUTES: tuple[int, ...] = (5, 5, 7, 12, 11, 5)


class PhasePlan(BaseModel):
    names: tuple[str, ...] = PRACTICE_PHASES
    minutes: tuple[float, ...] = DEFAULT_MINUTES
    grace_minutes: float = 3.0       # after an overrun, move on by itself this much later

    def model_post_init(self, _context: object) -> None:
        if len(self.names) != len(self.minutes) or not self.names:
            raise ValueError("a phase plan needs one duration per phase")
        if any(m <= 0 for m in self.minutes):
            raise ValueError("phase durations must be positive")

    @property
    def total_seconds(self) -> float:
        return 60 * sum(self.minutes)


class PracticeClock(BaseModel):
    """Stored in the thread's state. Times are Unix seconds."""

    plan: PhasePlan = Field(default_factory=PhasePlan)
    started_at: float
    phase: int = 0
    phase_started_at: float          # on the clock's own time line (pauses removed)
    paused_at: float | None = None
    paused_seconds: float = 0.0
    nudged_phase: int = -1           # the last phase that got its overrun nudge


def start_clock(now: float, plan: PhasePlan | None = None) -> PracticeClock:
    return PracticeClock(plan=plan or PhasePlan(), started_at=now, phase_started_at=now)


def _clock_now(clock: PracticeClock, now: float) -> float:
    """`now` minus all paused time: the instant on the clock's own time line."""
    paused = clock.paused_seconds + ((now - clock.paused_at) if clock.paused_at is not None else 0.0)
    return now - paused


@dataclass(frozen=True)
class ClockStatus:
    phase: str
    phase_index: int
    phase_seconds_left: float        # negative once the phase has overrun
    total_seconds_left: float
    overrun: bool
    finished: bool                   # the whole interview's time is up
    paused: bool


def _settle(clock: PracticeClock, now: float) -> PracticeClock:
    """Apply automatic moves: a phase that overran past its grace period moves on."""
    plan, at = clock.plan, _clock_now(clock, now)
    while clock.phase < len(plan.names) - 1:
        budget = 60 * (plan.minutes[clock.phase] + plan.grace_minutes)
        if at - clock.phase_started_at < budget:
            break
        clock = clock.model_copy(update={"phase": clock.phase + 1,
                                         "phase_started_at": clock.phase_started_at + budget})
    return clock


def status(clock: PracticeClock, now: float) -> tuple[PracticeClock, ClockStatus]:
    """The clock after automatic moves, and where the interview stands."""
    clock = _settle(clock, now)
    plan, at = clock.plan, _clock_now(clock, now)
    phase_left = 60 * plan.minutes[clock.phase] - (at - clock.phase_started_at)
    total_left = plan.total_seconds - (at - clock.started_at)
    return clock, ClockStatus(plan.names[clock.phase], clock.phase, phase_left, total_left,
                              overrun=phase_left < 0, finished=total_left <= 0, paused=clock.paused_at is not None)


def advance(clock: PracticeClock, now: float) -> PracticeClock:
    """`next`: move to the following phase now (the last phase stays the last)."""
    clock = _settle(clock, now)
    if clock.phase >= len(clock.plan.names) - 1:
        return clock
    return clock.model_copy(update={"phase": clock.phase + 1, "phase_started_at": _clock_now(clock, now)})


def needs_nudge(clock: PracticeClock, now: float) -> tuple[PracticeClock, bool]:
    """True once per phase, the first time it is seen overrunning; the returned clock remembers it."""
    clock, state = status(clock, now)
    if not state.overrun or state.finished or clock.nudged_phase == clock.phase:
        return clock, False
    return clock.model_copy(update={"nudged_phase": clock.phase}), True


def pause(clock: PracticeClock, now: float) -> PracticeClock:
    if clock.paused_at is not None:
        return clock
    return _settle(clock, now).model_copy(update={"paused_at": now})


def resume(clock: PracticeClock, now: float) -> PracticeClock:
    if clock.paused_at is None:
        return clock
    return clock.model_copy(update={"paused_at": None, "paused_seconds": clock.paused_seconds + now - clock.paused_at})


def clock_line(state: ClockStatus) -> str:
    """'12 min left for the high-level design' (shown in each bot message)."""
    if state.finished:
        return "time is up: let's wrap up"
    if state.overrun:
        return f"we're over time on the {state.phase}"
    left = "under a minute" if state.phase_seconds_left < 60 else f"{math.ceil(state.phase_seconds_left / 60)} min"
    return f"{left} left for the {state.phase}" + (" (clock paused)" if state.paused else "")


def note_for(state: ClockStatus, *, hint: bool = False, phase_changed: bool = False, curveball: bool = False) -> str:
    """The bracketed note to put before the candidate's message for the interviewer model."""
    from .practice_prompts import turn_note  # the prompt module reads settings; the state must not

    return turn_note(state.phase, state.phase_seconds_left / 60, overrun=state.overrun, hint=hint,
                     phase_changed=phase_changed, curveball=curveball)
