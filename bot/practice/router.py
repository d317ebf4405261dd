"""Which practice step a thread event is: the candidate's answer, a thread word, a watcher, a timer.

The engine hands every event of a practice thread here (`Engine._route`), and `/history` too (`Engine.submit`).
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from ..commands import Word, word_of
from ..inbound import EventKind, Inbound, Receipt
from ..messages import Action, DeliveryError, Platform
from ..state import InterviewState, Phase
from ..store.base import SessionStore
from ..store.history import history_for
from ..text_checks import is_visible
from ..texts import EMPTY_MESSAGE, answer_cut
from . import texts
from .export import export_message
from .flow import PracticeSteps
from .history_records import history_receipt
from .inputs import read_input
from .model import Speaker

log = logging.getLogger(__name__)

BudgetCheck = Callable[..., Awaitable[bool]]
BUTTON_WORDS = {Action.END: Word.END, Action.RETRY: Word.RETRY}


class Practice:
    def __init__(self, settings, llm, store: SessionStore, *, within_budget: BudgetCheck):
        self.settings = settings
        self.records = history_for(store, settings.history_days)
        self.steps = PracticeSteps(settings, llm, self.records)
        self.within_budget = within_budget

    def prepare(self, state: InterviewState, event: Inbound, user: str, platform: Platform) -> None:
        """A practice thread was just opened: who is the candidate, where is the thread."""
        state.practice = self.steps.new_state(event.author_id, user)
        link = getattr(platform, "thread_url", None)
        state.practice.thread_url = link(state.ref) if callable(link) else None

    async def history(self, event: Inbound) -> Receipt:
        return await history_receipt(self.records, event, self.steps.rubric, now=self.steps.now(),
                                     visible_to_group=self.settings.history_visible_to_group)

    async def on_timer(self, ctx, name: str) -> None:
        state = ctx.state
        if state.practice is None or state.phase is Phase.ENDED:
            return   # a stale timer: the interview moved on
        try:
            if name.startswith("practice:nudge:"):
                await self.steps.nudge(ctx)
            elif name.startswith("practice:end:"):
                await self.steps.time_up(ctx)
        except DeliveryError as exc:
            log.error("%s: timer %s: message not delivered: %s", ctx.key, name, exc)

    async def route(self, ctx, event: Inbound, platform: Platform) -> None:
        try:
            await self._route(ctx, event, platform)
        except DeliveryError as exc:
            log.error("%s: practice reply to %s not delivered: %s", ctx.key, event.event_id, exc)

    async def _route(self, ctx, event: Inbound, platform: Platform) -> None:
        state, steps = ctx.state, self.steps
        p = steps.practice(state)
        if event.kind is EventKind.BEGIN:
            if await self.within_budget(ctx, event):
                await steps.open(ctx)
            return
        user = await platform.display_name(event.author_id, event.author or "someone")
        who = event.author_id or event.author or user
        text = event.text.strip()
        if event.kind is EventKind.BUTTON:
            word = BUTTON_WORDS.get(event.action or Action.END, Word.NONE)
            if word is Word.NONE:
                return
        else:
            word = word_of(text) if text else Word.NONE
        if word is Word.HELP:
            await ctx.notice(texts.THREAD_HELP)
        elif word is Word.EXPORT:
            await ctx.post(export_message(state, self.settings.diagram_width))
        elif state.phase is Phase.ENDED:
            if not state.ended_notice_sent:
                state.ended_notice_sent = True
                await ctx.notice(texts.ENDED_ALREADY)
        elif not p.is_candidate(who):
            await self._watcher(ctx, who, user, text)
        elif not await self.within_budget(ctx, event):
            return
        elif word is Word.END:
            await steps.finish(ctx, texts.SCORING_ON_REQUEST)
        elif word is Word.RETRY:
            await steps.retry(ctx)
        elif word is Word.HINT:
            await steps.hint(ctx)
        elif word is Word.NEXT:
            await steps.next_phase(ctx)
        else:
            await self._answer(ctx, event, text, user)

    async def _watcher(self, ctx, who: str, user: str, text: str) -> None:
        """Someone else in the thread: kept as a note (for the export), told once that they are watching."""
        p = self.steps.practice(ctx.state)
        if text:
            p.said(Speaker.WATCHER, user, text, self.steps.now())
        if who not in p.watchers_told:
            p.watchers_told.append(who)
            await ctx.notice(texts.watching(p.candidate or "the candidate"))

    async def _answer(self, ctx, event: Inbound, text: str, user: str) -> None:
        limit = self.settings.max_answer_chars
        if len(text) > limit:
            await ctx.notice(answer_cut(len(text), limit))
            text = text[:limit]
        found = read_input(text, event.attachments, max_chars=self.settings.max_attachment_chars,
                           max_image_bytes=self.settings.practice_max_image_bytes,
                           width=self.settings.diagram_width)
        for notice in found.notices:
            await ctx.notice(notice)
        if found.empty:
            if not found.notices:
                await ctx.notice(EMPTY_MESSAGE if not is_visible(text) else texts.THREAD_HELP)
            return
        await self.steps.answer(ctx, found, user)
