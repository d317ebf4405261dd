"""The practice-mode scorecard: parse the model's JSON, check it against the rubric, render Markdown.

A reply that cannot be used is a named outcome (`ScorecardOutcome`), never an exception, so the
engine can ask once more with `prompts/scorecard_fix.txt` and otherwise say the scorecard failed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from .json_reply import extract_json
from .levels import Level, parse_level
from .rubric import Rubric

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class SignalScore(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signal: Text
    score: int = Field(ge=1, le=4)
    evidence: list[Text] = Field(min_length=1, max_length=4)
    comment: Text


class Scorecard(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signals: list[SignalScore] = Field(min_length=1)
    improvements: list[Text] = Field(min_length=3, max_length=3)
    level_estimate: Level
    level_reason: Text
    summary: Text

    @field_validator("level_estimate", mode="before")
    @classmethod
    def _level_words(cls, value: Any) -> Any:
        """Accept 'Senior', 'staff+', 'L5' as well as the exact enum values."""
        return (parse_level(value) or value) if isinstance(value, str) else value

    def score(self, signal_id: str) -> SignalScore | None:
        return next((s for s in self.signals if s.signal == signal_id), None)


class ScorecardOutcome(str, Enum):
    OK = "ok"
    NO_JSON = "no_json"              # no JSON object in the reply
    BAD_JSON = "bad_json"            # something like JSON that does not parse
    WRONG_SHAPE = "wrong_shape"      # JSON, but fields missing or out of range
    WRONG_SIGNALS = "wrong_signals"  # a rubric signal missing, repeated, or one the rubric does not have


@dataclass(frozen=True)
class ScorecardResult:
    outcome: ScorecardOutcome
    scorecard: Scorecard | None = None
    detail: str = ""                 # what was wrong, in words the fix prompt can quote


def _shape_problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'scorecard'}: {e['msg']}" for e in exc.errors()[:6])


def parse_scorecard(reply: str, rubric: Rubric) -> ScorecardResult:
    """Read the model's scorecard reply; every outcome other than OK says what was wrong."""
    raw = extract_json(reply or "")
    if raw is None:
        return ScorecardResult(ScorecardOutcome.NO_JSON, detail="the reply holds no JSON object")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        detail = f"the JSON does not parse ({exc.msg} at line {exc.lineno})"
        return ScorecardResult(ScorecardOutcome.BAD_JSON, detail=detail)
    try:
        card = Scorecard.model_validate(data)
    except ValidationError as exc:
        return ScorecardResult(ScorecardOutcome.WRONG_SHAPE, detail=_shape_problems(exc))
    given = [s.signal for s in card.signals]
    missing = [i for i in rubric.ids if i not in given]
    unknown = [i for i in given if i not in rubric.ids]
    repeated = sorted({i for i in given if given.count(i) > 1})
    if missing or unknown or repeated:
        parts = [f"{label}: {', '.join(ids)}" for label, ids in
                 (("missing", missing), ("not in the rubric", unknown), ("repeated", repeated)) if ids]
        return ScorecardResult(ScorecardOutcome.WRONG_SIGNALS, card, "signals " + "; ".join(parts))
    return ScorecardResult(ScorecardOutcome.OK, card)


# --- evidence ----------------------------------------------------------------------------------

_ELLIPSIS = re.compile(r"\.\.\.|\u2026")
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"


def _squash(text: str) -> str:
    for mark in _QUOTES:
        text = text.replace(mark, " ")
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class UnquotedEvidence:
    signal: str
    quote: str


def unquoted_evidence(scorecard: Scorecard, thread_text: str) -> list[UnquotedEvidence]:
    """Evidence that does not appear in the thread (case, spacing and quote marks ignored; '...' skips text)."""
    haystack = _squash(thread_text)
    found: list[UnquotedEvidence] = []
    for item in scorecard.signals:
        for quote in item.evidence:
            pieces = [_squash(p) for p in _ELLIPSIS.split(quote)]
            if not all(p in haystack for p in pieces if p):
                found.append(UnquotedEvidence(item.signal, quote))
    return found


# --- rendering ---------------------------------------------------------------------------------

UNVERIFIED = "_(no passage of the thread could be verified for this score)_"


def drop_unquoted(scorecard: Scorecard, unquoted: list[UnquotedEvidence]) -> Scorecard:
    """The scorecard without the evidence that does not occur in the thread (a signal may be left with none)."""
    bad = {(u.signal, u.quote) for u in unquoted}
    signals = [s.model_copy(update={"evidence": [q for q in s.evidence if (s.signal, q) not in bad]})
               for s in scorecard.signals]
    return scorecard.model_copy(update={"signals": signals})


def _quote(text: str) -> str:
    return "> " + text.strip().strip(_QUOTES).replace("\n", " ")


def render_scorecard(scorecard: Scorecard, rubric: Rubric, *, problem: str | None = None, hints_used: int = 0,
                     target: Level | None = None) -> str:
    """The scorecard as its own Markdown message: signals in rubric order, quotes, improvements, level."""
    total = sum(s.score for s in scorecard.signals if rubric.signal(s.signal))
    lines = [f"**Scorecard{': ' + problem if problem else ''}**", scorecard.summary.strip(), ""]
    for signal in rubric.signals:
        item = scorecard.score(signal.id)
        if item is None:
            lines += [f"**{signal.name}: not scored**", ""]
            continue
        lines.append(f"**{signal.name}: {item.score}/4 ({signal.label(item.score)})** {item.comment.strip()}")
        lines += [_quote(q) for q in item.evidence] or [UNVERIFIED]
        lines.append("")   # ends the quote block
    lines.append(f"**Total:** {total}/{4 * len(rubric.signals)}"
                 + (f" · **Hints used:** {hints_used}" if hints_used else " · no hints used"))
    level_line = f"**Level estimate:** {scorecard.level_estimate.value}"
    if target is not None and target is not scorecard.level_estimate:
        level_line += f" (you aimed for {target.value})"
    lines += [level_line + f". {scorecard.level_reason.strip()}", "", "**Three things to work on:**"]
    lines += [f"{n}. {text}" for n, text in enumerate(scorecard.improvements, start=1)]
    return "\n".join(lines)


def render_scorecard_failure(result: ScorecardResult) -> str:
    """What the group sees when no usable scorecard came back, even after one retry."""
    return ("I couldn't put the scorecard together this time (the model's answer was not usable: "
            f"{result.detail or result.outcome.value}). Say `end` again to retry.")
