"""Interview levels: junior, mid, senior, staff.

The level changes the depth and breadth of the candidate's answer (and, in practice mode, the bar
the interviewer holds).  The words for each level are read from the user ("senior", "L6",
"staff+", "SDE II"); the guidance lives in `prompts/levels.txt`.

Numbered levels follow the common big-tech ladder: L3/E3 junior, L4/E4 mid, L5/E5 senior,
L6/E6 and above staff.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from .config import PROJECT_ROOT
from .option_words import take_keyword
from .problems import parse_random

LEVELS_FILE = PROJECT_ROOT / "prompts" / "levels.txt"


class Level(str, Enum):
    JUNIOR = "junior"
    MID = "mid"
    SENIOR = "senior"
    STAFF = "staff"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


DEFAULT_LEVEL = Level.SENIOR

_WORDS: dict[Level, tuple[str, ...]] = {
    Level.JUNIOR: ("junior", "jr", "entry", "entry level", "new grad", "graduate", "grad", "intern",
                   "l3", "e3", "sde1", "sde 1", "sde i", "swe1", "swe 1", "swe i", "ic1", "ic2"),
    Level.MID: ("mid", "mid level", "midlevel", "middle", "intermediate", "l4", "e4", "sde2", "sde 2",
                "sde ii", "swe2", "swe 2", "swe ii", "ic3"),
    Level.SENIOR: ("senior", "sr", "l5", "e5", "sde3", "sde 3", "sde iii", "swe3", "swe 3", "swe iii",
                   "ic4", "senior engineer"),
    Level.STAFF: ("staff", "staff plus", "senior staff", "principal", "distinguished", "architect", "l6", "l7",
                  "l8", "e6", "e7", "e8", "ic5", "ic6", "staff engineer", "principal engineer"),
}
LEVEL_WORDS: dict[str, Level] = {word: level for level, words in _WORDS.items() for word in words}


_FRAME = re.compile(r"^(?:at|as|a|an)\s+|\s+(?:level|lvl|engineer|eng|swe|developer|dev|candidate)$")


def _normalise(text: str) -> str:
    text = text.lower().replace("+", " plus ")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


def parse_level(text: str | None) -> Level | None:
    """'senior' -> SENIOR, 'L6' -> STAFF, 'staff+' -> STAFF, 'Mid-level' -> MID; unknown words -> None."""
    words = _normalise(text or "")
    while words and words not in LEVEL_WORDS:
        trimmed = _FRAME.sub("", words).strip()
        if trimmed == words:
            return None
        words = trimmed
    return LEVEL_WORDS.get(words)


_BRACKETED = re.compile(r"\s*[(\[]([^()\[\]]{1,20})[)\]]\s*$")


def split_level(text: str | None) -> tuple[Level | None, str]:
    """Pull an explicit level out of a command's text: (level or None, the text without it).

    Understood: 'level: staff', 'level=L6', '--level senior', 'level mid', a trailing '(staff+)' or
    '[senior]', and a bare level word after a random ask ('random hard staff').  A bare level word
    inside a problem ('design a staff rota') is left alone.
    """
    text = (text or "").strip()
    level, rest = take_keyword(text, "level", parse_level)
    if level is not None:
        return level, rest
    bracket = _BRACKETED.search(text)
    if bracket:
        level = parse_level(bracket.group(1))
        if level is not None:
            return level, text[:bracket.start()].strip()
    return _split_random_level(text)


def _split_random_level(text: str) -> tuple[Level | None, str]:
    """'random hard staff' -> (STAFF, 'random hard'): after a random ask a bare level word is safe to read."""
    words = text.split()
    for cut in (1, 2):
        if len(words) > cut and parse_random(" ".join(words[:-cut])) is not None:
            level = parse_level(" ".join(words[-cut:]))
            if level is not None:
                return level, " ".join(words[:-cut])
    return None, text


@dataclass(frozen=True)
class LevelGuide:
    level: Level
    opening: str      # what the candidate says about its level in its opening line
    guidance: str     # what a strong answer at this level covers (prompt text)


class LevelsFileError(ValueError):
    """prompts/levels.txt is missing a level or an Opening line."""


def parse_levels(text: str) -> dict[Level, LevelGuide]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        header = re.fullmatch(r"\[(\w+)\]\s*", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif current is not None:
            current.append(line)
    guides: dict[Level, LevelGuide] = {}
    for level in Level:
        lines = [line for line in sections.get(level.value, []) if line.strip()]
        if not lines or not lines[0].startswith("Opening:"):
            raise LevelsFileError(f"levels file: [{level.value}] needs a section starting with an 'Opening:' line")
        guides[level] = LevelGuide(level, lines[0].removeprefix("Opening:").strip(), "\n".join(lines[1:]).strip())
        if not guides[level].guidance:
            raise LevelsFileError(f"levels file: [{level.value}] has no guidance after its Opening line")
    unknown = sorted(set(sections) - {lv.value for lv in Level})
    if unknown:
        raise LevelsFileError(f"levels file: unknown level section(s): {', '.join(unknown)}")
    return guides


@lru_cache(maxsize=4)
def load_levels(path: str = str(LEVELS_FILE)) -> dict[Level, LevelGuide]:
    return parse_levels(Path(path).read_text(encoding="utf-8"))


def level_guide(level: Level | None = None, *, path: str = str(LEVELS_FILE)) -> LevelGuide:
    """The opening line and prompt guidance for a level (default senior)."""
    return load_levels(path)[level or DEFAULT_LEVEL]


def level_opening_note(level: Level | None = None, *, path: str = str(LEVELS_FILE)) -> str:
    """One instruction for the first message (the clarifying questions): name the level up front."""
    guide = level_guide(level, path=path)
    return (f"You are answering at {guide.level.value} level. Say so in one short sentence at the start of "
            f"your first paragraph, in your own words, along these lines: \"{guide.opening}\"")


def level_prompt(level: Level | None = None, *, announce: bool = False, path: str = str(LEVELS_FILE)) -> str:
    """The block the engine appends to the design (or diagram) prompt for this level.

    `announce` also asks the model to state the level, for flows with no clarifying step
    (diagram-only mode); otherwise `level_opening_note` went into the first message.
    """
    guide = level_guide(level, path=path)
    lines = [f"Level: answer as a strong {guide.level.value}-level candidate would."]
    if announce:
        lines.append(f"Say so in one short sentence in your opening, in your own words, along these lines: "
                     f"\"{guide.opening}\"")
    return " ".join(lines) + "\n" + guide.guidance
