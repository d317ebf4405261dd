"""Parsing the model's replies for the opening and the discussion (sections live in sections.py)."""
from __future__ import annotations

from dataclasses import dataclass

from .sections import QUESTIONS_MARKER_RE, hide_partial_marker
from .texts import ANSWER_PROMPT, QUESTIONS_HEADER

CHANGES_MARKER = "<<<changes>>>"
GRAPH_FENCE = "```graph"


def split_questions_preview(text: str) -> tuple[str, str]:
    """(intro, questions so far) of a questions reply still being written."""
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
        md += "\n\n" + ANSWER_PROMPT
    return md


def numbered(questions: list[str]) -> str:
    return "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))


@dataclass
class DiscussReply:
    answer: str
    changes: str
    graph_src: str | None


def discuss_preview(text: str) -> str:
    """What of a discussion reply may be shown while it is written: the answer part only."""
    return hide_partial_marker(text.split(CHANGES_MARKER)[0].split(GRAPH_FENCE)[0]).strip()


def parse_discuss(reply: str) -> DiscussReply:
    """Split a discussion reply into the answer, the list of changes and a revised graph (if any)."""
    answer, _, tail = reply.partition(CHANGES_MARKER)
    graph_src = None
    if GRAPH_FENCE in answer:   # the model put the graph before the marker
        answer, _, g = answer.partition(GRAPH_FENCE)
        graph_src = GRAPH_FENCE + g
    if GRAPH_FENCE in tail:
        tail, _, g = tail.partition(GRAPH_FENCE)
        graph_src = GRAPH_FENCE + g
    return DiscussReply(answer=answer.strip(), changes=tail.strip(), graph_src=graph_src)
