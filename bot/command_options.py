"""Reading the options out of a command's text: `/interview random hard staff interactive`,
`/interview Design a cache level: L6 pace: interactive`, `/practice tinyurl (junior)`.

One call for the engine and the adapters: `parse_options(text)` -> the problem text (or random ask)
with the level and pace taken out.  Slash-command parameters, when a platform has them, win over
words in the text; that choice belongs to the caller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .levels import Level, parse_level, split_level
from .option_words import take_keyword
from .pace import Pace, parse_pace
from .problems import parse_random

_BRACKET = re.compile(r"\s*[(\[]([^()\[\]]{1,40})[)\]]\s*$")


@dataclass(frozen=True)
class CommandOptions:
    text: str                    # the problem, or a random ask such as "random hard"
    level: Level | None = None   # None: use the server's default
    pace: Pace | None = None


def _take_bracket(text: str, level: Level | None, pace: Pace | None) -> tuple[Level | None, Pace | None, str]:
    """A trailing '(staff, interactive)' whose every word is a level or a pace."""
    found = _BRACKET.search(text)
    if not found:
        return level, pace, text
    parts = [p for p in re.split(r"[,/;]", found.group(1)) if p.strip()]
    levels = [parse_level(p) for p in parts]
    paces = [parse_pace(p) for p in parts]
    if not parts or any(lv is None and pc is None for lv, pc in zip(levels, paces)):
        return level, pace, text
    level = level or next((lv for lv in levels if lv), None)
    pace = pace or next((pc for pc in paces if pc), None)
    return level, pace, text[:found.start()].strip()


def _take_after_random(text: str, level: Level | None, pace: Pace | None) -> tuple[Level | None, Pace | None, str]:
    """'random hard staff interactive': after a random ask, bare level and pace words are safe to read."""
    words, new_level, new_pace = text.split(), level, pace
    while len(words) > 1 and parse_random(" ".join(words)) is None:
        for cut in (2, 1):
            if len(words) <= cut:
                continue
            tail = " ".join(words[-cut:])
            if new_level is None and (lv := parse_level(tail)) is not None:
                new_level, words = lv, words[:-cut]
                break
            if new_pace is None and (pc := parse_pace(tail)) is not None:
                new_pace, words = pc, words[:-cut]
                break
        else:
            return level, pace, text          # a word that is neither: not a random ask after all
    if parse_random(" ".join(words)) is None:
        return level, pace, text
    return new_level, new_pace, " ".join(words)


def parse_options(text: str | None) -> CommandOptions:
    pace, rest = take_keyword((text or "").strip(), "pace", parse_pace)
    level, rest = split_level(rest)
    level, pace, rest = _take_bracket(rest, level, pace)
    level, pace, rest = _take_after_random(rest, level, pace)
    return CommandOptions(rest, level, pace)
