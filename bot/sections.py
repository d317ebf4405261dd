"""The design's sections and the parser that cuts a streamed reply into them.

The model marks each section with a line `<<<section:ID>>>`; when it drifts
into ordinary Markdown titles the parser maps them to sections by meaning
(see `bot.titles`).  Parsing is incremental so a finished section can be
posted while the model is still writing the next one; that is what makes the
bot feel alive in a thread.
"""
from __future__ import annotations

import re

from .titles import Style, Title, marker_id, read_title, section_for, words_of

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


class SectionParser:
    """Feed text deltas; get back each section once, as soon as it is complete.

    A section starts at a `<<<section:ID>>>` marker or, when the model drifted
    into Markdown, at a title line (`## API design`, `**Deep dive**`,
    `3. Scaling`) whose words name a section of the catalogue.  Rules, applied
    line by line so that the result never depends on how the text was chunked:

    - Once a marker has been seen, only markers start sections (titles inside
      a section are its own sub-headings).
    - A title deeper than the one that opened the section being written
      (`###` under `##`, a bold line under `##`) is a sub-heading and stays in
      the body, except under an H1, which is often the reply's own title.  Once
      a title style has started two sections it is the document's style, and
      every weaker title is a sub-heading.  Titles inside code fences never count.
    - A title naming the section being written merges into it (the repeated
      title line is dropped when nothing came before it in the section).
    - A title (or marker) naming a section already emitted does not start a
      section: nothing is ever emitted twice.  If the text under it repeats
      that section (most of its words are already there) it is dropped;
      otherwise it stays, under its title, in the section being written, so
      nothing new is lost ("## Capacity estimates" late in a reply).
    - A plain numbered line ("3. Scaling") is a title only when it carries on
      the titles' numbering and does not carry on a list of the section.
    - A title that names no section is ordinary body text; an unknown marker
      is dropped and its text joins the section being written.
    - Text before the first section is kept as `intro`.
    """

    def __init__(self, allowed: dict[str, str]):
        self.allowed = allowed
        self._tail = ""
        self._intro: list[str] = []
        self._sid: str | None = None
        self._lines: list[str] = []
        self._dups: list[tuple[int, str, bool]] = []  # repeats of emitted sections: (first line, id, titled)
        self._bodies: dict[str, str] = {}
        self._started: dict[Style, int] = {}   # sections started by each title style
        self._style: Style | None = None        # the style of the title that started this section
        self._markers = False
        self._fence: str | None = None
        self._last_number = 0
        self._item = -1             # number of the last numbered list item in the section
        self._item_shape = ""        # and its shape: "title" ("2. Latency"), "label" ("2. Latency: 50 ms") or "text"
        self.emitted: list[tuple[str, str]] = []

    # ------------------------------------------------------------ public API
    def feed(self, delta: str) -> list[tuple[str, str]]:
        """Add text; return the sections it completed, in order."""
        self._tail += delta
        if "\n" not in self._tail:
            return []
        *lines, self._tail = self._tail.split("\n")
        out: list[tuple[str, str]] = []
        for line in lines:
            out += self._line(line)
        return out

    def current(self) -> tuple[str | None, str]:
        """The section being written and its text so far (for live previews)."""
        tail = "" if _may_become_title(self._tail) else self._tail
        if self._sid is None:
            return None, "\n".join(self._intro + [tail]).strip()
        if self._dups:
            return self._sid, "\n".join(self._lines[: self._dups[0][0]]).strip()
        return self._sid, "\n".join(self._lines + [tail]).strip()

    def finish(self) -> list[tuple[str, str]]:
        """End of stream: the last line is complete, close the last section."""
        out = self._line(self._tail) if self._tail else []
        self._tail = ""
        return out + self._close()

    @property
    def intro(self) -> str:
        """Text before the first section."""
        return "\n".join(self._intro).strip()

    # ------------------------------------------------------------ one line
    def _line(self, line: str) -> list[tuple[str, str]]:
        found = marker_id(line, self.allowed)
        if found is not None:
            return self._marker_line(line, *found)
        fence = _fence_of(line)
        if self._fence is not None:
            if fence is not None and fence.startswith(self._fence) and not line.strip()[len(fence):].strip():
                self._fence = None
            self._body(line)
            return []
        if fence is not None:
            self._fence = fence
            self._body(line)
            return []
        title = read_title(line)
        if title is not None and title.style is Style.NUMBERED and not self._next_number(title.number, line):
            title = None      # an item of a numbered list inside the section
        if title is None:
            self._body(line)
            return []
        sid = section_for(title.text, self.allowed)
        if sid is not None and sid == self._sid:
            if any(x.strip() for x in self._lines) or not self._repeats_heading(title, sid):
                self._body(line)      # a sub-heading or label of the section being written
            return []
        if sid is None or not self._starts_section(title):
            self._body(line)
            return []
        if title.number is not None:
            self._last_number = title.number
        self._started[title.style] = self._started.get(title.style, 0) + 1
        self._style = title.style
        if sid in self._bodies:
            self._repeat(sid, line)
            return []
        return self._start(sid)

    def _repeats_heading(self, title: Title, sid: str) -> bool:
        """A title line that only repeats the heading the bot shows anyway: the catalogue's own
        words, a Markdown title right after a marker, or the same title style opening it again.
        A deeper title ("### Components" under "## High-level design") is a real sub-heading."""
        if words_of(title.text) == words_of(self.allowed[sid]):
            return True
        if self._markers:
            return title.style <= Style.H6
        return self._style is not None and title.style <= self._style

    def _starts_section(self, title: Title) -> bool:
        if self._markers:
            return False      # the reply follows the marker contract: titles are sub-headings
        # The document's title style: the strongest one that has started two sections.  One title
        # alone does not count ("# URL shortener: overview" above "## Requirements" sections).
        styles = [style for style, n in self._started.items() if n >= 2]
        if styles and title.style > min(styles):
            return False
        # A title deeper than the one that opened this section is its sub-heading,
        # except under an H1, which is often the reply's own title.
        return self._style in (None, Style.H1) or title.style <= self._style

    def _next_number(self, number: int | None, line: str) -> bool:
        """A plain "N. Title" line is a title only when it carries on the titles' numbering and
        does not carry on a list of the section ("1. Availability", "2. Latency", "3. Scalability",
        or "1. Latency: 50 ms", "2. Security: TLS")."""
        continues_list = number == self._item + 1 and self._item_shape in ("title", _shape(line))
        if number is None or number <= self._last_number or continues_list:
            return False
        self._last_number = number
        return True

    def _marker_line(self, line: str, sid: str | None, start: int, end: int) -> list[tuple[str, str]]:
        self._markers, self._fence = True, None
        before, after = line[:start], line[end:]
        if _has_words(before):
            self._body(before.rstrip(" *#`"))
        # An unknown section's text joins the current one; a repeated marker merges.
        out: list[tuple[str, str]] = []
        if sid is not None and sid in self._bodies and sid != self._sid:
            self._repeat(sid, None)
        elif sid is not None and sid != self._sid:
            out = self._start(sid)
        if _has_words(after):
            title = read_title(after.strip(" *`"))
            if title is None or section_for(title.text, self.allowed) != sid:
                self._body(after.lstrip(" *`"))
        return out

    def _body(self, line: str) -> None:
        item = _ITEM_NUMBER_RE.match(line)
        if item:
            self._item = int(item.group(1))
            self._item_shape = _shape(line)
        if self._sid is None:
            self._intro.append(line)
        else:
            self._lines.append(line)

    def _repeat(self, sid: str, title_line: str | None) -> None:
        """A section already emitted comes again: keep it apart until we know whether it repeats."""
        self._dups.append((len(self._lines), sid, title_line is not None))
        if title_line is not None:
            self._body(title_line)
        self._item = -1

    def _start(self, sid: str) -> list[tuple[str, str]]:
        out = self._close()
        self._sid, self._lines, self._item = sid, [], -1
        return out

    def _close(self) -> list[tuple[str, str]]:
        sid, lines = self._sid, self._without_repeats()
        self._sid, self._lines = None, []
        body = "\n".join(lines).strip()
        if sid is None or not body:
            return []
        self._bodies[sid] = body
        self.emitted.append((sid, body))
        return [(sid, body)]

    def _without_repeats(self) -> list[str]:
        """The section's lines without the parts that only repeat an emitted section."""
        lines, dups, self._dups = self._lines, self._dups, []
        ends = [d[0] for d in dups[1:]] + [len(lines)]
        for (start, sid, titled), end in reversed(list(zip(dups, ends))):
            if _repeats(lines[start + titled:end], self._bodies[sid]):
                lines = lines[:start] + lines[end:]
        return lines


_ITEM_NUMBER_RE = re.compile(r"^\s{0,3}(\d{1,2})[.)]\s")


_LABEL_RE = re.compile(r"^\s{0,3}\d{1,2}[.)]\s+[^:]{1,40}:\s")


def _shape(line: str) -> str:
    """A numbered line's shape: "label" ("2. Latency: 50 ms"), "title" ("2. Latency") or "text"."""
    if _LABEL_RE.match(line):
        return "label"
    return "title" if read_title(line) is not None else "text"


def _repeats(lines: list[str], said: str) -> bool:
    """Most words of these lines (short words aside) are already in `said`, or there are none."""
    words = [w for w in words_of("\n".join(lines)) if len(w) > 3 or w.isdigit()]
    if not words:
        return True
    known = set(words_of(said))
    return sum(w in known for w in words) >= 0.7 * len(words)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _fence_of(line: str) -> str | None:
    m = re.match(r"^\s{0,3}(`{3,}|~{3,})", line)
    return m.group(1) if m else None


def _may_become_title(partial: str) -> bool:
    """A line still being typed that could turn out to be a title or a marker."""
    s = partial.lstrip()
    return bool(s) and (s[0] in "<#*_" or s[0].isdigit())


_ITEM_RE = re.compile(r"^\s{0,3}(?:\*\*)?(?:\d{1,2}[.)]|[-*•]|Q\d{1,2}[:.)])(?:\*\*)?\s+(.+\S)\s*$")


def _items(lines: list[str]) -> list[tuple[int, str]]:
    """Numbered or bulleted items as (line index, text), indented continuation lines joined."""
    items: list[tuple[int, str]] = []
    last = -2
    for idx, line in enumerate(lines):
        m = _ITEM_RE.match(line)
        if m:
            items.append((idx, m.group(1).strip()))
            last = idx
        elif items and last + 1 == idx and line.startswith((" ", "\t")) and line.strip():
            first, text = items[-1]
            items[-1] = (first, text + " " + line.strip())
            last = idx
    return items


def _is_question(text: str) -> bool:
    return text.rstrip("*_ )").endswith("?")


def _names_questions(line: str) -> bool:
    """A title or label line introducing the questions ("## Clarifying questions", "Questions:")."""
    if _ITEM_RE.match(line):
        return False
    title = read_title(line)
    text = title.text if title is not None else (line.strip() if line.strip().endswith(":") else "")
    return any(w.startswith("question") for w in words_of(text))


def _trim_intro(lines: list[str]) -> str:
    """The intro without a trailing title or "my questions:" label."""
    while lines and (not lines[-1].strip() or _names_questions(lines[-1]) or read_title(lines[-1]) is not None):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def parse_questions(text: str) -> tuple[str, list[str]]:
    """Split a clarifying reply into (restatement, questions).

    Prefers the `<<<questions>>>` marker.  Without it, the questions are the
    numbered or bulleted items after a title that names them ("## Questions",
    "**Clarifying questions:**"), or else every such item that ends in "?".
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if QUESTIONS_MARKER_RE.match(line)), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if _names_questions(line)), None)
    if start is not None:
        listed = [q for _, q in _items(lines[start + 1:])]
        if not listed:
            listed = [line.strip() for line in lines[start + 1:] if _is_question(line)]
        if listed:
            return _trim_intro(lines[:start]), listed
    asked = [(i, q) for i, q in _items(lines) if _is_question(q)]
    if not asked:
        return text.strip(), []
    return _trim_intro(lines[:asked[0][0]]), [q for _, q in asked]


def extract_graph_block(body: str) -> tuple[str | None, str]:
    """Pull the ```graph JSON out of a diagram section: (json or None, the rest)."""
    m = GRAPH_BLOCK_RE.search(body)
    if not m:
        return None, body.strip()
    rest = (body[: m.start()] + body[m.end():]).strip()
    return m.group(1).strip(), rest
