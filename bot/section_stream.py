"""One sectioned reply of the model (the design, a step of an interactive design, or a diagram):
streamed, each section posted (and checkpointed) the moment it is complete.

The checkpoint (`InFlight` with the text so far) lets a turn cut short by a crash or a shutdown
continue after the last section posted; a failure keeps the same text in `Pending` for *retry*.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Callable

from . import texts
from .card_render import render_group_follow_ups
from .formatting import neutralize_mentions
from .freehand import wrap_fenced_diagrams
from .llm import LLMError
from .messages import Action, DeliveryError, Kind, OutMessage
from .prompts import section_list
from .sections import DIAGRAM_ONLY_SECTIONS, MARKER_RE, SectionParser, heading
from .state import InFlight, InterviewState, Mode, Pending, Phase, Step, Turn

if TYPE_CHECKING:  # pragma: no cover
    from .interview import Ctx, Steps

log = logging.getLogger(__name__)

PREVIEW_EVERY = 0.1   # seconds between two live previews of one message

# The buttons under the last message of a finished design.
DESIGN_DONE_ACTIONS = [Action.CURVEBALL, Action.END]


def done_actions(state: InterviewState) -> list[Action]:
    """The buttons under the last message of a finished design (or diagram)."""
    return list(DESIGN_DONE_ACTIONS) if state.mode is Mode.INTERVIEW else [Action.END]


def design_turns(state: InterviewState, user_prompt: str, partial: str = "") -> list[Turn]:
    turns = list(state.history) + [Turn(role="user", content=user_prompt)]
    if partial:
        turns.append(Turn(role="assistant", content=partial))
    return turns


class StreamOutcome(StrEnum):
    DONE = "done"        # every section posted (or what the model wrote shown as it was)
    FAILED = "failed"    # kept for *retry* and said so


@dataclass(frozen=True)
class StreamPlan:
    """What one stream writes and what surrounds it."""

    catalogue: dict[str, str]
    step: Step
    final: bool = True                        # it ends the design: closing buttons, follow-ups, discussion
    idle_phase: Phase = Phase.WAITING_ANSWERS  # where a failure before any post leaves the thread
    trim: Callable[[str, str], str] | None = None   # (section id, body) -> the body to post


class SectionStream:
    """One sectioned reply: streamed, each section posted (and checkpointed) the moment it is complete."""

    def __init__(self, steps: "Steps", ctx: "Ctx", ask: str, plan: StreamPlan):
        self.steps, self.ctx, self.ask, self.plan = steps, ctx, ask, plan
        self.catalogue, self.step = plan.catalogue, plan.step
        self.order = list(plan.catalogue)
        self.texts: list[str] = []
        self.posted: set[str] = set()

    @property
    def state(self) -> InterviewState:
        return self.ctx.state

    def _so_far(self, current: str = "") -> str:
        return "\n".join(t for t in [*self.texts, current] if t).strip()

    def _missing(self) -> list[str]:
        return [s for s in self.order if s not in self.posted]

    async def run(self, partial: str) -> StreamOutcome:
        state = self.state
        if partial:
            self.posted = {s for s in state.sections if s in self.catalogue}
            self.texts = [partial]
        else:
            for sid in self.catalogue:
                state.sections.pop(sid, None)
        pending = Pending(step=self.step)
        try:
            if partial and not self._missing():
                pass   # everything was posted before the interruption: only the closing work is left
            else:
                turns = design_turns(state, self.ask, partial)
                if partial:
                    turns.append(Turn(role="user", content=self._missing_prompt()))
                await self._stream(turns)
            if self._missing() and self.posted:
                # One repair round: ask only for what is missing.
                so_far = self._so_far() or "(empty answer)"
                await self._stream(design_turns(state, self.ask, so_far)
                                   + [Turn(role="user", content=self._missing_prompt())])
        except LLMError as exc:
            await self._failed(pending, texts.model_failed(exc.user_message))
            return StreamOutcome.FAILED
        except DeliveryError as exc:
            log.error("%s: section not delivered: %s", self.ctx.key, exc)
            await self._failed(pending, texts.delivery_failed())
            return StreamOutcome.FAILED
        return await self._finish()

    def _missing_prompt(self) -> str:
        missing = self._missing()
        return self.steps.prompts.render("design_missing", missing=", ".join(missing),
                                         section_list=section_list(self.catalogue, missing))

    async def _failed(self, pending: Pending, why: str) -> None:
        if self.posted:
            pending.partial = self._so_far()
        else:
            self.state.phase = self.plan.idle_phase
        await self.steps.fail(self.ctx, pending, why)

    async def _stream(self, turns: list[Turn]) -> None:
        parser = SectionParser(self.catalogue)
        buf: list[str] = []

        last_preview = -PREVIEW_EVERY

        async def on_text(delta: str) -> None:
            nonlocal last_preview
            buf.append(delta)
            for sid, body in parser.feed(delta):
                await self._post(sid, body, "".join(buf))
            if time.monotonic() - last_preview < PREVIEW_EVERY:
                return   # a preview went out a moment ago: skip the work of another
            last_preview = time.monotonic()
            current, body = parser.current()
            if current is not None and current in self.catalogue and current not in self.posted and body:
                sid = current
                preview = "_Drawing the diagram…_" if sid == "diagram" else body
                await self.ctx.preview(f"{self.step}:{sid}", lambda: f"### {heading(sid, self.catalogue)}\n{preview}")

        try:
            await self.steps._call(self.state, turns, on_text=on_text)
        finally:
            self.texts.append("".join(buf))
        for sid, body in parser.finish():
            await self._post(sid, body, "")

    def _is_last(self, sid: str) -> bool:
        return self.plan.final and sid == self.order[-1]

    async def _post(self, sid: str, body: str, current: str) -> None:
        if sid not in self.catalogue or sid in self.posted or not body.strip():
            return
        shown = self.plan.trim(sid, body) if self.plan.trim is not None else body
        await self.steps.post_section(self.ctx, sid, shown, self.catalogue, last=self._is_last(sid),
                                      stream_id=f"{self.step}:{sid}")
        self.posted.add(sid)
        self.state.sections[sid] = shown
        partial = self._so_far(current) if current else self._so_far()
        self.state.inflight = InFlight(event_id=self.ctx.event_id, step=self.step,
                                       partial=partial)
        await self.ctx.checkpoint(self.state)

    async def _finish(self) -> StreamOutcome:
        state, ctx = self.state, self.ctx
        full = self._so_far()
        state.inflight = None
        if not self.posted:
            raw = wrap_fenced_diagrams(MARKER_RE.sub("", full).strip(), self.steps.settings.diagram_width)
            if not raw:
                await self._failed(Pending(step=self.step), texts.model_failed(LLMError("empty").user_message))
                return StreamOutcome.FAILED
            # Off-format twice: show what the model wrote rather than lose it.
            try:
                await ctx.notice(texts.OFF_FORMAT)
                await ctx.post(OutMessage(kind=Kind.ANSWER, markdown=neutralize_mentions(raw),
                                          actions=self._done_actions() if self.plan.final else []))
            except DeliveryError:
                await self._failed(Pending(step=self.step), texts.delivery_failed())
                return StreamOutcome.FAILED
        else:
            try:
                await self._close_missing()
                card = self.steps._card(state) if self.steps.settings.interviewer_cards else None
                if card is not None and state.mode is Mode.INTERVIEW and self.plan.final:   # to push back with
                    await ctx.notice(render_group_follow_ups(card), kind=Kind.CARD, actions=DESIGN_DONE_ACTIONS)
            except DeliveryError as exc:
                log.error("%s: closing notes not delivered: %s", ctx.key, exc)
        state.history = design_turns(state, self.ask) + [Turn(role="assistant", content=full)]
        if self.plan.final:
            state.phase = Phase.DISCUSSING
        return StreamOutcome.DONE

    def _done_actions(self) -> list[Action]:
        return done_actions(self.state)

    async def _close_missing(self) -> None:
        missing = self._missing()
        if not missing:
            return
        names = ", ".join(heading(s, self.catalogue) for s in missing if s != "closing")
        if names:
            await self.ctx.notice(texts.skipped_sections(names))
        last = self.order[-1]
        if last in missing and self.plan.final:
            closing = texts.DIAGRAM_CLOSING if self.catalogue is DIAGRAM_ONLY_SECTIONS else texts.DESIGN_CLOSING
            await self.ctx.post(OutMessage(kind=Kind.SECTION, section=last,
                                           markdown=f"### {heading(last, self.catalogue)}\n{closing}",
                                           actions=self._done_actions()))
