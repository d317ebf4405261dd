"""A Markdown transcript of an interview, for keeping or sharing after the session.

Built from the saved state only (no platform history is read: Slack's
`conversations.replies` is heavily rate limited), with the diagram as text and
as Mermaid source so it can be pasted into a doc that renders it.
"""
from __future__ import annotations

import re

from . import diagram as dg
from .framing import read_blocks
from .sections import DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS, extract_graph_block, heading
from .state import InterviewState, Mode


def discussion_message(prompt: str) -> str | None:
    """The interviewer's message inside a stored discussion prompt."""
    return next((b.text for b in read_blocks(prompt) if b.kind == "message"), None)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-") or "interview")


def build_transcript(state: InterviewState, *, width: int = 60) -> str:
    if state.mode is Mode.PRACTICE and state.practice is not None:
        from .practice.export import practice_transcript  # the practice package imports this module
        return practice_transcript(state)
    title = "Flow diagram" if state.mode is Mode.DIAGRAM else "Mock system design interview"
    out = [f"# {title}: {state.problem}", ""]
    if state.questions:
        out += ["## Clarifying questions", state.intro, ""]
        out += [f"{i}. {q}" for i, q in enumerate(state.questions, 1)] + [""]
        if state.answers:
            out += ["**Answers**"] + [f"- {a.user or 'interviewer'}: {a.text}" for a in state.answers] + [""]
        elif state.assumed_defaults:
            out += ["_The interviewer skipped the questions; the candidate assumed sensible defaults._", ""]
    catalogue = DIAGRAM_ONLY_SECTIONS if state.mode is Mode.DIAGRAM else DESIGN_SECTIONS
    graph = None
    if state.graph:
        try:
            graph = dg.parse_graph(state.graph)
        except dg.GraphError:
            graph = None
    for sid in catalogue:
        body = state.sections.get(sid)
        if not body:
            continue
        out.append(f"## {heading(sid, catalogue)}")
        if sid == "diagram":
            _, story = extract_graph_block(body)
            if graph is not None:
                drawn = dg.render_text(graph, width=width)
                out += ["```text", drawn.text.rstrip(), "```", "```text", drawn.legend.rstrip(), "```",
                        "", "Mermaid source:", "```mermaid", dg.to_mermaid(graph).rstrip(), "```"]
            out += ["", story]
        else:
            out.append(body)
        out.append("")
    discussion = []
    turns = state.history
    for i in range(len(turns) - 1):
        if turns[i].role == "user" and turns[i].content.startswith("Task: discussion."):
            message = discussion_message(turns[i].content)
            reply = turns[i + 1].content.split("```graph")[0].replace("<<<changes>>>", "**What changed**").strip()
            quoted = "\n> ".join((message or "(message)").strip().splitlines())
            discussion += [f"> {quoted}", "", reply, ""]
    if discussion:
        out += ["## Discussion", ""] + discussion
    u = state.usage
    out.append(f"_Model usage: {u.calls} calls, {u.input_tokens + u.cache_read_tokens + u.cache_write_tokens:,} "
               f"input tokens ({u.cache_read_tokens:,} from cache), {u.output_tokens:,} output tokens._")
    return "\n".join(out).strip() + "\n"
