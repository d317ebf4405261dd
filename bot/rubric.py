"""The practice-mode rubric, read from `prompts/rubric.txt`.

The file is the single source of the signals: the scorecard prompt quotes it and the scorecard
parser checks the model scored exactly these signals.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .config import PROJECT_ROOT

RUBRIC_FILE = PROJECT_ROOT / "prompts" / "rubric.txt"
SCORES = (1, 2, 3, 4)

_HEADER = re.compile(r"^\[([a-z][a-z0-9_]*)\]\s+(\S.*)$")
_SCORE = re.compile(r"^([1-4])\s+([^:]+):\s*(\S.*)$")


class RubricError(ValueError):
    """The rubric file is malformed; the message names the signal and line."""


@dataclass(frozen=True)
class ScoreLevel:
    score: int
    label: str           # "Solid"
    description: str


@dataclass(frozen=True)
class Signal:
    id: str              # "problem_navigation"
    name: str            # "Problem navigation"
    looks_at: str
    levels: tuple[ScoreLevel, ...]

    def label(self, score: int) -> str:
        return next(lv.label for lv in self.levels if lv.score == score)


@dataclass(frozen=True)
class Rubric:
    signals: tuple[Signal, ...]
    rules: tuple[str, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.signals)

    def signal(self, signal_id: str) -> Signal | None:
        return next((s for s in self.signals if s.id == signal_id), None)

    def as_prompt(self) -> str:
        """The rubric as plain text for a prompt: rules, then each signal with its four levels."""
        lines = [f"- {rule}" for rule in self.rules]
        for sig in self.signals:
            lines += ["", f"{sig.name} (id: {sig.id}): {sig.looks_at}"]
            lines += [f"  {lv.score} {lv.label}: {lv.description}" for lv in sig.levels]
        return "\n".join(lines).strip()


@dataclass
class _Draft:
    id: str
    name: str
    looks_at: str = ""
    levels: list[ScoreLevel] = field(default_factory=list)


def _finish(draft: _Draft) -> Signal:
    levels = draft.levels
    if not draft.looks_at:
        raise RubricError(f"rubric: signal '{draft.id}' needs a 'Looks at:' line")
    if [lv.score for lv in levels] != list(SCORES):
        found = ", ".join(str(lv.score) for lv in levels) or "none"
        raise RubricError(f"rubric: signal '{draft.id}' needs score lines 1, 2, 3, 4 in order (found {found})")
    return Signal(draft.id, draft.name, draft.looks_at, tuple(levels))


def parse_rubric(text: str) -> Rubric:
    signals: list[Signal] = []
    rules: list[str] = []
    draft: _Draft | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if header := _HEADER.match(line):
            if draft:
                signals.append(_finish(draft))
            draft = _Draft(header.group(1), header.group(2).strip())
        elif line.startswith("Rule:") and draft is None:
            rules.append(line.removeprefix("Rule:").strip())
        elif draft and line.startswith("Looks at:"):
            draft.looks_at = line.removeprefix("Looks at:").strip()
        elif draft and (score := _SCORE.match(line)):
            draft.levels.append(ScoreLevel(int(score.group(1)), score.group(2).strip(), score.group(3).strip()))
        else:
            where = f"signal '{draft.id}'" if draft else "the rules"
            raise RubricError(f"rubric line {number} (in {where}) is not understood: {line[:60]}")
    if draft:
        signals.append(_finish(draft))
    ids = [s.id for s in signals]
    if len(signals) < 4:
        raise RubricError(f"rubric: needs at least four signals (found {len(signals)})")
    if len(ids) != len(set(ids)):
        twice = ", ".join(sorted({i for i in ids if ids.count(i) > 1}))
        raise RubricError(f"rubric: a signal id is used twice ({twice})")
    return Rubric(tuple(signals), tuple(rules))


@lru_cache(maxsize=4)
def load_rubric(path: str = str(RUBRIC_FILE)) -> Rubric:
    return parse_rubric(Path(path).read_text(encoding="utf-8"))
