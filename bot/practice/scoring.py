"""The scorecard of a practice interview: ask, check the format and the quotes, retry once each, render.

The model is an unreliable narrator: a reply off the JSON format gets one fix request
(`prompts/scorecard_fix.txt`); evidence that does not occur in the candidate's own messages gets one
request to quote exactly, and whatever still cannot be found is dropped (and the scorecard says so).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from ..framing import frame_message, new_boundary
from ..levels import Level
from ..practice_prompts import Speaker as PromptSpeaker
from ..practice_prompts import (
    candidate_words,
    scorecard_fix_prompt,
    scorecard_prompt,
    scorecard_quotes_prompt,
    scoring_transcript,
)
from ..rubric import Rubric
from ..scorecard import (
    Scorecard,
    ScorecardOutcome,
    ScorecardResult,
    drop_unquoted,
    parse_scorecard,
    render_scorecard,
    unquoted_evidence,
)
from ..state import Turn
from .model import PracticeTurn, Speaker

log = logging.getLogger(__name__)

Ask = Callable[[list[Turn]], Awaitable[str]]



class ScoreOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True)
class ScoreResult:
    outcome: ScoreOutcome
    scorecard: Scorecard | None = None
    markdown: str = ""
    detail: str = ""
    dropped: int = 0          # evidence passages dropped as unverifiable


def _pairs(transcript: list[PracticeTurn], boundary: str) -> list[tuple[PromptSpeaker, str]]:
    """The interview as the scorecard prompt reads it: the candidate's words framed, watchers left out."""
    out = []
    for turn in transcript:
        if turn.speaker is Speaker.CANDIDATE:
            out.append((PromptSpeaker.CANDIDATE, frame_message(turn.who or "candidate", turn.text, boundary)))
        elif turn.speaker is Speaker.INTERVIEWER:
            out.append((PromptSpeaker.INTERVIEWER, turn.text))
    return out


def candidate_text(transcript: list[PracticeTurn]) -> str:
    """Only the candidate's words: what every quote must be found in."""
    return candidate_words((PromptSpeaker.CANDIDATE, t.text) for t in transcript if t.speaker is Speaker.CANDIDATE)


async def score(ask: Ask, *, problem: str, transcript: list[PracticeTurn], level: Level, hints: int,
                rubric: Rubric, directory: str, key: str = "") -> ScoreResult:
    """Ask for the scorecard; at most one format fix and one quote fix. LLMError propagates."""
    prompt = scorecard_prompt(problem, scoring_transcript(_pairs(transcript, new_boundary())), level=level,
                              hints_used=hints, rubric=rubric, directory=directory)
    turns = [Turn(role="user", content=prompt)]
    reply = await ask(turns)
    result = parse_scorecard(reply, rubric)
    if result.outcome is not ScorecardOutcome.OK:
        log.warning("%s: scorecard off format (%s); asking once more", key, result.outcome.value)
        turns += [Turn(role="assistant", content=reply.strip() or "(no answer)"),
                  Turn(role="user", content=scorecard_fix_prompt(result, rubric=rubric, directory=directory))]
        reply = await ask(turns)
        result = parse_scorecard(reply, rubric)
    if result.outcome is not ScorecardOutcome.OK or result.scorecard is None:
        return ScoreResult(ScoreOutcome.FAILED, detail=result.detail or result.outcome.value)
    card = await _checked_quotes(ask, turns, reply, result, rubric, candidate_text(transcript), key, directory)
    unquoted = unquoted_evidence(card, candidate_text(transcript))
    if unquoted:
        log.warning("%s: dropping %d unverifiable evidence passages", key, len(unquoted))
        card = drop_unquoted(card, unquoted)
    markdown = render_scorecard(card, rubric, problem=problem, hints_used=hints, target=level)
    return ScoreResult(ScoreOutcome.OK, card, markdown, dropped=len(unquoted))


async def _checked_quotes(ask: Ask, turns: list[Turn], reply: str, result: ScorecardResult, rubric: Rubric,
                          haystack: str, key: str, directory: str) -> Scorecard:
    """The scorecard, asked for once more when some of its quotes are not in the thread (kept if no better)."""
    card = result.scorecard
    assert card is not None
    unquoted = unquoted_evidence(card, haystack)
    if not unquoted:
        return card
    log.warning("%s: %d evidence passages not found in the thread; asking once more", key, len(unquoted))
    quotes = "; ".join(f'"{u.quote}" ({u.signal})' for u in unquoted[:8])
    again = await ask([*turns, Turn(role="assistant", content=reply.strip()),
                       Turn(role="user", content=scorecard_quotes_prompt(quotes, directory=directory))])
    second = parse_scorecard(again, rubric)
    if second.outcome is ScorecardOutcome.OK and second.scorecard is not None \
            and len(unquoted_evidence(second.scorecard, haystack)) < len(unquoted):
        return second.scorecard
    return card
