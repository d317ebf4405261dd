"""The interview state machine: the one place that decides what happens next.

    new -> asking -> waiting_answers -> presenting -> discussing -> ended
    (diagram mode: new -> presenting -> discussing -> ended)

Every inbound event (a command, a thread reply, a button) runs as one *turn*:
drop it if its event id was seen, take the thread's lock, load the state, act,
save.  The state is saved only when a turn finishes, so a crash or a failing
model leaves the thread as it was; a model failure records a `Pending` step
that "retry" re-runs.
"""
from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Awaitable, Callable

from .formatting import neutralize_mentions
from .llm import LLM, LLMError, LLMResult
from .messages import Action, Attachment, Kind, OutMessage, Sink
from .problems import resolve_problem, suggestions
from .prompts import Prompts, section_list
from .sections import (DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS, MARKER_RE, QUESTIONS_MARKER_RE, SectionParser,
                       heading, hide_partial_marker, parse_questions)
from .state import Answer, InterviewState, Mode, Pending, Phase, ThreadRef, Turn
from .store import CorruptState, LockTimeout, SessionStore, StoreError, StoreUnavailable
from .transcript import build_transcript, slug
from .whiteboard import WhiteboardMaker

log = logging.getLogger(__name__)

MIN_QUESTIONS, MAX_QUESTIONS = 2, 3

# Asked when the model cannot produce two usable questions even on a second try.
DEFAULT_QUESTIONS = [
    "What scale should I plan for: roughly how many users, and how many requests per second at peak?",
    "Which core features are in scope for this round, and is anything explicitly out?",
    "What matters more here: low latency, high availability, or strong consistency?",
]

END_RE = re.compile(r"^\s*/?(end|stop|finish|quit)(\s+(the\s+)?(interview|session))?\s*[.!]*\s*$", re.I)
RETRY_RE = re.compile(r"^\s*/?(retry|try again|again)\s*[.!]*\s*$", re.I)
EXPORT_RE = re.compile(r"^\s*/?(export|transcript)\s*[.!]*\s*$", re.I)
HELP_RE = re.compile(r"^\s*/?help\s*[?!.]*\s*$", re.I)
SKIP_RE = re.compile(
    r"^\s*/?(skip|you decide|your call|up to you|assume|go ahead|no preference|whatever you think|"
    r"dealer'?s choice|use (sensible )?defaults|idk|not sure)\b", re.I)

STORE_DOWN = ("I can't reach my memory (the state store) right now, so I didn't change anything. "
              "The interview is safe; please send that again in a minute.")


class ThreadStatus(StrEnum):
    INTERVIEW = "interview"
    OTHER = "other"
    UNKNOWN = "unknown"


THREAD_HELP = (
    "**In this thread you can:**\n"
    "- answer my clarifying questions (anyone here can), or say *skip* and I'll assume sensible defaults\n"
    "- give feedback or a new requirement, and I'll revise the design\n"
    "- ask me to *describe the diagram*, or *dig into* any component\n"
    "- say *export* for a Markdown transcript (with Mermaid source for the diagram)\n"
    "- say *retry* if something failed, or *end* to wrap up"
)


def usage_help(command: str = "/interview") -> str:
    ideas = ", ".join(f"*{p}*" for p in suggestions(3, diagram=command == "/diagram"))
    return (
        f"**How to use me:** `/interview <problem>` starts a mock system design interview in a thread, "
        "for example `/interview Design a URL shortener`. I restate the problem, ask 2–3 clarifying "
        "questions, wait for your answers, then walk through the design one section at a time.\n"
        "`/diagram <system>` gives just an interview-ready flow diagram with a legend and walkthrough.\n"
        f"Need an idea? Try `{command} random`, or one of: {ideas}."
    )


def check_problem(text: str | None, limit: int, command: str = "/interview") -> str | None:
    """None if the problem text is usable, else the message to show the user."""
    text = (text or "").strip()
    if not text:
        return usage_help(command)
    if len(text) > limit:
        return (f"That problem is {len(text):,} characters; the limit is {limit:,}. "
                "Please shorten it to the core of the system you want designed.")
    return None


QUESTIONS_HEADER = "**A few quick questions before I design anything:**"


def _split_q(text: str) -> tuple[str, str]:
    m = QUESTIONS_MARKER_RE.search(text)
    if m is None:
        return hide_partial_marker(text), ""
    return text[: m.start()], hide_partial_marker(text[m.end():])


def questions_markdown(intro: str, numbered: str, *, final: bool) -> str:
    """The questions message; previews use the same layout so the final text extends them."""
    intro, numbered = intro.strip(), numbered.strip()
    md = intro
    if numbered:
        md += f"\n\n{QUESTIONS_HEADER}\n{numbered}"
    if final:
        md += "\n\n_Answer here in the thread (anyone can), or say *skip* and I'll assume sensible defaults._"
    return md


def design_turns(state: InterviewState, user_prompt: str, partial: str = "") -> list[Turn]:
    turns = list(state.history) + [Turn(role="user", content=user_prompt)]
    if partial:
        turns.append(Turn(role="assistant", content=partial))
    return turns


class Engine:
    """Platform-free interview engine; adapters call `start`, `handle_message`, `handle_action`."""

    def __init__(self, settings, store: SessionStore, llm: LLM, prompts: Prompts, *, png: bool = True):
        self.settings = settings
        self.store = store
        self.llm = llm
        self.prompts = prompts
        self.whiteboard = WhiteboardMaker(llm, prompts, width=settings.diagram_width,
                                          ascii_only=settings.diagram_ascii, png=png)

    # ------------------------------------------------------------------ API
    def key(self, ref: ThreadRef) -> str:
        return ref.key(self.store.prefix)

    async def thread_status(self, ref: ThreadRef) -> ThreadStatus:
        """Is this thread an interview? UNKNOWN when the store cannot be reached.

        Adapters ignore OTHER threads silently; for UNKNOWN they may tell the
        user that the bot's memory is down, if the platform shows the thread
        was started by the bot (so chatter elsewhere never gets an error).
        """
        try:
            found = await self.store.load(self.key(ref)) is not None
        except CorruptState:
            return ThreadStatus.INTERVIEW  # it was ours; the turn will explain the problem
        except StoreUnavailable:
            return ThreadStatus.UNKNOWN
        return ThreadStatus.INTERVIEW if found else ThreadStatus.OTHER

    async def is_interview(self, ref: ThreadRef) -> bool:
        return await self.thread_status(ref) is ThreadStatus.INTERVIEW

    async def first_delivery(self, event_id: str) -> bool:
        """For adapters that must drop a repeated command before a thread exists.

        Raises `StoreUnavailable`; answer with `STORE_DOWN` in that case.
        """
        return await self.store.first_delivery(event_id)

    async def start(self, ref: ThreadRef, problem: str, *, mode: Mode = Mode.INTERVIEW, user: str = "",
                    sink: Sink, event_id: str | None = None) -> bool:
        """Begin an interview (or diagram) in a new thread. False if refused or a duplicate."""
        command = "/diagram" if mode is Mode.DIAGRAM else "/interview"
        problem = resolve_problem(problem, diagram=mode is Mode.DIAGRAM)
        refusal = check_problem(problem, self.settings.max_problem_chars, command)
        if refusal:
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=refusal))
            return False

        async def act(state: InterviewState | None) -> InterviewState | None:
            if state is not None and state.phase is not Phase.ENDED:
                await sink.post(OutMessage(kind=Kind.NOTICE, markdown="An interview is already running in this thread."))
                return None
            state = InterviewState(ref=ref, problem=problem, mode=mode, started_by=user)
            if mode is Mode.DIAGRAM:
                await self._diagram_only(state, sink)
            else:
                await self._ask_questions(state, sink)
            return state

        return await self._turn(ref, sink, event_id, act)

    async def handle_message(self, ref: ThreadRef, text: str, *, user: str = "", sink: Sink,
                             event_id: str | None = None) -> bool:
        """A reply in a thread. Returns False if the thread is not an interview."""
        text = (text or "").strip()

        async def act(state: InterviewState | None) -> InterviewState | None:
            if state is None:
                return None
            return await self._on_message(state, text, user, sink)

        return await self._turn(ref, sink, event_id, act, require_state=True)

    async def handle_action(self, ref: ThreadRef, action: Action, *, user: str = "", sink: Sink,
                            event_id: str | None = None) -> bool:
        """A button press."""
        word = {Action.SKIP: "skip", Action.END: "end", Action.RETRY: "retry"}[action]

        async def act(state: InterviewState | None) -> InterviewState | None:
            if state is None:
                return None
            if action is Action.SKIP and state.phase is not Phase.WAITING_ANSWERS:
                await sink.post(OutMessage(kind=Kind.NOTICE, markdown="We're already past the questions."))
                return None
            return await self._on_message(state, word, user, sink)

        return await self._turn(ref, sink, event_id, act, require_state=True)

    # ------------------------------------------------------------- plumbing
    async def _turn(self, ref: ThreadRef, sink: Sink, event_id: str | None,
                    act: Callable[[InterviewState | None], Awaitable[InterviewState | None]],
                    require_state: bool = False) -> bool:
        key = self.key(ref)
        try:
            if event_id and not await self.store.first_delivery(event_id):
                log.info("duplicate delivery %s ignored", event_id)
                return False
            async with self.store.lock(key):
                try:
                    state = await self.store.load(key)
                except CorruptState as exc:
                    log.warning("corrupt state at %s: %s", key, exc)
                    if require_state:
                        await sink.post(OutMessage(kind=Kind.ERROR, markdown=(
                            f"I couldn't read this thread's saved interview ({exc}). Nothing else was changed. "
                            "Start a fresh one with `/interview <problem>` (or `/diagram <system>`).")))
                        return True
                    state = None
                if state is None and require_state:
                    return False
                new_state = await act(state)
                if new_state is not None:
                    new_state.touch()
                    await self.store.save(new_state)
                return True
        except LockTimeout:
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                "I'm still working on an earlier message in this thread. Send yours again in a moment.")))
            return True
        except StoreUnavailable as exc:
            log.error("store unavailable: %s", exc)
            await sink.post(OutMessage(kind=Kind.ERROR, markdown=STORE_DOWN))
            return True
        except StoreError as exc:  # pragma: no cover - defensive
            log.error("store error: %s", exc)
            await sink.post(OutMessage(kind=Kind.ERROR, markdown="Something went wrong with my saved state; nothing was changed."))
            return True

    async def _on_message(self, state: InterviewState, text: str, user: str, sink: Sink) -> InterviewState | None:
        if not text:
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown="That message was empty. " + THREAD_HELP))
            return None
        if HELP_RE.match(text):
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=THREAD_HELP))
            return None
        if EXPORT_RE.match(text) and state.sections:
            doc = build_transcript(state, width=self.settings.diagram_width)
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown="Here's the transcript of this interview.",
                                       attachments=[Attachment(filename=f"{slug(state.problem)}.md",
                                                               data=doc.encode(), mime="text/markdown")]))
            return None
        if state.phase is Phase.ENDED:
            if state.ended_notice_sent:
                return None
            state.ended_notice_sent = True
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                "This interview has ended. Start a new one with `/interview <problem>`.")))
            return state
        if END_RE.match(text):
            return await self._end(state, user, sink)
        if state.pending is not None:
            if RETRY_RE.match(text):
                return await self._retry(state, sink)
        elif RETRY_RE.match(text):
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown="Nothing to retry: the last step worked."))
            return None
        if len(text) > self.settings.max_answer_chars:
            limit = self.settings.max_answer_chars
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                f"Your message was {len(text):,} characters; I read the first {limit:,}.")))
            text = text[:limit]
        if state.phase in (Phase.NEW, Phase.ASKING):
            # The opening failed earlier: the only way forward is retry.
            what = "draw the diagram" if state.mode is Mode.DIAGRAM else "ask my questions"
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                f"I haven't managed to {what} yet. Say *retry* and I'll try again.")))
            return None
        if state.phase in (Phase.WAITING_ANSWERS, Phase.PRESENTING) and state.mode is Mode.INTERVIEW \
                and not state.sections.get("closing"):
            state.pending = None
            skipped = bool(SKIP_RE.match(text))
            if skipped:
                state.assumed_defaults = True
                await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                    "No problem: I'll assume sensible defaults, say what they are, and get going.")))
            else:
                state.answers.append(Answer(user=user, text=text))
            await self._present_design(state, sink)
            return state
        state.pending = None
        await self._discuss(state, text, user, sink)
        return state

    async def _retry(self, state: InterviewState, sink: Sink) -> InterviewState:
        pending = state.pending
        assert pending is not None
        await sink.post(OutMessage(kind=Kind.NOTICE, markdown="Retrying…"))
        state.pending = None
        if pending.step == "questions":
            await self._ask_questions(state, sink)
        elif pending.step == "diagram":
            await self._diagram_only(state, sink)
        elif pending.step == "design":
            await self._present_design(state, sink, partial=pending.partial)
        else:
            await self._discuss(state, pending.text, pending.user, sink)
        return state

    async def _fail(self, state: InterviewState, sink: Sink, exc: LLMError, pending: Pending) -> None:
        log.warning("model call failed (%s) in step %s", exc, pending.step)
        state.pending = pending
        await sink.post(OutMessage(kind=Kind.ERROR, actions=[Action.RETRY], markdown=(
            f"{exc.user_message} Nothing is lost: say *retry* (or press Retry) and I'll carry on from here.")))

    async def _call(self, state: InterviewState, turns: list[Turn], on_text=None, **kw) -> LLMResult:
        result = await self.llm.complete(self.prompts.system, turns, on_text=on_text, **kw)
        state.usage.add(result.usage)
        return result

    # ---------------------------------------------------------------- steps
    async def _ask_questions(self, state: InterviewState, sink: Sink) -> None:
        state.phase = Phase.ASKING
        ask = self.prompts.render("clarify", problem=state.problem, min_q=MIN_QUESTIONS, max_q=MAX_QUESTIONS)
        stream_id = "questions"
        shown = ""

        async def preview(delta: str) -> None:
            nonlocal shown
            shown += delta
            intro, tail = _split_q(shown)
            await sink.partial(stream_id, neutralize_mentions(questions_markdown(intro, tail, final=False)))

        try:
            result = await self._call(state, [Turn(role="user", content=ask)], on_text=preview)
            intro, questions = parse_questions(result.text)
            if len(questions) < MIN_QUESTIONS:
                fix = self.prompts.render("clarify_fix", count=len(questions), min_q=MIN_QUESTIONS, max_q=MAX_QUESTIONS)
                retry_turns = [Turn(role="user", content=ask), Turn(role="assistant", content=result.text.strip() or "(no answer)"),
                               Turn(role="user", content=fix)]
                second = await self._call(state, retry_turns)
                intro2, questions2 = parse_questions(second.text)
                if len(questions2) >= len(questions):
                    questions, intro = questions2, (intro2 or intro)
        except LLMError as exc:
            state.phase = Phase.NEW
            await self._fail(state, sink, exc, Pending(step="questions"))
            return
        for q in DEFAULT_QUESTIONS:
            if len(questions) >= MIN_QUESTIONS:
                break
            questions.append(q)
        questions = questions[:MAX_QUESTIONS]
        intro = intro or f"So the task is: {state.problem}. Before I sketch anything, a few quick questions."
        state.intro, state.questions = intro, questions
        canonical = intro + "\n<<<questions>>>\n" + "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
        state.history = [Turn(role="user", content=ask), Turn(role="assistant", content=canonical)]
        numbered = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
        md = questions_markdown(intro, numbered, final=True)
        await sink.post(OutMessage(kind=Kind.QUESTIONS, markdown=neutralize_mentions(md), stream_id=stream_id,
                                   actions=[Action.SKIP]))
        state.phase = Phase.WAITING_ANSWERS

    def _answers_block(self, state: InterviewState) -> str:
        if state.assumed_defaults and not state.answers:
            return ("The interviewer skipped the questions and asked you to decide. Assume sensible answers "
                    "for this kind of system and state them clearly.")
        lines = [f"- {a.user or 'interviewer'}: {a.text}" for a in state.answers]
        extra = ("\nFor anything they did not answer, assume sensible values and say so."
                 if state.assumed_defaults or len(state.answers) < 2 else "")
        return "The interviewer's answers to your questions:\n" + "\n".join(lines) + extra

    async def _present_design(self, state: InterviewState, sink: Sink, partial: str = "") -> None:
        state.phase = Phase.PRESENTING
        skip_note = (" Open it with the answers you are assuming for your own questions."
                     if state.assumed_defaults else "")
        ask = self.prompts.render("design", answers_block=self._answers_block(state),
                                  section_list=section_list(DESIGN_SECTIONS), skip_note=skip_note)
        await self._stream_sections(state, sink, ask, DESIGN_SECTIONS, step="design", partial=partial)

    async def _diagram_only(self, state: InterviewState, sink: Sink) -> None:
        state.phase = Phase.PRESENTING
        ask = self.prompts.render("diagram_only", system=state.problem,
                                  section_list=section_list(DIAGRAM_ONLY_SECTIONS))
        state.history = []
        await self._stream_sections(state, sink, ask, DIAGRAM_ONLY_SECTIONS, step="diagram")

    async def _stream_sections(self, state: InterviewState, sink: Sink, ask: str, catalogue: dict[str, str],
                               *, step: str, partial: str = "") -> None:
        """Stream a sectioned reply, posting each section the moment it is complete."""
        order = list(catalogue)
        posted: set[str] = set(s for s in state.sections if s in catalogue and partial)
        if not partial:
            state.sections = {}
        texts: list[str] = [partial] if partial else []

        async def post_section(sid: str, body: str) -> None:
            if sid not in catalogue or sid in posted or not body.strip():
                return
            posted.add(sid)
            state.sections[sid] = body
            await self._post_section(state, sink, sid, body, catalogue, last=(sid == order[-1]),
                                     stream_id=f"{step}:{sid}")

        async def run(turns: list[Turn]) -> None:
            parser = SectionParser(catalogue)
            buf: list[str] = []

            async def on_text(delta: str) -> None:
                buf.append(delta)
                for sid, body in parser.feed(delta):
                    await post_section(sid, body)
                sid, body = parser.current()
                if sid in catalogue and sid not in posted and body:
                    preview = "_Drawing the diagram…_" if sid == "diagram" else body
                    await sink.partial(f"{step}:{sid}", neutralize_mentions(
                        f"### {heading(sid, catalogue)}\n{preview}"))

            try:
                await self._call(state, turns, on_text=on_text)
            finally:
                texts.append("".join(buf))
            for sid, body in parser.finish():
                await post_section(sid, body)

        try:
            turns = design_turns(state, ask, partial)
            if partial:
                missing = [s for s in order if s not in posted]
                turns.append(Turn(role="user", content=self.prompts.render(
                    "design_missing", missing=", ".join(missing), section_list=section_list(catalogue, missing))))
            await run(turns)
            missing = [s for s in order if s not in posted]
            if missing:
                # One repair round: ask only for what is missing.
                so_far = "\n".join(t for t in texts if t).strip() or "(empty answer)"
                fix = self.prompts.render("design_missing", missing=", ".join(missing),
                                          section_list=section_list(catalogue, missing))
                await run(design_turns(state, ask, so_far) + [Turn(role="user", content=fix)])
                missing = [s for s in order if s not in posted]
        except LLMError as exc:
            so_far = "\n".join(t for t in texts if t).strip()
            await self._fail(state, sink, exc, Pending(step=step, partial=so_far if posted else ""))
            if not posted:
                state.phase = Phase.WAITING_ANSWERS if step == "design" else Phase.NEW
            return
        full = "\n".join(t for t in texts if t).strip()
        if not posted:
            raw = MARKER_RE.sub("", full).strip()
            if not raw:
                state.phase = Phase.WAITING_ANSWERS if step == "design" else Phase.NEW
                await self._fail(state, sink, LLMError("empty"), Pending(step=step))
                return
            # Off-format twice: show what the model wrote rather than lose it.
            await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                "My answer came out without its usual sections, so here it is as written. "
                "Ask me for any part you want in more detail.")))
            await sink.post(OutMessage(kind=Kind.ANSWER, markdown=neutralize_mentions(raw), actions=[Action.END]))
            state.history = design_turns(state, ask) + [Turn(role="assistant", content=full)]
            state.phase = Phase.DISCUSSING
            return
        if missing:
            names = ", ".join(heading(s, catalogue) for s in missing if s != "closing")
            if names:
                await sink.post(OutMessage(kind=Kind.NOTICE, markdown=(
                    f"I skipped {names} for time. Ask me about it if you want it covered.")))
            if order[-1] in missing:
                closing = ("That's my design. What would you like to push on: a requirement to change, "
                           "a component to dig into, or shall I describe the diagram?")
                if catalogue is DIAGRAM_ONLY_SECTIONS:
                    closing = "Want me to dig into any part of this, or change something?"
                await sink.post(OutMessage(kind=Kind.SECTION, section=order[-1],
                                           markdown=f"### {heading(order[-1], catalogue)}\n{closing}",
                                           actions=[Action.END]))
        state.history = design_turns(state, ask) + [Turn(role="assistant", content=full)]
        state.phase = Phase.DISCUSSING

    async def _post_section(self, state: InterviewState, sink: Sink, sid: str, body: str,
                            catalogue: dict[str, str], *, last: bool, stream_id: str) -> None:
        title = heading(sid, catalogue)
        attachments = []
        if sid == "diagram":
            board = await self.whiteboard.build(body, state.usage, previous=None,
                                                context=state.sections.get("high_level", "") or state.problem)
            state.graph = board.graph
            body, attachments = board.markdown, board.attachments
        md = f"### {title}\n{body}"
        actions = [Action.END] if last else []
        await sink.post(OutMessage(kind=Kind.SECTION, section=sid, markdown=neutralize_mentions(md),
                                   attachments=attachments, actions=actions, stream_id=stream_id))

    async def _discuss(self, state: InterviewState, text: str, user: str, sink: Sink) -> None:
        ask = self.prompts.render("discuss", user=user or "The interviewer", message=text, problem=state.problem)
        stream_id = f"discuss:{len(state.history)}"
        shown = ""

        async def preview(delta: str) -> None:
            nonlocal shown
            shown += delta
            visible = hide_partial_marker(shown.split("<<<changes>>>")[0].split("```graph")[0])
            if visible.strip():
                await sink.partial(stream_id, neutralize_mentions(visible.strip()))

        try:
            result = await self._call(state, design_turns(state, ask), on_text=preview)
        except LLMError as exc:
            await self._fail(state, sink, exc, Pending(step="discuss", text=text, user=user))
            return
        reply = result.text.strip()
        if not reply:
            await self._fail(state, sink, LLMError("empty"), Pending(step="discuss", text=text, user=user))
            return
        answer, _, tail = reply.partition("<<<changes>>>")
        graph_src = None
        if "```graph" in answer:  # the model put the graph before the marker
            answer, _, g = answer.partition("```graph")
            graph_src = "```graph" + g
        if "```graph" in tail:
            changes_text, _, g = tail.partition("```graph")
            graph_src = "```graph" + g
        else:
            changes_text = tail
        answer_md = answer.strip()
        if changes_text.strip():
            answer_md += "\n\n**What changed**\n" + changes_text.strip()
        await sink.post(OutMessage(kind=Kind.ANSWER, markdown=neutralize_mentions(answer_md), stream_id=stream_id))
        if graph_src:
            board = await self.whiteboard.build(graph_src, state.usage, previous=state.graph,
                                                context=answer)
            if board.graph is not None or board.fallback:
                state.revisions += 1
                if board.graph is not None:
                    state.graph = board.graph
                await sink.post(OutMessage(kind=Kind.SECTION, section="diagram",
                                           markdown=neutralize_mentions(f"### Updated diagram (revision {state.revisions})\n{board.markdown}"),
                                           attachments=board.attachments))
        state.history = design_turns(state, ask) + [Turn(role="assistant", content=reply)]
        state.phase = Phase.DISCUSSING

    async def _end(self, state: InterviewState, user: str, sink: Sink) -> InterviewState:
        state.phase = Phase.ENDED
        state.pending = None
        u = state.usage
        md = ("That's a wrap! Thanks for the interview. "
              "Say *export* for a transcript, or start another any time with `/interview <problem>`.\n"
              f"_Model usage for this interview: {u.calls} calls, "
              f"{u.input_tokens + u.cache_read_tokens + u.cache_write_tokens:,} input tokens "
              f"({u.cache_read_tokens:,} read from cache), {u.output_tokens:,} output tokens._")
        await sink.post(OutMessage(kind=Kind.NOTICE, markdown=md))
        return state
