"""The engine: the one entry for adapters, and the routing of each turn.

    new -> asking -> waiting_answers -> presenting -> discussing -> ended
    (diagram mode: new -> presenting -> discussing -> ended)

Adapters call `submit(Inbound)` and nothing else.  `submit` owns the rules
every platform shares (is this channel allowed, is this thread an interview,
is the problem usable, was this delivery seen before) and queues the event in
its thread's durable inbox (see `pipeline.py`).  `handle` runs one queued
event as a turn: it picks the step from the state and the event, and the
steps (`interview.py`) talk to the model and post through the platform's sink.

A command opens its thread in a turn of its own (keyed by the command's event
id): the thread is opened, then its state and first event are written in the
same atomic step that retires the command, so a crash never loses the problem.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from contextlib import AsyncExitStack
from typing import Awaitable, Callable

from aiohttp import web

from . import texts
from .attachments import take_attachments
from .budget import Budget, MemoryBudget, Verdict, over_budget_text, usage_text, utc_now, who_for
from .command_options import parse_options
from .commands import Word, is_help_request, thread_word, word_of
from .design_routes import COLLECT_TIMER, DesignRoutes, Routed
from .health import Health, standard_checks, start_health_server
from .heap import settle_heap
from .inbound import EventKind, Inbound, Receipt, ReceiptKind
from .interview import Ctx, Steps
from .levels import Level
from .llm import ModelClient
from .logs import thread_context
from .messages import Action, Attachment, DeliveryError, Kind, OutMessage, Platform, Sink
from .metrics import (
    Metrics,
    TurnOutcome,
    default_metrics,
    interview_closed,
    interview_opened,
    record_budget_refusal,
    record_turn,
)
from .pace import pace_for
from .pipeline import Held, Pipeline, TurnInput, TurnResult
from .practice import texts as practice_texts
from .practice.router import Practice
from .problems import find_card, resolve_problem
from .prompts import Prompts
from .state import Answer, InterviewState, Mode, Pending, Phase, ThreadRef, platform_of_key
from .store import AcceptOutcome, Forward, SessionStore
from .suggest import command_suggestion
from .text_checks import clean_text, is_visible
from .transcript import build_transcript, slug
from .whiteboard import WhiteboardMaker

log = logging.getLogger(__name__)

TimerHandler = Callable[[Ctx, str], Awaitable[None]]

MODE_LABEL = {Mode.INTERVIEW: "mock interview", Mode.DIAGRAM: "flow diagram", Mode.PRACTICE: "practice interview"}
KIND_MODE = {EventKind.START: Mode.INTERVIEW, EventKind.DIAGRAM: Mode.DIAGRAM, EventKind.PRACTICE: Mode.PRACTICE}
COMMAND = {Mode.INTERVIEW: "/interview", Mode.DIAGRAM: "/diagram", Mode.PRACTICE: "/practice"}
TITLE = {Mode.INTERVIEW: "Interview: ", Mode.DIAGRAM: "Diagram: ", Mode.PRACTICE: "Practice: "}


def check_problem(text: str, limit: int, command: str = "/interview") -> str | None:
    """None if the problem text is usable, else the message to show the user."""
    text = text.strip()
    if not text or not is_visible(text):
        return texts.usage_help(command)
    if len(text) > limit:
        return texts.too_long("problem", len(text), limit)
    return None


class Engine:
    def __init__(self, settings, store: SessionStore, llm: ModelClient, prompts: Prompts, *, png: bool = True,
                 metrics: Metrics | None = None, budget: Budget | None = None):
        self.settings = settings
        self.store = store
        self.llm = llm
        self.prompts = prompts
        self.whiteboard = WhiteboardMaker(llm, prompts, width=settings.diagram_width,
                                          ascii_only=settings.diagram_ascii, png=png,
                                          max_crossings=settings.diagram_max_crossings,
                                          max_lines=settings.diagram_max_lines)
        self.steps = Steps(settings, llm, prompts, self.whiteboard)
        self.platforms: dict[str, Platform] = {}
        self.metrics = metrics or default_metrics()
        self.budget: Budget = budget or MemoryBudget()
        self.pipeline = Pipeline(store, self.handle, report=self._report, owns=self._owns,
                                 recover_interval=settings.recover_interval, timer_tick=settings.timer_tick)
        self._timer_handlers: dict[str, TimerHandler] = {}
        self.routes = DesignRoutes(self.steps, settings)   # the answer window and the interactive pace's stops
        self.on_timer(COLLECT_TIMER, self.routes.on_timer)
        self.practice = Practice(settings, self.llm, store, within_budget=self._within_budget)
        self.on_timer("practice", self.practice.on_timer)

    # ----------------------------------------------------------- lifecycle
    def register(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    def on_timer(self, prefix: str, handler: TimerHandler) -> None:
        """Route TIMER events named `prefix:...` (see `Ctx.schedule`) to `handler`."""
        self._timer_handlers[prefix] = handler

    def start(self) -> None:
        """Begin serving: timers, picking up threads left unhandled by a crashed or stopped process."""
        settle_heap()   # what exists now lives as long as the process: keep it out of the collector's walks
        self.pipeline.start()

    async def shutdown(self, grace: float | None = None) -> str:
        return await self.pipeline.shutdown(self.settings.shutdown_grace if grace is None else grace)

    def health(self) -> Health:
        """What /healthz, /readyz and /metrics serve for this process."""
        redis = getattr(self.store, "client", None)
        return Health(self.metrics, standard_checks(self.settings, redis))

    async def start_health_server(self) -> web.AppRunner | None:
        """The side server (HEALTH_HOST:HEALTH_PORT) for Socket Mode, Discord and the console; None when off."""
        return await start_health_server(self.settings.health_host, self.settings.health_port, self.health())

    def key(self, ref: ThreadRef) -> str:
        return ref.key(self.store.prefix)

    def _owns(self, key: str) -> bool:
        return platform_of_key(key, self.store.prefix) in self.platforms

    # -------------------------------------------------------------- submit
    async def submit(self, event: Inbound) -> Receipt:
        """Take one inbound event: refuse it, or queue it durably. Call before any other await."""
        event.text = clean_text(event.text)   # no control characters or escape sequences, anywhere after this
        if event.kind is EventKind.HISTORY:     # answered at once, privately; opens nothing
            return await self.practice.history(event)
        if not self._allowed(event.ref):
            if event.opens_thread:
                return Receipt(kind=ReceiptKind.REFUSED, text=texts.not_allowed_here(self._allowed_channels(event)))
            return Receipt(kind=ReceiptKind.NOT_OURS)
        if event.opens_thread:
            refusal = self._check_command(event)
            if refusal is not None:
                return refusal
        key = self.inbox_key(event)
        outcome = await self.pipeline.accept(key, event, require_thread=not event.opens_thread)
        return await self._receipt(event, outcome)

    def inbox_key(self, event: Inbound) -> str:
        """The inbox an event is queued in: its thread's, or for a command one of its own."""
        if event.opens_thread:
            return self.key(event.ref.model_copy(update={"thread": f"start.{event.event_id}"}))
        return self.key(event.ref)

    def _check_command(self, event: Inbound) -> Receipt | None:
        command = COMMAND[KIND_MODE[event.kind]]
        if event.attachments:   # the problem may come as a text or Markdown file
            taken = take_attachments(event.text, event.attachments, self.settings.max_attachment_chars)
            if taken.problems:
                return Receipt(kind=ReceiptKind.REFUSED, text="\n".join(taken.problems))
            event.text, event.attachments = taken.text, []
        platform = self.platforms.get(event.ref.platform)
        word = thread_word(event.text)
        if word and platform is not None and not platform.commands_in_threads:
            return Receipt(kind=ReceiptKind.HELP, text=texts.thread_word_hint(word, command))
        if is_help_request(event.text):
            return Receipt(kind=ReceiptKind.HELP, text=self._usage(command))
        if event.kind in (EventKind.START, EventKind.DIAGRAM) and getattr(platform, "suggests_problems", False):
            # no autocomplete there: offer the bank instead
            found = command_suggestion(event.text, diagram=event.kind is EventKind.DIAGRAM)
            if found is not None:
                return Receipt(kind=ReceiptKind.SUGGEST, text=found.text, choices=found.choices, context=found.context)
        options = parse_options(event.text)
        event.level = (options.level or Level.SENIOR).value
        event.pace = options.pace.value if options.pace else ""
        event.text = resolve_problem(options.text, diagram=event.kind is EventKind.DIAGRAM).strip()
        refusal = check_problem(event.text, self.settings.max_problem_chars, command)
        if refusal:
            return Receipt(kind=ReceiptKind.REFUSED, text=self._usage(command) if event.text == "" else refusal)
        return None

    @staticmethod
    def _usage(command: str) -> str:
        return practice_texts.usage_help() if command == "/practice" else texts.usage_help(command)

    async def _receipt(self, event: Inbound, outcome: AcceptOutcome | Held) -> Receipt:
        if outcome is Held.HELD:
            if event.opens_thread:
                return Receipt(kind=ReceiptKind.HELD, text=texts.HELD_START)
            if event.bot_thread:
                await self._say(event.ref, texts.HELD, Kind.ERROR)
            return Receipt(kind=ReceiptKind.HELD, text=texts.HELD)
        if outcome is AcceptOutcome.DUPLICATE:
            return Receipt(kind=ReceiptKind.DUPLICATE)
        if outcome is AcceptOutcome.NOT_OURS:
            text = texts.NOT_OUR_THREAD if event.kind is EventKind.BUTTON else None
            return Receipt(kind=ReceiptKind.NOT_OURS, text=text)
        if event.opens_thread:
            label = MODE_LABEL[KIND_MODE[event.kind]]
            return Receipt(kind=ReceiptKind.QUEUED, text=texts.starting(label, _short(event.text)))
        return Receipt(kind=ReceiptKind.QUEUED)

    def _allowed_channels(self, event: Inbound) -> list[str]:
        raw = getattr(self.settings, f"{event.ref.platform}_allowed_channels", "") or ""
        return [f"<#{c.strip()}>" for c in raw.split(",") if c.strip()]

    def _allowed(self, ref: ThreadRef) -> bool:
        for scope, value in (("channels", ref.channel), ("guilds", ref.workspace)):
            raw = getattr(self.settings, f"{ref.platform}_allowed_{scope}", "") or ""
            allowed = {c.strip() for c in str(raw).replace(";", ",").replace(" ", ",").split(",") if c.strip()}
            if allowed and value not in allowed:
                return False
        return True

    async def _say(self, ref: ThreadRef, markdown: str, kind: Kind = Kind.NOTICE) -> None:
        platform = self.platforms.get(ref.platform)
        if platform is None:
            return
        try:
            await platform.sink(ref).post(OutMessage(kind=kind, markdown=markdown))
        except DeliveryError as exc:
            log.error("%s: could not post a notice: %s", self.key(ref), exc)

    async def _report(self, key: str, event: Inbound, exc: BaseException) -> None:
        if not event.opens_thread:
            await self._say(event.ref, texts.TURN_FAILED, Kind.ERROR)

    # -------------------------------------------------------------- turns
    async def handle(self, turn: TurnInput) -> TurnResult:
        """One turn, with the thread key on every log line it writes and counted in the metrics."""
        started = time.monotonic()
        outcome = TurnOutcome.ERROR
        with thread_context(turn.key):
            try:
                result = await self._handle(turn)
                outcome = TurnOutcome.OK
                return result
            except asyncio.CancelledError:
                outcome = TurnOutcome.CANCELLED
                raise
            finally:
                record_turn(self.metrics, platform=turn.event.ref.platform, step=turn.event.kind.value,
                            outcome=outcome, seconds=time.monotonic() - started)

    async def _handle(self, turn: TurnInput) -> TurnResult:
        event = turn.event
        platform = self.platforms.get(event.ref.platform)
        if platform is None:
            log.error("%s: no adapter for platform %r in this process; event %s dropped",
                      turn.key, event.ref.platform, event.event_id)
            return TurnResult(state=None)
        if event.opens_thread:
            return await self._open_thread(platform, event, redelivered=turn.redelivered)
        if turn.corrupt is None and turn.state is None:
            return TurnResult(state=None)   # not (or no longer) an interview: stay quiet
        sink = platform.sink(event.ref)
        async with AsyncExitStack() as stack:
            if hasattr(sink, "__aenter__"):   # a sink may show "typing…" for the length of the turn
                await stack.enter_async_context(sink)  # type: ignore[arg-type]
            return await self._turn(turn, platform, sink)

    async def _turn(self, turn: TurnInput, platform: Platform, sink: Sink) -> TurnResult:
        event = turn.event
        if turn.corrupt is not None:
            log.warning("%s: corrupt state: %s", turn.key, turn.corrupt)
            await self._say(event.ref, texts.corrupt(str(turn.corrupt)), Kind.ERROR)
            return TurnResult(state=None)
        assert turn.state is not None
        ctx = Ctx(key=turn.key, state=turn.state, sink=sink, event_id=event.event_id, checkpoint=turn.checkpoint,
                  author_id=event.author_id, received_at=event.received_at, stopping=turn.stopping,
                  timers=functools.partial(self.pipeline.schedule, turn.key))
        flight = ctx.state.inflight
        if turn.redelivered or (flight is not None and flight.event_id == event.event_id):
            await ctx.recover_delivery()   # a process that stopped had started this turn: it may have posted
        before = ctx.state.usage.model_copy()
        await self._route(ctx, event, platform)
        spent = ctx.state.usage.minus(before)
        if spent.calls:
            try:
                await self.budget.record(who_for(event.ref, event.author_id or event.author), spent)
            except Exception as exc:  # noqa: BLE001 - counting must never cost the turn
                log.warning("%s: could not count model use: %s", turn.key, exc)
        ctx.state.touch()
        return TurnResult(state=ctx.state)

    async def _open_thread(self, platform: Platform, event: Inbound, *, redelivered: bool = False) -> TurnResult:
        mode = KIND_MODE[event.kind]
        user = await platform.display_name(event.author_id, event.author or "someone")
        label = MODE_LABEL[mode]
        title = TITLE[mode] + " ".join(event.text.split())
        pace = None if mode is not Mode.INTERVIEW else (event.pace or pace_for(self.settings, event.ref.platform,
                                                                               event.ref.workspace).value)
        try:
            announce = texts.announce("diagram" if mode is Mode.DIAGRAM else label, _short(event.text), user,
                                      texts.opening_detail(event.level or Level.SENIOR.value, pace))
            # A process that stopped may have opened the thread already: reuse it where the platform can tell.
            find = getattr(platform, "find_thread", None) if redelivered else None
            ref = (await find(event.ref, event.event_id) if find else None) or \
                await platform.open_thread(event.ref, title[:100], announce, event.event_id)
        except DeliveryError as exc:
            log.error("%s: could not open a thread for event %s: %s", self.key(event.ref), event.event_id, exc)
            return TurnResult(state=None)
        card = find_card(event.text)
        state = InterviewState(ref=ref, problem=event.text, mode=mode, started_by=user,
                               level=event.level or Level.SENIOR.value, card_id=card.id if card else None,
                               pace=pace or "full")
        if mode is Mode.PRACTICE:
            self.practice.prepare(state, event, user, platform)
        interview_opened(self.metrics, ref.platform)
        begin = Inbound(kind=EventKind.BEGIN, ref=ref, event_id=f"{event.event_id}:begin", author=user,
                        author_id=event.author_id, received_at=event.received_at)
        return TurnResult(state=None, forward=Forward(key=self.key(ref), state=state,
                                                      event_raw=begin.model_dump_json()))

    async def _route(self, ctx: Ctx, event: Inbound, platform: Platform) -> None:
        state = ctx.state
        if state.inflight is not None:
            if state.inflight.event_id == event.event_id:
                await self._resume(ctx)
                return
            # A turn that failed after a checkpoint: keep its progress for *retry*.
            flight = state.inflight
            state.pending = Pending(step=flight.step, partial=flight.partial, text=flight.text, user=flight.user)
            state.inflight = None
        if event.kind is EventKind.TIMER:
            await self._on_timer(ctx, event.text)
            return
        if state.mode is Mode.PRACTICE:   # the bot interviews: its own flow (bot/practice)
            await self.practice.route(ctx, event, platform)
            return
        if event.kind is not EventKind.BUTTON and not await self._within_budget(ctx, event):
            return
        if event.kind is EventKind.BEGIN:
            try:
                if state.mode is Mode.DIAGRAM:
                    await self.steps.present(ctx)
                else:
                    await self.steps.ask_questions(ctx)
            except DeliveryError as exc:
                log.error("%s: opening not delivered: %s", ctx.key, exc)
            return
        user = await platform.display_name(event.author_id, event.author or "someone")
        if event.attachments:   # an answer may come as a text or Markdown file
            taken = take_attachments(event.text, event.attachments, self.settings.max_attachment_chars)
            for problem in taken.problems:
                try:
                    await ctx.notice(problem)
                except DeliveryError as exc:
                    log.error("%s: attachment notice not delivered: %s", ctx.key, exc)
            if taken.problems and not taken.text:
                return   # nothing readable: said why, nothing else to do
            event.text = taken.text
        if event.kind is EventKind.BUTTON:
            await self._on_button(ctx, event.action, user, event.text)
            return
        try:
            await self._on_message(ctx, event.text.strip(), user)
        except DeliveryError as exc:
            log.error("%s: reply to %s not delivered: %s", ctx.key, event.event_id, exc)

    async def _on_timer(self, ctx: Ctx, name: str) -> None:
        handler = self._timer_handlers.get(name.split(":", 1)[0])
        if handler is None:
            log.warning("%s: timer %r has no handler; ignored", ctx.key, name)
            return
        try:
            await handler(ctx, name)
        except DeliveryError as exc:
            log.error("%s: timer %r: message not delivered: %s", ctx.key, name, exc)

    async def _within_budget(self, ctx: Ctx, event: Inbound) -> bool:
        """Before any model call: is this person (and workspace) within today's token budget? Says so if not."""
        word = word_of(event.text.strip()) if event.kind is EventKind.REPLY else Word.NONE
        if word in (Word.HELP, Word.EXPORT, Word.END, Word.USAGE) or ctx.state.phase is Phase.ENDED:
            return True   # no model call: always allowed
        who = who_for(event.ref, event.author_id or event.author)
        try:
            check = await self.budget.check(who)
        except Exception as exc:  # noqa: BLE001 - a budget outage must not stop interviews
            log.warning("%s: budget check failed (%s); allowing the turn", ctx.key, exc)
            return True
        if check.allowed:
            return True
        record_budget_refusal(self.metrics, "workspace" if check.verdict is Verdict.OVER_WORKSPACE else "user")
        await ctx.notice(over_budget_text(check, utc_now()))
        return False

    async def _resume(self, ctx: Ctx) -> None:
        flight = ctx.state.inflight
        assert flight is not None
        log.info("%s: resuming step %s of event %s", ctx.key, flight.step, ctx.event_id)
        try:
            await ctx.notice(texts.RESUMING)
        except DeliveryError:
            pass
        if flight.step == "discuss":
            await self.steps.discuss(ctx, flight.text, flight.user, resume_reply=flight.partial)
        else:
            await self.steps.present(ctx, partial=flight.partial)

    async def _on_button(self, ctx: Ctx, action: Action | None, user: str, text: str = "") -> None:
        if await self.routes.button(ctx, action, text, user) is Routed.HANDLED:
            return
        if action is Action.SKIP and ctx.state.phase is not Phase.WAITING_ANSWERS:
            await ctx.notice(texts.ALREADY_PAST_QUESTIONS)
            return
        word = {Action.SKIP: "skip", Action.END: "end", Action.RETRY: "retry",
                Action.CURVEBALL: "curveball"}.get(action or Action.END, "end")
        await self._on_message(ctx, word, user)

    async def _on_message(self, ctx: Ctx, text: str, user: str) -> None:
        state = ctx.state
        word = word_of(text) if text else Word.NONE
        if not text or not is_visible(text):
            await ctx.notice(texts.EMPTY_MESSAGE)
        elif word is Word.HELP:
            await ctx.notice(texts.THREAD_HELP)
        elif word is Word.CURVEBALL and state.phase is not Phase.ENDED:
            await self.steps.curveball(ctx)
        elif word is Word.USAGE:
            who = who_for(ctx.state.ref, ctx.author_id or user)
            await ctx.notice(usage_text(await self.budget.today(who), utc_now()))
        elif word is Word.EXPORT:
            await self._export(ctx)
        elif state.phase is Phase.ENDED:
            if not state.ended_notice_sent:
                state.ended_notice_sent = True
                await ctx.notice(texts.ENDED_ALREADY)
        elif word is Word.END:
            await self.steps.end(ctx)
            interview_closed(self.metrics, ctx.state.ref.platform)
        elif word is Word.RETRY:
            await self._retry(ctx)
        else:
            await self._answer(ctx, text, user, skipped=word is Word.SKIP)

    async def _export(self, ctx: Ctx) -> None:
        state = ctx.state
        doc = build_transcript(state, width=self.settings.diagram_width)
        await ctx.post(OutMessage(kind=Kind.NOTICE, markdown=texts.TRANSCRIPT, attachments=[
            Attachment(filename=f"{slug(state.problem)}.md", data=doc.encode(), mime="text/markdown")]))

    async def _answer(self, ctx: Ctx, text: str, user: str, *, skipped: bool) -> None:
        state = ctx.state
        limit = self.settings.max_answer_chars
        if len(text) > limit:
            await ctx.notice(texts.answer_cut(len(text), limit))
            text = text[:limit]
        if state.phase in (Phase.NEW, Phase.ASKING):
            # The opening failed earlier: the only way forward is retry.
            await ctx.notice(texts.haven_t_started(state.mode is Mode.DIAGRAM))
            return
        if await self.routes.answer(ctx, text, user) is Routed.HANDLED:
            return
        if state.phase in (Phase.WAITING_ANSWERS, Phase.PRESENTING) and state.mode is Mode.INTERVIEW \
                and not state.sections.get("closing"):
            state.pending = None
            if skipped:
                state.assumed_defaults = True
                await ctx.notice(texts.SKIPPING)
            else:
                state.answers.append(Answer(user=user, text=text))
            await self.steps.present(ctx)
            return
        state.pending = None
        await self.steps.discuss(ctx, text, user)

    async def _retry(self, ctx: Ctx) -> None:
        state = ctx.state
        pending = state.pending
        if pending is None:
            await ctx.notice(texts.NOTHING_TO_RETRY)
            return
        await ctx.notice(texts.RETRYING)
        state.pending = None
        if pending.step == "questions":
            await self.steps.ask_questions(ctx)
        elif pending.step in ("design", "diagram"):
            await self.steps.present(ctx, partial=pending.partial)
        else:
            await self.steps.discuss(ctx, pending.text, pending.user)


def _short(problem: str, limit: int = 300) -> str:
    one_line = " ".join(problem.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
