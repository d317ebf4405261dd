"""Recognising a title line the model wrote and naming the section it means.

The model is asked for `<<<section:ID>>>` markers, but drifts into ordinary
Markdown: `## Functional requirements`, `**API design**`, `3. Deep dive`.
`read_title` says whether one line looks like a title (and how strongly);
`section_for` maps its words to a section id of a catalogue by meaning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum


class Style(IntEnum):
    """How a title is written; a lower value is a stronger (outer) title."""

    MARKER = 0
    H1 = 1
    H2 = 2
    H3 = 3
    H4 = 4
    H5 = 5
    H6 = 6
    BOLD = 7
    NUMBERED = 8


@dataclass(frozen=True)
class Title:
    style: Style
    text: str                 # the title's words, without markup or numbering
    number: int | None = None  # "3. Deep dive" -> 3


MARKER_LINE_RE = re.compile(r"<<<\s*section\s*:\s*([A-Za-z_ -]+?)\s*>>>", re.IGNORECASE)
_HASH_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_BOLD_RE = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*:?\s*$")
_NUMBERED_RE = re.compile(r"^\s{0,3}(\d{1,2})[.)]\s+(.+?)\s*$")
_LEAD_NUMBER_RE = re.compile(
    r"^(?:(?:step|section|part|phase)\s+)?(\d{1,2})(?:[.):]|\s+[-–—:])?\s+(?=\S)|^(?:step|section|part|phase)\s+(\d{1,2})\s*$",
    re.IGNORECASE)
_WORD_RE = re.compile(r"[a-z0-9]+")
MAX_TITLE_WORDS = 9


def _clean(text: str) -> str:
    """Drop emphasis, code ticks and a trailing colon from a title."""
    text = re.sub(r"[*_`]+", "", text).strip()
    return text.rstrip(":").strip()


def _split_number(text: str) -> tuple[int | None, str]:
    m = _LEAD_NUMBER_RE.match(text)
    if not m:
        return None, text
    return int(m.group(1) or m.group(2)), text[m.end():].strip()


def read_title(line: str) -> Title | None:
    """The title a line holds, or None for an ordinary line of text."""
    m = _HASH_RE.match(line)
    if m:
        number, text = _split_number(_clean(m.group(2)))
        return Title(Style(len(m.group(1))), text, number) if text else None
    m = _BOLD_RE.match(line)
    if m:
        inner = m.group(2).strip()
        if "**" in inner or "__" in inner or inner.endswith((".", "?", "!")):
            return None   # two bold phrases on a line, or a bold sentence
        number, text = _split_number(_clean(inner))
        return Title(Style.BOLD, text, number) if text else None
    m = _NUMBERED_RE.match(line)
    if m:
        text = _clean(m.group(2))
        # A list item says something ("Availability: 99.9%"); a title only names a part
        # ("Deep dive: the code generator").
        _, colon, rest = text.partition(":")
        if colon and (any(ch.isdigit() for ch in rest) or len(rest.split()) > 5):
            return None
        if not text or text.endswith((".", "?", "!", ",", ";")):
            return None
        if len(_WORD_RE.findall(text.lower())) > MAX_TITLE_WORDS - 3:
            return None
        return Title(Style.NUMBERED, text, int(m.group(1)))
    return None


# Phrases that name each section (in any order: the longest phrase found in a
# title decides, then the earliest).  A phrase lists the ids it may mean
# in order of preference; the first id the catalogue has wins, so "walkthrough"
# is its own section in a diagram-only reply and part of the diagram otherwise.
_PHRASES: dict[str, tuple[str, ...]] = {
    "problem": ("scope",), "scope": ("scope",), "problem statement": ("scope",),
    "problem and scope": ("scope",), "problem definition": ("scope",), "introduction": ("scope",),
    "understanding the problem": ("scope",), "the problem": ("scope",), "overview": ("scope",),
    "30000 foot view": ("scope",), "30 000 foot view": ("scope",), "restating the problem": ("scope",),
    "functional requirements": ("functional",), "functional": ("functional",),
    "features": ("functional",), "core features": ("functional",), "use cases": ("functional",),
    "non functional": ("non_functional",), "nonfunctional": ("non_functional",),
    "non functional requirements": ("non_functional",), "nonfunctional requirements": ("non_functional",),
    "quality attributes": ("non_functional",), "performance requirements": ("non_functional",),
    "capacity estimates": ("non_functional",), "capacity estimation": ("non_functional",),
    "back of the envelope": ("non_functional",), "estimates": ("non_functional",), "slas": ("non_functional",),
    "api": ("api",), "apis": ("api",), "api design": ("api",), "api contracts": ("api",),
    "interfaces": ("api",), "endpoints": ("api",), "contracts": ("api",),
    "high level design": ("high_level",), "high level architecture": ("high_level",),
    "high level": ("high_level",), "architecture": ("high_level", "diagram"),
    "system architecture": ("high_level", "diagram"), "architecture overview": ("high_level", "diagram"),
    "design overview": ("high_level",), "components": ("high_level",),
    "core components": ("high_level",), "technology choices": ("high_level",), "tech choices": ("high_level",),
    "diagram": ("diagram",), "architecture diagram": ("diagram",), "flow diagram": ("diagram",),
    "system diagram": ("diagram",), "whiteboard": ("diagram",), "sketch": ("diagram",), "legend": ("diagram",),
    "walkthrough": ("walkthrough", "diagram"), "walk through": ("walkthrough", "diagram"),
    "flow description": ("walkthrough", "diagram"), "data flow": ("walkthrough", "diagram"),
    "request flow": ("walkthrough", "diagram"), "how it works": ("walkthrough", "diagram"),
    "user flows": ("walkthrough", "diagram"), "main flows": ("walkthrough", "diagram"),
    "deep dive": ("deep_dive",), "deepdive": ("deep_dive",), "detailed design": ("deep_dive",),
    "key component": ("deep_dive",), "component deep dive": ("deep_dive",), "drill down": ("deep_dive",),
    "in depth": ("deep_dive",), "zooming in": ("deep_dive",),
    "scaling": ("scaling",), "scalability": ("scaling",), "scale": ("scaling",), "failures": ("scaling",),
    "failure": ("scaling",), "failure scenarios": ("scaling",), "fault tolerance": ("scaling",),
    "reliability": ("scaling",), "security": ("scaling",), "bottlenecks": ("scaling", "walkthrough"),
    "scaling failures and security": ("scaling",),
    "assumptions": ("assumptions",), "simplifications": ("assumptions",), "assumptions made": ("assumptions",),
    "assumptions and simplifications": ("assumptions",),
    "over to you": ("closing",), "closing": ("closing",), "wrap up": ("closing",), "wrapping up": ("closing",),
    "next steps": ("closing",), "summary": ("closing",), "conclusion": ("closing",), "your turn": ("closing",),
    "final thoughts": ("closing",), "questions for you": ("closing",),
}
_BY_WORDS = {tuple(p.split()): ids for p, ids in _PHRASES.items()}
_LONGEST = max(len(words) for words in _BY_WORDS)


def words_of(text: str) -> list[str]:
    """Lower-case words; "Non-functional" -> ["non", "functional"], "30,000" -> ["30000"]."""
    return _WORD_RE.findall(text.lower().replace(",", "").replace("'", ""))


def section_for(title: str, catalogue: dict[str, str]) -> str | None:
    """The section a title names, or None when it names none (or is too long to be a title).

    The longest phrase found wins; between phrases of the same length, the one
    that comes first ("Functional requirements and core components").  An
    aside in brackets only counts when nothing outside it names a section.
    """
    outside = re.sub(r"\([^)]*\)", " ", title)
    if outside != title and words_of(outside):
        found = section_for(outside, catalogue)
        if found is not None:
            return found
    words = words_of(title)
    if not words or len(words) > MAX_TITLE_WORDS:
        return None
    for sid, heading in catalogue.items():
        if words_of(heading) == words:
            return sid
    for n in range(min(_LONGEST, len(words)), 0, -1):
        for i in range(len(words) - n + 1):
            ids = _BY_WORDS.get(tuple(words[i:i + n]), ())
            meant = next((s for s in ids if s in catalogue), None)
            if meant is not None:
                return meant
    return None


def marker_id(line: str, catalogue: dict[str, str]) -> tuple[str | None, int, int] | None:
    """A `<<<section:ID>>>` marker in a line: (section id or None if unknown, start, end)."""
    m = MARKER_LINE_RE.search(line)
    if m is None:
        return None
    raw = m.group(1).strip().lower().replace("-", "_").replace(" ", "_")
    sid = raw if raw in catalogue else section_for(raw.replace("_", " "), catalogue)
    return sid, m.start(), m.end()
