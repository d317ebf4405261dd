"""The interview steps: questions, the sectioned design, a diagram, discussion, the end.

Each step talks to the model, posts through the turn's sink and updates the
state.  A step that posts several messages (the design) checkpoints the state
after each one, so a turn cut short by a crash or a shutdown continues after
the last message posted instead of repeating or skipping anything.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from . import texts
from .budget import interview_usage_line
from .card_draft import curveball_prompt, parse_curveball
from .card_render import next_throwable, render_group_follow_ups, render_group_numbers, render_throwable
from .cards import ProblemCard, default_bank
from .context import (
    FoldOutcome,
    apply_fold,
    context_turns,
    conversation_text,
    design_prefix_len,
    estimate_tokens,
    fold_plan,
)
from .design_extras import design_extras
from .formatting import neutralize_mentions
from .framing import Framed, frame_answer, frame_message, frame_problem, new_boundary
from .freehand import wrap_fenced_diagrams
from .inbound import EventKind, Inbound
from .levels import Level, level_opening_note
from .llm import LLMError, LLMResult, ModelClient, TextCallback
from .messages import Action, DeliveryError, Kind, OutMessage, Sink
from .pipeline import Stopped
from .prompts import Prompts, section_list
from .replies import discuss_preview, numbered, parse_discuss, questions_markdown, split_questions_preview
from .sections import DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS, MARKER_RE, SectionParser, heading, parse_questions
from .state import InFlight, InterviewState, Mode, Pending, Phase, Step, Turn
from .whiteboard import WhiteboardMaker

log = logging.getLogger(__name__)

MIN_QUESTIONS, MAX_QUESTIONS = 2, 3
PREVIEW_EVERY = 0.1   # seconds between two live previews of one message

# Asked when the model cannot produce two usable questions even on a second try.
DEFAULT_QUESTIONS = [
    "What scale should I plan for: roughly how many users, and how many requests per second at peak?",
    "Which core features are in scope for this round, and is anything explicitly out?",
    "What matters more here: low latency, high availability, or strong consistency?",
]


@dataclass
class Ctx:
    """One turn of one thread, as the steps see it."""

    key: str
    state: InterviewState
    sink: Sink
    event_id: str
    checkpoint: Callable[[InterviewState], Awaitable[None]]
    author_id: str = ""

    stopping: Callable[[], bool] = lambda: False
    # Stores a timer event for this thread, due at a wall-clock time (see `schedule`).
    timers: Callable[[Inbound, float], Awaitable[None]] | None = None
    previewed: dict[str, float] = field(default_factory=dict)

    async def preview(self, stream_id: str, render: Callable[[], str]) -> None:
        """A live preview of text still being written: the first at once, then at most every PREVIEW_EVERY
        seconds (adapters edit far less often than that; rendering every delta would be wasted work)."""
        now = time.monotonic()
        if now - self.previewed.get(stream_id, -PREVIEW_EVERY) < PREVIEW_EVERY:
            return
        self.previewed[stream_id] = now
        await self.sink.partial(stream_id, neutralize_mentions(render()))

    async def schedule(self, name: str, delay: float) -> None:
        """Have `name` come back to this thread as a TIMER event in `delay` seconds, durably.

        The name must be unique per timer (it is the event id); a handler must expect a timer that
        the state no longer waits for (it is stored before the state that expects it is saved)."""
        if self.timers is None:
            raise RuntimeError("this turn cannot set timers")
        event = Inbound(kind=EventKind.TIMER, ref=self.state.ref, event_id=f"timer:{name}", text=name)
        await self.timers(event, time.time() + delay)

    async def post(self, message: OutMessage) -> None:
        if self.stopping():
            raise Stopped(f"{self.key}: shutting down")
        if message.stream_id and message.dedupe_key is None:
            message = message.model_copy(update={"dedupe_key": f"{self.event_id}:{message.stream_id}"})
        await self.sink.post(message)

    async def notice(self, markdown: str, kind: Kind = Kind.NOTICE, actions: list[Action] | None = None) -> None:
        await self.post(OutMessage(kind=kind, markdown=markdown, actions=actions or []))


def design_turns(state: InterviewState, user_prompt: str, partial: str = "") -> list[Turn]:
    turns = list(state.history) + [Turn(role="user", content=user_prompt)]
    if partial:
        turns.append(Turn(role="assistant", content=partial))
    return turns


class Steps:
    def __init__(self, settings, llm: ModelClient, prompts: Prompts, whiteboard: WhiteboardMaker):
        self.settings = settings
        self.llm = llm
        self.prompts = prompts
        self.whiteboard = whiteboard

    async def _call(self, state: InterviewState, turns: list[Turn], on_text: TextCallback | None = None,
                    **kw) -> LLMResult:
        result = await self.llm.complete(self.prompts.system, turns, on_text=on_text, **kw)
        state.usage.add(result.usage)
        return result

    async def fail(self, ctx: Ctx, pending: Pending, why: str) -> None:
        """Keep the step for *retry* and say so (if the platform lets us)."""
        log.warning("%s: step %s failed: %s", ctx.key, pending.step, why)
        ctx.state.pending = pending
        ctx.state.inflight = None
        try:
            await ctx.notice(why, kind=Kind.ERROR, actions=[Action.RETRY])
        except DeliveryError as exc:
            log.error("%s: could not tell the thread that step %s failed: %s", ctx.key, pending.step, exc)

    # ---------------------------------------------------------- questions
    async def ask_questions(self, ctx: Ctx) -> None:
        state = ctx.state
        state.phase = Phase.ASKING
        ask = self.prompts.render("clarify", problem=state.problem, min_q=MIN_QUESTIONS, max_q=MAX_QUESTIONS)
        ask += "\n\n" + level_opening_note(Level(state.level))
        stream_id = "questions"
        shown = ""

        async def preview(delta: str) -> None:
            nonlocal shown
            shown += delta
            await ctx.preview(stream_id, lambda: questions_markdown(*split_questions_preview(shown), final=False))

        try:
            result = await self._call(state, [Turn(role="user", content=ask)], on_text=preview)
            intro, questions = parse_questions(result.text)
            if len(questions) < MIN_QUESTIONS:
                fix = self.prompts.render("clarify_fix", count=len(questions), min_q=MIN_QUESTIONS,
                                          max_q=MAX_QUESTIONS)
                retry_turns = [Turn(role="user", content=ask),
                               Turn(role="assistant", content=result.text.strip() or "(no answer)"),
                               Turn(role="user", content=fix)]
                intro2, questions2 = parse_questions((await self._call(state, retry_turns)).text)
                if len(questions2) >= len(questions):
                    questions, intro = questions2, (intro2 or intro)
        except LLMError as exc:
            state.phase = Phase.NEW
            await self.fail(ctx, Pending(step="questions"), texts.model_failed(exc.user_message))
            return
        for q in DEFAULT_QUESTIONS:
            if len(questions) >= MIN_QUESTIONS:
                break
            questions.append(q)
        questions = questions[:MAX_QUESTIONS]
        intro = intro or texts.opening_fallback(state.problem)
        md = questions_markdown(intro, numbered(questions), final=True)
        try:
            await ctx.post(OutMessage(kind=Kind.QUESTIONS, markdown=neutralize_mentions(md), stream_id=stream_id,
                                      actions=[Action.SKIP]))
        except DeliveryError as exc:
            state.phase = Phase.NEW
            await self.fail(ctx, Pending(step="questions"), texts.delivery_failed())
            log.error("%s: questions not delivered: %s", ctx.key, exc)
            return
        state.intro, state.questions = intro, questions
        card = self._card(state) if self.settings.interviewer_cards else None
        if card is not None:   # the numbers for whoever plays the interviewer (the model never sees them)
            try:
                await ctx.notice(render_group_numbers(card), kind=Kind.CARD)
            except DeliveryError as exc:
                log.warning("%s: interviewer card not delivered: %s", ctx.key, exc)
        canonical = intro + "\n<<<questions>>>\n" + numbered(questions)
        state.history = [Turn(role="user", content=ask), Turn(role="assistant", content=canonical)]
        state.phase = Phase.WAITING_ANSWERS

    # ------------------------------------------------------------- design
    def _answers_block(self, state: InterviewState) -> str:
        if state.assumed_defaults and not state.answers:
            return Framed("The interviewer skipped the questions and asked you to decide. Assume sensible answers "
                    "for this kind of system and state them clearly.")
        boundary = new_boundary()
        blocks = [frame_answer(a.user or "interviewer", a.text, boundary) for a in state.answers]
        extra = ("\nFor anything they did not answer, assume sensible values and say so."
                 if state.assumed_defaults or len(state.answers) < 2 else "")
        return Framed("The interviewer's answers to your questions:\n" + "\n".join(blocks) + extra)

    def _design_ask(self, state: InterviewState) -> str:
        if state.mode is Mode.DIAGRAM:
            return self.prompts.render("diagram_only", system=state.problem,
                                       section_list=section_list(DIAGRAM_ONLY_SECTIONS))
        skip_note = (" Open it with the answers you are assuming for your own questions."
                     if state.assumed_defaults else "")
        ask = self.prompts.render("design", answers_block=self._answers_block(state),
                                  section_list=section_list(DESIGN_SECTIONS), skip_note=skip_note)
        return ask + "\n\n" + design_extras(Level(state.level), directory=self.settings.prompts_dir)

    @staticmethod
    def _card(state: InterviewState) -> ProblemCard | None:
        return default_bank().get(state.card_id) if state.card_id else None

    async def present(self, ctx: Ctx, partial: str = "") -> None:
        """The design (or, in diagram mode, the diagram and walkthrough), section by section."""
        state = ctx.state
        state.phase = Phase.PRESENTING
        diagram = state.mode is Mode.DIAGRAM
        if diagram and not partial:
            state.history = []
        catalogue = DIAGRAM_ONLY_SECTIONS if diagram else DESIGN_SECTIONS
        await SectionStream(self, ctx, self._design_ask(state), catalogue,
                            step="diagram" if diagram else "design").run(partial)

    async def post_section(self, ctx: Ctx, sid: str, body: str, catalogue: dict[str, str], *, last: bool,
                           stream_id: str) -> None:
        state = ctx.state
        attachments = []
        if sid == "diagram":
            board = await self.whiteboard.build(body, state.usage, previous=None,
                                                context=state.sections.get("high_level", "") or state.problem)
            state.graph = board.graph
            body, attachments = board.markdown, board.attachments
        md = f"### {heading(sid, catalogue)}\n{body}"
        await ctx.post(OutMessage(kind=Kind.SECTION, section=sid, markdown=neutralize_mentions(md),
                                  attachments=attachments, actions=[Action.END] if last else [],
                                  stream_id=stream_id))

    # --------------------------------------------------------- discussion
    async def discuss(self, ctx: Ctx, text: str, user: str, resume_reply: str = "") -> None:
        state = ctx.state
        ask = self.prompts.render("discuss", user=user or "The interviewer", message=text, problem=state.problem)
        stream_id = f"discuss:{len(state.history)}"
        pending = Pending(step="discuss", text=text, user=user)
        reply = resume_reply
        if not reply:
            fresh = await self._discuss_call(ctx, ask, stream_id, pending)
            if fresh is None:
                return
            reply = fresh
            parsed = parse_discuss(reply)
            answer_md = parsed.answer + (f"\n\n**What changed**\n{parsed.changes}" if parsed.changes else "")
            try:
                await ctx.post(OutMessage(kind=Kind.ANSWER, markdown=neutralize_mentions(answer_md),
                                          stream_id=stream_id))
            except DeliveryError:
                await self.fail(ctx, pending, texts.delivery_failed())
                return
            state.inflight = InFlight(event_id=ctx.event_id, step="discuss", partial=reply, text=text, user=user)
            await ctx.checkpoint(state)
        parsed = parse_discuss(reply)
        if parsed.graph_src:
            await self._redraw(ctx, parsed.graph_src, parsed.answer)
        # Stored as data: who said what, and the answer; not the instructions that came with it.
        said = "Task: discussion.\n" + frame_message(user or "The interviewer", text)
        state.history = [*state.history, Turn(role="user", content=said), Turn(role="assistant", content=reply)]
        state.phase = Phase.DISCUSSING
        state.inflight = None

    async def _fold(self, ctx: Ctx, ask: str) -> None:
        """Keep the discussion within the token budget: fold the oldest turns into a running summary."""
        state = ctx.state
        plan = fold_plan(state.history, self.settings.context_budget_tokens,
                         keep_last=self.settings.context_keep_turns, summary=state.summary,
                         fixed_tokens=estimate_tokens(self.prompts.system) + estimate_tokens(ask))
        if plan.outcome is not FoldOutcome.FOLD:
            return
        prompt = self.prompts.render("summarize", problem=state.problem, summary=state.summary or "(none yet)",
                                     conversation=conversation_text(state.history[plan.start:plan.end]))
        try:
            result = await self._call(state, [Turn(role="user", content=prompt)])
        except LLMError as exc:   # no summary this time: the turn goes on with the full history
            log.warning("%s: summary call failed (%s); not folding this turn", ctx.key, exc.kind)
            return
        if result.text.strip():
            state.summary = result.text.strip()
            state.history = apply_fold(state.history, plan)
            log.info("%s: folded %d turns into the summary (%d -> ~%d tokens)", ctx.key, plan.count,
                     plan.tokens_now, plan.tokens_after)

    def _context(self, state: InterviewState, ask: str) -> list[Turn]:
        return context_turns(state.history, state.summary, graph=state.graph) + [Turn(role="user", content=ask)]

    async def _discuss_call(self, ctx: Ctx, ask: str, stream_id: str, pending: Pending) -> str | None:
        shown = ""

        async def preview(delta: str) -> None:
            nonlocal shown
            shown += delta
            if shown.strip():
                await ctx.preview(stream_id, lambda: discuss_preview(shown) or "…")

        await self._fold(ctx, ask)
        try:
            result = await self._call(ctx.state, self._context(ctx.state, ask), on_text=preview,
                                      cache_pin=design_prefix_len(ctx.state.history) or None)
        except LLMError as exc:
            await self.fail(ctx, pending, texts.model_failed(exc.user_message))
            return None
        reply = result.text.strip()
        if not reply:
            await self.fail(ctx, pending, texts.model_failed(LLMError("empty").user_message))
            return None
        return reply

    async def _redraw(self, ctx: Ctx, graph_src: str, answer: str) -> None:
        state = ctx.state
        board = await self.whiteboard.build(graph_src, state.usage, previous=state.graph, context=answer)
        if board.graph is None and not board.fallback:
            return
        state.revisions += 1
        if board.graph is not None:
            state.graph = board.graph
        md = f"### Updated diagram (revision {state.revisions})\n{board.markdown}"
        try:
            await ctx.post(OutMessage(kind=Kind.SECTION, section="diagram", markdown=neutralize_mentions(md),
                                      attachments=board.attachments))
        except DeliveryError as exc:
            log.error("%s: updated diagram not delivered: %s", ctx.key, exc)
            await self.fail(ctx, Pending(step="discuss", text="Please post the updated diagram again.",
                                         user="the interviewer"), texts.delivery_failed())

    # ---------------------------------------------------------- curveball
    async def curveball(self, ctx: Ctx) -> None:
        """One follow-up for the group to throw at the candidate: from the card, else written for this design."""
        state = ctx.state
        card = self._card(state)
        question = next_throwable(card, state.thrown) if card is not None else None
        if question is None:
            design = "\n\n".join(state.sections.values())
            ask = curveball_prompt(frame_problem(state.problem), design, state.thrown,
                                   directory=self.settings.prompts_dir)
            try:
                question = parse_curveball((await self._call(state, [Turn(role="user", content=ask)])).text)
            except LLMError as exc:
                await ctx.notice(exc.user_message, kind=Kind.ERROR)
                return
        if not question:
            await ctx.notice(texts.NO_CURVEBALL)
            return
        state.thrown.append(question)
        await ctx.notice(render_throwable(question), kind=Kind.CARD)

    # ---------------------------------------------------------------- end
    async def end(self, ctx: Ctx) -> None:
        state = ctx.state
        u = state.usage
        line = interview_usage_line(u, str(getattr(self.llm, "model", "")), self.settings.price_table,
                                    self.settings.price_currency)
        await ctx.notice(texts.wrap_up(line), kind=Kind.WRAP_UP)
        state.phase = Phase.ENDED
        state.pending = None


class SectionStream:
    """One sectioned reply: streamed, each section posted (and checkpointed) the moment it is complete."""

    def __init__(self, steps: Steps, ctx: Ctx, ask: str, catalogue: dict[str, str], *, step: Step):
        self.steps, self.ctx, self.ask, self.catalogue, self.step = steps, ctx, ask, catalogue, step
        self.order = list(catalogue)
        self.texts: list[str] = []
        self.posted: set[str] = set()

    @property
    def state(self) -> InterviewState:
        return self.ctx.state

    def _so_far(self, current: str = "") -> str:
        return "\n".join(t for t in [*self.texts, current] if t).strip()

    def _missing(self) -> list[str]:
        return [s for s in self.order if s not in self.posted]

    async def run(self, partial: str) -> None:
        state = self.state
        if partial:
            self.posted = {s for s in state.sections if s in self.catalogue}
            self.texts = [partial]
        else:
            state.sections = {}
        pending = Pending(step=self.step)
        try:
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
            return
        except DeliveryError as exc:
            log.error("%s: section not delivered: %s", self.ctx.key, exc)
            await self._failed(pending, texts.delivery_failed())
            return
        await self._finish()

    def _missing_prompt(self) -> str:
        missing = self._missing()
        return self.steps.prompts.render("design_missing", missing=", ".join(missing),
                                         section_list=section_list(self.catalogue, missing))

    async def _failed(self, pending: Pending, why: str) -> None:
        if self.posted:
            pending.partial = self._so_far()
        elif self.step == "design":
            self.state.phase = Phase.WAITING_ANSWERS
        else:
            self.state.phase = Phase.NEW
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

    async def _post(self, sid: str, body: str, current: str) -> None:
        if sid not in self.catalogue or sid in self.posted or not body.strip():
            return
        await self.steps.post_section(self.ctx, sid, body, self.catalogue, last=(sid == self.order[-1]),
                                      stream_id=f"{self.step}:{sid}")
        self.posted.add(sid)
        self.state.sections[sid] = body
        partial = self._so_far(current) if current else self._so_far()
        self.state.inflight = InFlight(event_id=self.ctx.event_id, step=self.step,
                                       partial=partial)
        await self.ctx.checkpoint(self.state)

    async def _finish(self) -> None:
        state, ctx = self.state, self.ctx
        full = self._so_far()
        state.inflight = None
        if not self.posted:
            raw = wrap_fenced_diagrams(MARKER_RE.sub("", full).strip(), self.steps.settings.diagram_width)
            if not raw:
                await self._failed(Pending(step=self.step), texts.model_failed(LLMError("empty").user_message))
                return
            # Off-format twice: show what the model wrote rather than lose it.
            try:
                await ctx.notice(texts.OFF_FORMAT)
                await ctx.post(OutMessage(kind=Kind.ANSWER, markdown=neutralize_mentions(raw), actions=[Action.END]))
            except DeliveryError:
                await self._failed(Pending(step=self.step), texts.delivery_failed())
                return
        else:
            try:
                await self._close_missing()
                card = self.steps._card(state) if self.steps.settings.interviewer_cards else None
                if card is not None and state.mode is Mode.INTERVIEW:   # something to push back with
                    await ctx.notice(render_group_follow_ups(card), kind=Kind.CARD, actions=[Action.END])
            except DeliveryError as exc:
                log.error("%s: closing notes not delivered: %s", ctx.key, exc)
        state.history = design_turns(state, self.ask) + [Turn(role="assistant", content=full)]
        state.phase = Phase.DISCUSSING

    async def _close_missing(self) -> None:
        missing = self._missing()
        if not missing:
            return
        names = ", ".join(heading(s, self.catalogue) for s in missing if s != "closing")
        if names:
            await self.ctx.notice(texts.skipped_sections(names))
        last = self.order[-1]
        if last in missing:
            closing = texts.DIAGRAM_CLOSING if self.catalogue is DIAGRAM_ONLY_SECTIONS else texts.DESIGN_CLOSING
            await self.ctx.post(OutMessage(kind=Kind.SECTION, section=last,
                                           markdown=f"### {heading(last, self.catalogue)}\n{closing}",
                                           actions=[Action.END]))
