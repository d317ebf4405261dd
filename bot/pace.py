"""Interview pace: `full` (the whole design in one go) or `interactive` (check-ins with the group).

Interactive runs the design in three steps; this module holds the prompt fragments and the
parsing around them, the engine does the stepping:
1. scope .. non_functional, then `check_in_text()`: the candidate asks whether the scope matches;
2. api .. diagram, then `deep_dive_offer_text()`: the candidate offers two or three deep dives
   after an `<<<options>>>` marker; `split_options()` cuts them off the last section;
3. the rest, with `deep_dive_chosen_text(choice)`; `match_option()` reads a free reply or a button.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path
from string import Template

from .config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


class Pace(str, Enum):
    FULL = "full"
    INTERACTIVE = "interactive"


DEFAULT_PACE = Pace.FULL
_PACE_WORDS = {
    "full": Pace.FULL, "monologue": Pace.FULL, "straight": Pace.FULL, "all at once": Pace.FULL,
    "interactive": Pace.INTERACTIVE, "check in": Pace.INTERACTIVE, "check ins": Pace.INTERACTIVE,
    "step by step": Pace.INTERACTIVE, "steps": Pace.INTERACTIVE, "guided": Pace.INTERACTIVE,
}

# Which design sections each interactive step writes (ids from bot.sections.DESIGN_SECTIONS).
INTERACTIVE_STEPS: tuple[tuple[str, ...], ...] = (
    ("scope", "functional", "non_functional"),
    ("api", "high_level", "diagram"),
    ("deep_dive", "scaling", "assumptions", "closing"),
)


def parse_pace(text: str | None) -> Pace | None:
    words = " ".join(re.sub(r"[^a-z]+", " ", (text or "").lower()).split())
    return _PACE_WORDS.get(words) or _PACE_WORDS.get(words.removesuffix(" pace").removeprefix("pace "))


def parse_pace_map(raw: str | None) -> dict[str, Pace]:
    """'T0TEAM=interactive, 123456789012345678=full' -> {id: pace}; an id may carry its platform
    ('slack:T0TEAM').  Raises ValueError naming the first entry it cannot read."""
    out: dict[str, Pace] = {}
    for entry in re.split(r"[,;\s]+", raw or ""):
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        pace = parse_pace(value) if sep else None
        if not key.strip() or pace is None:
            raise ValueError(f"cannot read {entry!r}: write id=full or id=interactive")
        out[key.strip()] = pace
    return out


def pace_for(settings, platform: str, workspace: str) -> Pace:
    """The default pace of a Slack workspace or Discord server: PACE_BY_WORKSPACE, else DEFAULT_PACE."""
    by_workspace = parse_pace_map(getattr(settings, "pace_by_workspace", ""))
    found = by_workspace.get(f"{platform}:{workspace}") or by_workspace.get(workspace)
    return found or parse_pace(getattr(settings, "default_pace", "")) or DEFAULT_PACE


@lru_cache(maxsize=8)
def _text(directory: str, name: str) -> str:
    return (Path(directory) / f"{name}.txt").read_text(encoding="utf-8").strip()


def check_in_text(directory: Path | str = PROMPTS_DIR) -> str:
    """Appended to step 1's prompt: stop and check the scope with the interviewer."""
    return _text(str(directory), "check_in")


def deep_dive_offer_text(directory: Path | str = PROMPTS_DIR) -> str:
    """Appended to step 2's prompt: stop and offer deep-dive candidates after `<<<options>>>`."""
    return _text(str(directory), "deep_dive_offer")


def deep_dive_chosen_text(choice: str, directory: Path | str = PROMPTS_DIR) -> str:
    """Appended to step 3's prompt: the deep dive the group chose."""
    return Template(_text(str(directory), "deep_dive_chosen")).substitute(choice=choice.strip())


@dataclass(frozen=True)
class DeepDiveOption:
    name: str      # "Code generator": the button label
    why: str       # one sentence


_OPTIONS_MARKER = re.compile(r"^[ \t*`]*<<<\s*options\s*>>>[ \t*`]*$", re.IGNORECASE | re.MULTILINE)
_OPTION_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+(?:\*\*)?([^:*\n]{2,60}?)(?:\*\*)?\s*[:\u2014-]\s+(.+\S)\s*$")
MAX_OPTIONS = 3


def split_options(text: str) -> tuple[str, list[DeepDiveOption], str]:
    """(text before the marker, the options, the invitation after them). No marker: (text, [], "")."""
    found = _OPTIONS_MARKER.search(text)
    if not found:
        return text.strip(), [], ""
    before, tail = text[:found.start()].strip(), text[found.end():]
    options: list[DeepDiveOption] = []
    rest: list[str] = []
    for line in tail.splitlines():
        m = _OPTION_LINE.match(line)
        if m and len(options) < MAX_OPTIONS and not rest:
            options.append(DeepDiveOption(m.group(1).strip(), m.group(2).strip()))
        elif line.strip():
            rest.append(line.strip())
    return before, options, " ".join(rest)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def match_option(reply: str, options: list[DeepDiveOption]) -> DeepDiveOption | None:
    """The option a reply picks: '2', 'option 1', 'the code generator', 'let's do the cache'. None if unclear."""
    text = reply.strip().lower()
    number = re.fullmatch(r"(?:option|number|#)?\s*([1-9])[.)!]?", text)
    if number:
        index = int(number.group(1)) - 1
        return options[index] if index < len(options) else None
    exact = [o for o in options if o.name.lower() in text]
    if len(exact) == 1:
        return exact[0]
    said = _words(text)
    overlap = [(len(_words(o.name) & said), o) for o in options]
    best = max((n for n, _ in overlap), default=0)
    winners = [o for n, o in overlap if n == best]
    return winners[0] if best > 0 and len(winners) == 1 else None
