"""The practice steps: open the interview, answer the candidate, hint, next phase, nudge, scorecard.

Each step makes at most one interviewer call (the scorecard: up to three), posts the reply with the clock
under it, and updates the state.  A failed call keeps what the candidate wrote for *retry*.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from ..budget import interview_usage_line
from ..card_draft import card_write_prompt, parse_card_draft
from ..card_render import render_interviewer_card
from ..cards import ProblemCard, default_bank
from ..formatting import neutralize_mentions
from ..framing import frame_message, frame_problem
from ..levels import Level
from ..llm import LLMError, ModelClient
from ..messages import Action, DeliveryError, Kind, OutMessage
from ..practice_clock import (
    ClockStatus,
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
from ..practice_prompts import DRAWING_NOTE, HINT_ASK, IMAGE_NOTE, NEXT_ASK, OPENING_ASK, interviewer_system
from ..rubric import load_rubric
from ..state import InterviewState, Phase, Turn
from . import texts
from .history_records import record_interview
from .inputs import CandidateInput
from .model import CardSource, PracticeState, RetryStep, Speaker
from .scoring import ScoreOutcome, score

log = logging.getLogger(__name__)


class PracticeSteps:
    def __init__(self, settings, llm: ModelClient, history, *, now: Callable[[], float] = time.time):
        self.settings = settings
        self.llm = llm
        self.history = history
        self.now = now
        self.directory = str(settings.prompts_dir)
        self.rubric = load_rubric(str(settings.prompts_dir / "rubric.txt"))

    # ---------------------------------------------------------------- helpers
    def plan(self) -> PhasePlan:
        return PhasePlan(minutes=tuple(self.settings.practice_phase_minutes),
                         grace_minutes=self.settings.practice_grace_minutes)

    def new_state(self, author_id: str, author: str) -> PracticeState:
        return PracticeState(candidate_id=author_id or author, candidate=author,
                             group_answers=self.settings.practice_group_answers)

    @staticmethod
    def practice(state: InterviewState) -> PracticeState:
        assert state.practice is not None, "not a practice thread"
        return state.practice

    def card_text(self, state: InterviewState) -> str:
        p = self.practice(state)
        card = default_bank().get(state.card_id) if state.card_id else None
        if card is None and p.card_json:
            card = ProblemCard.model_validate_json(p.card_json)
        return render_interviewer_card(card) if card is not None else texts.CARD_FALLBACK

    def system(self, state: InterviewState) -> str:
        return interviewer_system(frame_problem(state.problem), self.card_text(state), Level(state.level),
                                  directory=self.directory)

    def clock_now(self, p: PracticeState) -> tuple[PracticeClock, ClockStatus]:
        """The clock now, a long silence after the bot spoke counted as a break when the setting allows it."""
        now = self.now()
        assert p.clock is not None
        clock = p.clock
        gap = self.settings.practice_pause_after_minutes * 60
        if gap and p.last_bot_at is not None and now - p.last_bot_at > gap:
            clock = resume(pause(clock, p.last_bot_at), now)   # the whole silence is the break
        return status(clock, now)

    def in_break(self, p: PracticeState) -> bool:
        gap = self.settings.practice_pause_after_minutes * 60
        return bool(gap) and p.last_bot_at is not None and self.now() - p.last_bot_at > gap

    async def _call(self, ctx, turns: list[Turn], stream_id: str | None = None) -> str:
        state = ctx.state

        async def preview(delta: str) -> None:
            shown.append(delta)
            if stream_id:
                await ctx.preview(stream_id, lambda: "".join(shown))

        shown: list[str] = []
        result = await self.llm.complete(self.system(state), turns, on_text=preview if stream_id else None)
        state.usage.add(result.usage)
        return result.text.strip()

    async def _say(self, ctx, reply: str, st: ClockStatus, stream_id: str, kind: Kind = Kind.ANSWER) -> None:
        md = neutralize_mentions(reply) + "\n\n" + texts.clock_footer(clock_line(st))
        await ctx.post(OutMessage(kind=kind, markdown=md, stream_id=stream_id, actions=[Action.END]))

    async def _failed(self, ctx, step: RetryStep, why: str, text: str = "", who: str = "") -> None:
        p = self.practice(ctx.state)
        p.retry, p.retry_text, p.retry_who = step, text, who
        log.warning("%s: practice step %s failed", ctx.key, step.value)
        try:
            await ctx.notice(why, kind=Kind.ERROR, actions=[Action.RETRY])
        except DeliveryError as exc:
            log.error("%s: could not say that step %s failed: %s", ctx.key, step.value, exc)

    async def schedule(self, ctx, st: ClockStatus) -> None:
        """Durable timers (`Ctx.schedule`) for the next overrun nudge and the end of the time."""
        p = self.practice(ctx.state)
        if getattr(ctx, "timers", None) is None or p.clock is None or st.finished:
            return   # a turn that cannot set timers (core tests without a pipeline)
        schedule = ctx.schedule
        plan, now = p.clock.plan, self.now()
        if st.phase_seconds_left > 0:
            nudge_in = st.phase_seconds_left
        elif st.phase_index < len(plan.names) - 1:   # after the grace period it moves on; then its own overrun
            nudge_in = plan.grace_minutes * 60 + st.phase_seconds_left + plan.minutes[st.phase_index + 1] * 60
        else:
            nudge_in = -1
        if nudge_in > 0:
            await schedule(f"practice:nudge:{int(now + nudge_in)}", nudge_in + 1)
        await schedule(f"practice:end:{int(now + st.total_seconds_left)}", st.total_seconds_left + 1)

    # ---------------------------------------------------------------- steps
    async def open(self, ctx) -> None:
        state, p = ctx.state, self.practice(ctx.state)
        p.retry = None
        if p.card_source is None:
            await self._write_card(ctx)
        if p.clock is None:
            p.clock = start_clock(self.now(), self.plan())
        clock, st = status(p.clock, self.now())
        ask = Turn(role="user", content=note_for(st) + "\n" + OPENING_ASK)
        try:
            reply = await self._call(ctx, [ask], "practice:open")
            await self._say(ctx, reply, st, "practice:open")
        except LLMError as exc:
            await self._failed(ctx, RetryStep.OPEN, texts.model_failed(exc.user_message))
            return
        except DeliveryError:
            await self._failed(ctx, RetryStep.OPEN, texts.model_failed("I couldn't post my opening."))
            return
        state.history = [ask, Turn(role="assistant", content=reply)]
        p.said(Speaker.INTERVIEWER, "interviewer", reply, self.now())
        p.clock, p.last_bot_at = clock, self.now()
        state.phase = Phase.DISCUSSING
        await self.schedule(ctx, st)

    async def _write_card(self, ctx) -> None:
        """A hidden card for a free-form problem, written once and kept in the state."""
        state, p = ctx.state, self.practice(ctx.state)
        if state.card_id:
            p.card_source = CardSource.BANK
            return
        try:
            reply = await self._call(ctx, [Turn(role="user", content=card_write_prompt(
                frame_problem(state.problem), directory=self.directory))])
        except LLMError as exc:
            log.warning("%s: no card written (%s); the interviewer keeps its own answers", ctx.key, exc.kind)
            p.card_source = CardSource.NONE
            return
        draft = parse_card_draft(reply, state.problem)
        if draft.card is None:
            log.warning("%s: the written card is unusable (%s)", ctx.key, draft.outcome.value)
            p.card_source = CardSource.NONE
            return
        p.card_source, p.card_json = CardSource.WRITTEN, draft.card.model_dump_json()

    async def answer(self, ctx, found: CandidateInput, who: str) -> None:
        state, p = ctx.state, self.practice(ctx.state)
        text = found.text
        if p.retry is RetryStep.ANSWER and p.retry_text:   # an earlier message that got no answer goes first
            text = p.retry_text + "\n\n" + text
        p.retry = None
        before = p.clock.phase if p.clock else 0
        clock, st = self.clock_now(p)
        p.clock = clock
        if st.finished:
            p.said(Speaker.CANDIDATE, who, text, self.now())
            await self.finish(ctx, texts.TIME_UP)
            return
        curveball = st.phase == "deep dive" and not p.curveball_given
        note = note_for(st, phase_changed=st.phase_index != before, curveball=curveball)
        content = note + "\n" + frame_message(who or "candidate", text or "(see the attached image)")
        if found.drawing:
            content += "\n" + DRAWING_NOTE + "\n" + frame_message(who or "candidate", found.drawing)
        stored = content
        if found.images:
            content += "\n" + IMAGE_NOTE.format(count=len(found.images))
            stored += "\n[image(s) attached: " + ", ".join(found.image_names) + "]"
        stream = f"practice:{len(state.history)}"
        try:
            reply = await self._call(ctx, [*state.history, Turn(role="user", content=content, images=found.images)],
                                     stream)
            await self._say(ctx, reply, st, stream)
        except (LLMError, DeliveryError) as exc:
            why = exc.user_message if isinstance(exc, LLMError) else "I couldn't post my answer."
            await self._failed(ctx, RetryStep.ANSWER, texts.model_failed(why), text, who)
            return
        p.curveball_given = p.curveball_given or curveball
        state.history = [*state.history, Turn(role="user", content=stored), Turn(role="assistant", content=reply)]
        shown = text + ("\n[image: " + ", ".join(found.image_names) + "]" if found.images else "")
        p.said(Speaker.CANDIDATE, who, shown, self.now())
        p.said(Speaker.INTERVIEWER, "interviewer", reply, self.now())
        p.last_bot_at = self.now()
        await self.schedule(ctx, st)

    async def hint(self, ctx) -> None:
        await self._ask_about(ctx, RetryStep.HINT)

    async def next_phase(self, ctx) -> None:
        p = self.practice(ctx.state)
        clock, st = self.clock_now(p)
        if st.phase_index >= len(clock.plan.names) - 1:
            p.clock = clock
            await ctx.notice(texts.LAST_PHASE + "\n" + texts.clock_footer(clock_line(st)))
            return
        p.clock = advance(clock, self.now())
        await self._ask_about(ctx, RetryStep.NEXT)

    async def _ask_about(self, ctx, step: RetryStep) -> None:
        """A hint or the next phase: the interviewer answers a request of the bot's, not a message."""
        state, p = ctx.state, self.practice(ctx.state)
        p.retry = None
        clock, st = self.clock_now(p)
        p.clock = clock
        hint = step is RetryStep.HINT
        ask = note_for(st, hint=hint, phase_changed=not hint) + "\n" + (HINT_ASK if hint else NEXT_ASK)
        stream = f"practice:{len(state.history)}"
        try:
            reply = await self._call(ctx, [*state.history, Turn(role="user", content=ask)], stream)
            await self._say(ctx, reply, st, stream)
        except (LLMError, DeliveryError) as exc:
            why = exc.user_message if isinstance(exc, LLMError) else "I couldn't post my answer."
            await self._failed(ctx, step, texts.model_failed(why))
            return
        if hint:
            p.hints += 1
        state.history = [*state.history, Turn(role="user", content=ask), Turn(role="assistant", content=reply)]
        p.said(Speaker.CANDIDATE, p.candidate, "(asked for a hint)" if hint else "(asked to move on)", self.now())
        p.said(Speaker.INTERVIEWER, "interviewer", reply, self.now())
        p.last_bot_at = self.now()
        await self.schedule(ctx, st)

    async def nudge(self, ctx) -> None:
        """A durable timer fired: nudge once if the phase overran and nobody has spoken since."""
        p = self.practice(ctx.state)
        if p.clock is None or self.in_break(p):
            return
        clock, due = needs_nudge(p.clock, self.now())
        p.clock = clock
        if not due:
            return
        _, st = status(clock, self.now())
        await ctx.notice(texts.nudge(st.phase) + "\n" + texts.clock_footer(clock_line(st)))
        await self.schedule(ctx, st)

    async def time_up(self, ctx) -> None:
        p = self.practice(ctx.state)
        if p.clock is None or self.in_break(p):
            return
        _, st = status(p.clock, self.now())
        if st.finished:
            await self.finish(ctx, texts.TIME_UP)

    async def finish(self, ctx, opening: str) -> None:
        """The scorecard as its own message, the history record, and the end of the interview."""
        state, p = ctx.state, self.practice(ctx.state)
        p.retry = None
        await ctx.notice(opening)

        async def ask(turns: list[Turn]) -> str:
            return await self._call(ctx, turns)

        try:
            result = await score(ask, problem=state.problem, transcript=p.transcript, level=Level(state.level),
                                 hints=p.hints, rubric=self.rubric, directory=self.directory, key=ctx.key)
        except LLMError as exc:
            await self._failed(ctx, RetryStep.SCORE, texts.model_failed(exc.user_message))
            return
        if result.outcome is not ScoreOutcome.OK or result.scorecard is None:
            await self._failed(ctx, RetryStep.SCORE, texts.scorecard_failed(result.detail))
            return
        try:
            await ctx.post(OutMessage(kind=Kind.SCORECARD, markdown=neutralize_mentions(result.markdown)))
        except DeliveryError:
            await self._failed(ctx, RetryStep.SCORE, texts.model_failed("I couldn't post the scorecard."))
            return
        p.scorecard_md = result.markdown
        p.scores = {s.signal: s.score for s in result.scorecard.signals}
        p.level_estimate = result.scorecard.level_estimate.value
        state.phase = Phase.ENDED
        await record_interview(self.history, ctx, result.scorecard, ended_at=self.now())
        line = interview_usage_line(state.usage, str(getattr(self.llm, "model", "")), self.settings.price_table,
                                    self.settings.price_currency)
        try:
            await ctx.notice(texts.wrap_up(line), kind=Kind.WRAP_UP)
        except DeliveryError as exc:
            log.warning("%s: wrap-up not delivered: %s", ctx.key, exc)

    async def retry(self, ctx) -> None:
        p = self.practice(ctx.state)
        step = p.retry
        if step is None:
            await ctx.notice(texts.NOTHING_TO_RETRY)
            return
        if step is RetryStep.OPEN:
            await self.open(ctx)
        elif step is RetryStep.ANSWER:
            text, who = p.retry_text, p.retry_who
            p.retry, p.retry_text = None, ""
            await self.answer(ctx, CandidateInput(text=text), who)
        elif step in (RetryStep.HINT, RetryStep.NEXT):
            await self._ask_about(ctx, step)
        else:
            await self.finish(ctx, texts.SCORING)
