"""The interview steps: questions, the sectioned design, a diagram, discussion, the end.

Each step talks to the model, posts through the turn's sink and updates the
state.  A step that posts several messages (the design) checkpoints the state
after each one (`section_stream.py`), so a turn cut short by a crash or a
shutdown continues after the last message posted instead of repeating or
skipping anything.  How the design is paced (all at once, or in interactive
steps) is `pace_flow.py`'s job.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from . import texts
from .budget import interview_usage_line
from .card_draft import curveball_prompt, parse_curveball
from .card_render import next_throwable, render_group_numbers, render_throwable
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
from .inbound import EventKind, Inbound
from .levels import Level, level_opening_note
from .llm import LLMError, LLMResult, ModelClient, TextCallback
from .messages import Action, DeliveryError, Kind, OutMessage, Sink
from .pace_flow import PaceFlow
from .pipeline import Stopped
from .prompts import Prompts, section_list
from .replies import discuss_preview, numbered, parse_discuss, questions_markdown, split_questions_preview
from .section_stream import PREVIEW_EVERY, done_actions
from .sections import DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS, heading, parse_questions
from .state import InFlight, InterviewState, Mode, Pending, Phase, Turn
from .whiteboard import WhiteboardMaker

log = logging.getLogger(__name__)

MIN_QUESTIONS, MAX_QUESTIONS = 2, 3

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
    received_at: float = 0.0      # when the event reached the bot (wall clock)

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
        await self.sink.partial(self.message_key(stream_id), neutralize_mentions(render()))

    def message_key(self, stream_id: str) -> str:
        """One message of this turn, the same when the turn is continued after a crash: the id that ties
        previews to their final message and lets a platform drop a repeated post."""
        return f"{self.event_id}:{stream_id}"

    async def schedule(self, name: str, delay: float) -> None:
        """Have `name` come back to this thread as a TIMER event in `delay` seconds, durably.

        The name must be unique per timer (it is the event id); a handler must expect a timer that
        the state no longer waits for (it is stored before the state that expects it is saved)."""
        if self.timers is None:
            raise RuntimeError("this turn cannot set timers")
        event = Inbound(kind=EventKind.TIMER, ref=self.state.ref, event_id=f"timer:{name}", text=name)
        await self.timers(event, time.time() + delay)

    async def recover_delivery(self) -> None:
        """This turn continues one cut short: let the platform skip what it already shows (see `Sink`)."""
        recover = getattr(self.sink, "recover", None)
        if recover is not None:
            await recover(f"{self.event_id}:")

    async def post(self, message: OutMessage) -> None:
        if self.stopping():
            raise Stopped(f"{self.key}: shutting down")
        if message.stream_id and message.dedupe_key is None:
            key = self.message_key(message.stream_id)
            message = message.model_copy(update={"dedupe_key": key, "stream_id": key})
        await self.sink.post(message)

    async def notice(self, markdown: str, kind: Kind = Kind.NOTICE, actions: list[Action] | None = None) -> None:
        await self.post(OutMessage(kind=kind, markdown=markdown, actions=actions or []))


class Steps:
    def __init__(self, settings, llm: ModelClient, prompts: Prompts, whiteboard: WhiteboardMaker):
        self.settings = settings
        self.llm = llm
        self.prompts = prompts
        self.whiteboard = whiteboard
        self.pace = PaceFlow(self)

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

    def design_ask(self, state: InterviewState, sections: dict[str, str] = DESIGN_SECTIONS) -> str:
        """The design prompt (for `sections`: an interactive step writes only some), or the diagram's."""
        if state.mode is Mode.DIAGRAM:
            return self.prompts.render("diagram_only", system=state.problem,
                                       section_list=section_list(DIAGRAM_ONLY_SECTIONS),
                                       level_note=design_extras(Level(state.level), depth=False, announce_level=True,
                                                                directory=self.settings.prompts_dir))
        skip_note = (" Open it with the answers you are assuming for your own questions."
                     if state.assumed_defaults else "")
        ask = self.prompts.render("design", answers_block=self._answers_block(state),
                                  section_list=section_list(sections), skip_note=skip_note)
        return ask + "\n\n" + design_extras(Level(state.level), directory=self.settings.prompts_dir)

    @staticmethod
    def _card(state: InterviewState) -> ProblemCard | None:
        return default_bank().get(state.card_id) if state.card_id else None

    async def present(self, ctx: Ctx, partial: str = "") -> None:
        """The design (or, in diagram mode, the diagram and walkthrough), section by section, at the
        interview's pace; `partial` continues a step cut short (a crash, or *retry*)."""
        await self.pace.present(ctx, partial)

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
                                  attachments=attachments, actions=done_actions(state) if last else [],
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
