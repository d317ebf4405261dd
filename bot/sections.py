"""The design's sections and the parser that cuts a streamed reply into them.

The model marks each section with a line `<<<section:ID>>>`.  Parsing is
incremental so a finished section can be posted while the model is still
writing the next one; that is what makes the bot feel alive in a thread.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Fixed order of an interview's design, with the heading the bot shows.
DESIGN_SECTIONS: dict[str, str] = {
    "scope": "Problem and scope",
    "functional": "Functional requirements",
    "non_functional": "Non-functional requirements",
    "api": "API contracts",
    "high_level": "High-level design",
    "diagram": "Architecture diagram",
    "deep_dive": "Deep dive",
    "scaling": "Scaling, failures and security",
    "assumptions": "Assumptions and simplifications",
    "closing": "Over to you",
}

DIAGRAM_ONLY_SECTIONS: dict[str, str] = {
    "diagram": "Flow diagram",
    "walkthrough": "Walkthrough",
}

MARKER_RE = re.compile(r"^[ \t*#`]*<<<\s*section\s*:\s*([a-z_]+)\s*>>>[^\n]*$", re.IGNORECASE | re.MULTILINE)
QUESTIONS_MARKER_RE = re.compile(r"^\s*<<<\s*questions\s*>>>\s*$", re.IGNORECASE | re.MULTILINE)
GRAPH_BLOCK_RE = re.compile(r"```graph[^\n]*\n(.*?)(?:\n```|\Z)", re.DOTALL)


def hide_partial_marker(text: str) -> str:
    """Drop a last line that may be a `<<<...>>>` marker still being typed."""
    head, _, last = text.rpartition("\n")
    if last.lstrip().startswith("<") and ">>>" not in last:
        return head
    return text


def marker(section_id: str) -> str:
    return f"<<<section:{section_id}>>>"


def heading(section_id: str, catalogue: dict[str, str]) -> str:
    return catalogue.get(section_id, section_id.replace("_", " ").capitalize())


@dataclass
class SectionParser:
    """Feed text deltas; get back sections as soon as they are complete."""

    allowed: dict[str, str]
    buffer: str = ""
    preamble: str = ""
    done: list[tuple[str, str]] = field(default_factory=list)
    _current: str | None = None
    _body_start: int = 0

    def feed(self, delta: str) -> list[tuple[str, str]]:
        """Add text; return sections completed by it, in order."""
        self.buffer += delta
        finished: list[tuple[str, str]] = []
        while True:
            # Only look at whole lines: a marker split across deltas must wait.
            m = None
            for cand in MARKER_RE.finditer(self.buffer, self._body_start):
                if self.buffer.find("\n", cand.end()) != -1 or cand.end() < len(self.buffer):
                    m = cand
                    break
            if m is None:
                break
            body = self.buffer[self._body_start:m.start()]
            if self._current is None:
                self.preamble += body
            else:
                finished.append(self._close(self._current, body))
            sid = m.group(1).lower()
            self._current = sid
            self._body_start = m.end()
        return [f for f in finished if f[1] or f[0]]

    def _close(self, sid: str, body: str) -> tuple[str, str]:
        item = (sid, body.strip())
        self.done.append(item)
        return item

    def current(self) -> tuple[str | None, str]:
        """The section being written and its text so far (for live previews)."""
        return self._current, hide_partial_marker(self.buffer[self._body_start:]).strip()

    def finish(self) -> list[tuple[str, str]]:
        """End of stream: close the last section."""
        body = self.buffer[self._body_start:]
        if self._current is None:
            self.preamble += body
            return []
        sid, self._current = self._current, None
        self._body_start = len(self.buffer)
        return [self._close(sid, body)]

    def sections(self) -> dict[str, str]:
        """Known, non-empty sections (the last copy wins if the model repeats one)."""
        out: dict[str, str] = {}
        for sid, body in self.done:
            if sid in self.allowed and body.strip():
                out[sid] = body.strip()
        return out


def parse_sections(text: str, allowed: dict[str, str]) -> tuple[dict[str, str], str]:
    """Whole-text variant: (sections by id, text before the first marker)."""
    p = SectionParser(allowed)
    p.feed(text + "\n")
    p.finish()
    return p.sections(), p.preamble.strip()


_QUESTION_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•]|Q\d+[:.)])\s+(.+\S)\s*$")


def parse_questions(text: str) -> tuple[str, list[str]]:
    """Split a clarifying reply into (restatement, questions).

    Prefers the `<<<questions>>>` marker; without it, falls back to numbered
    or bulleted lines that end in a question mark.
    """
    m = QUESTIONS_MARKER_RE.search(text)
    if m:
        intro, tail = text[: m.start()].strip(), text[m.end():]
        qs = [q.group(1).strip() for line in tail.splitlines() if (q := _QUESTION_LINE.match(line))]
        if not qs:
            qs = [line.strip() for line in tail.splitlines() if line.strip().endswith("?")]
        return intro, qs
    lines = text.splitlines()
    qs, first = [], None
    for idx, line in enumerate(lines):
        q = _QUESTION_LINE.match(line)
        if q and q.group(1).rstrip("*_ ").endswith("?"):
            qs.append(q.group(1).strip())
            first = idx if first is None else first
    intro = "\n".join(lines[:first]).strip() if first is not None else text.strip()
    return intro, qs


def extract_graph_block(body: str) -> tuple[str | None, str]:
    """Pull the ```graph JSON out of a diagram section: (json or None, the rest)."""
    m = GRAPH_BLOCK_RE.search(body)
    if not m:
        return None, body.strip()
    rest = (body[: m.start()] + body[m.end():]).strip()
    return m.group(1).strip(), rest
