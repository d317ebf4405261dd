"""What a reply, a button or a timer means between the questions and the discussion.

- The answer window: with COLLECT_SECONDS > 0 the first answer opens it (the bot says so, with a
  Go button) and a durable timer `collect:<deadline>` closes it; more answers are gathered
  meanwhile; Go, `go` or `skip` close it at once.  Every answer reaches the design prompt.
- The interactive pace's stops (`pace_flow.py`): the scope check-in and the deep-dive choice.

The engine asks `answer` / `button` first; `Routed.NOT_MINE` leaves the event to its usual handling.
"""
from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import TYPE_CHECKING

from . import texts
from .commands import Word, word_of
from .messages import Action
from .pace import Pace
from .pace_flow import pace_of
from .state import Answer, Mode, Phase

if TYPE_CHECKING:  # pragma: no cover
    from .interview import Ctx, Steps

log = logging.getLogger(__name__)

COLLECT_TIMER = "collect"


class Routed(StrEnum):
    HANDLED = "handled"
    NOT_MINE = "not_mine"   # the engine's usual handling applies


class DesignRoutes:
    def __init__(self, steps: "Steps", settings):
        self.steps = steps
        self.settings = settings

    # ------------------------------------------------------------- replies
    async def answer(self, ctx: "Ctx", text: str, user: str) -> Routed:
        state = ctx.state
        if state.mode is not Mode.INTERVIEW:
            return Routed.NOT_MINE
        word = word_of(text)
        go = word in (Word.GO, Word.SKIP)
        phase = state.phase
        if phase is Phase.WAITING_ANSWERS:
            if word is Word.GO:   # nothing answered yet: like skip
                state.assumed_defaults, state.pending = True, None
                await ctx.notice(texts.SKIPPING)
                await self.steps.present(ctx)
                return Routed.HANDLED
            if word is Word.SKIP or self.settings.collect_seconds <= 0:
                return Routed.NOT_MINE
            state.answers.append(Answer(user=user, text=text))
            await self._open_window(ctx)
        elif phase is Phase.COLLECTING:
            if go:
                await self._close_window(ctx)
            else:
                state.answers.append(Answer(user=user, text=text))   # gathered quietly: the window said so
        elif phase in (Phase.CHECK_IN, Phase.CHOOSING) and 0 < ctx.received_at < state.stop_at:
            await self._remark(ctx, text, user)
        elif phase is Phase.CHECK_IN:
            await self.steps.pace.after_check_in(ctx, None if go else text, user)
        elif phase is Phase.CHOOSING:
            await self.steps.pace.choose(ctx, reply=None if go else text, user=user)
        elif phase is Phase.PRESENTING and pace_of(state) is Pace.INTERACTIVE and state.pending is not None:
            await ctx.notice(texts.FINISH_FIRST, actions=[Action.RETRY])
        else:
            return Routed.NOT_MINE
        return Routed.HANDLED

    async def _remark(self, ctx: "Ctx", text: str, user: str) -> None:
        """A message sent while the step before this stop was still being written: it cannot be the answer to a
        question not yet asked. At the check-in it joins the scope notes; at the offer it is not a pick."""
        state = ctx.state
        if state.phase is Phase.CHECK_IN:
            state.scope_notes.append(Answer(user=user, text=text))
            await ctx.notice(texts.REMARK_AT_CHECK_IN)
        else:
            await ctx.notice(texts.REMARK_AT_OFFER)

    # ------------------------------------------------------------- buttons
    async def button(self, ctx: "Ctx", action: Action | None, text: str, user: str) -> Routed:
        state = ctx.state
        phase = state.phase
        if action is Action.CHOOSE:
            if phase is not Phase.CHOOSING or not text.isdigit():
                await ctx.notice(texts.BUTTON_PASSED)
            else:
                await self.steps.pace.choose(ctx, index=int(text), user=user)
        elif action is Action.CONTINUE:
            if phase is Phase.CHECK_IN:
                await self.steps.pace.after_check_in(ctx, None, user)
            elif phase is Phase.CHOOSING:
                await self.steps.pace.choose(ctx, user=user)
            else:
                await ctx.notice(texts.BUTTON_PASSED)
        elif action in (Action.GO, Action.SKIP) and phase is Phase.COLLECTING:
            await self._close_window(ctx)
        elif action is Action.GO:
            await ctx.notice(texts.BUTTON_PASSED)
        else:
            return Routed.NOT_MINE
        return Routed.HANDLED

    # -------------------------------------------------------- the window
    async def _open_window(self, ctx: "Ctx") -> None:
        state = ctx.state
        seconds = self.settings.collect_seconds
        state.collect_until = int(time.time()) + seconds
        state.phase = Phase.COLLECTING
        # Stored before the state that expects it; a timer the state no longer waits for does nothing.
        await ctx.schedule(f"{COLLECT_TIMER}:{state.collect_until}", seconds)
        await ctx.notice(texts.collecting(seconds), actions=[Action.GO])

    async def _close_window(self, ctx: "Ctx") -> None:
        state = ctx.state
        state.collect_until = 0
        state.pending = None
        await ctx.notice(texts.window_closed(len(state.answers)))
        await self.steps.present(ctx)

    async def on_timer(self, ctx: "Ctx", name: str) -> None:
        """`collect:<deadline>`: close the window, unless it already closed (Go) or is a later one."""
        state = ctx.state
        if state.phase is not Phase.COLLECTING or name != f"{COLLECT_TIMER}:{state.collect_until}":
            log.info("%s: timer %s is stale (phase %s); nothing to do", ctx.key, name, state.phase.value)
            return
        await self._close_window(ctx)
