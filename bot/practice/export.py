"""A practice interview as Markdown (`export`): the conversation, watchers' notes, and the scorecard."""
from __future__ import annotations

from datetime import UTC, datetime

from ..messages import Attachment, Kind, OutMessage
from ..state import InterviewState
from ..transcript import build_transcript, slug
from .model import Speaker

TRANSCRIPT = "Here's the transcript of this practice interview."


def practice_transcript(state: InterviewState) -> str:
    p = state.practice
    assert p is not None
    out = [f"# Practice interview: {state.problem}", ""]
    if p.clock is not None:
        day = datetime.fromtimestamp(p.clock.started_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        out += [f"_Candidate: {p.candidate or 'someone'} · started {day} · aimed for {state.level} · "
                f"hints used: {p.hints}_", ""]
    out += ["## Interview", ""]
    for turn in p.transcript:
        if turn.speaker is Speaker.WATCHER:
            continue
        name = "Interviewer" if turn.speaker is Speaker.INTERVIEWER else (turn.who or "Candidate")
        out += [f"**{name}:**", turn.text.strip(), ""]
    notes = [t for t in p.transcript if t.speaker is Speaker.WATCHER]
    if notes:
        out += ["## Notes from watchers", ""] + [f"- {t.who or 'someone'}: {t.text.strip()}" for t in notes] + [""]
    out += ["## Scorecard", "", p.scorecard_md or "_No scorecard yet (the interview has not ended)._", ""]
    return "\n".join(out).strip() + "\n"


def export_message(state: InterviewState, width: int) -> OutMessage:
    doc = build_transcript(state, width=width)
    return OutMessage(kind=Kind.NOTICE, markdown=TRANSCRIPT, attachments=[
        Attachment(filename=f"practice-{slug(state.problem)}.md", data=doc.encode(), mime="text/markdown")])
