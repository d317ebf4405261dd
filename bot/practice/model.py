"""What a practice interview keeps in its thread's state (part of `InterviewState`).

Only pydantic and the clock here: `bot.state` imports this module, and the clock is pure.
"""
from __future__ import annotations

import time
from enum import StrEnum

from pydantic import BaseModel, Field

from ..practice_clock import PracticeClock


class Speaker(StrEnum):
    CANDIDATE = "candidate"
    INTERVIEWER = "interviewer"
    WATCHER = "watcher"        # someone else in the thread, when the group does not answer as one


class PracticeTurn(BaseModel):
    """One message of the interview as it was said in the thread (for the scorecard and the export)."""

    speaker: Speaker
    who: str = ""
    text: str
    at: float = Field(default_factory=time.time)


class CardSource(StrEnum):
    BANK = "bank"          # the problem bank's card (`InterviewState.card_id`)
    WRITTEN = "written"    # written by the model for a free-form problem, once, kept in `card_json`
    NONE = "none"          # writing one failed: the interviewer picks answers once and keeps to them


class RetryStep(StrEnum):
    """A step that failed (model or network) and runs again on *retry*."""

    OPEN = "open"
    ANSWER = "answer"      # the candidate's message is in `retry_text`: nothing they wrote is lost
    HINT = "hint"
    NEXT = "next"
    SCORE = "score"


class PracticeState(BaseModel):
    candidate_id: str = ""             # who is interviewed (platform id, else display name)
    candidate: str = ""                # their display name
    group_answers: bool = False        # PRACTICE_GROUP_ANSWERS when the interview began
    card_source: CardSource | None = None   # None until the opening turn settled the card
    card_json: str | None = None       # the hidden card for a free-form problem (a ProblemCard as JSON)
    clock: PracticeClock | None = None
    hints: int = 0
    curveball_given: bool = False
    watchers_told: list[str] = Field(default_factory=list)   # watchers who got the "you're watching" notice
    transcript: list[PracticeTurn] = Field(default_factory=list)
    last_bot_at: float | None = None   # when the bot last spoke (a long silence after it is a break)
    scorecard_md: str = ""             # the posted scorecard (for the export)
    scores: dict[str, int] = Field(default_factory=dict)
    level_estimate: str | None = None
    recorded: bool = False             # the history record was written
    thread_url: str | None = None
    retry: RetryStep | None = None
    retry_text: str = ""
    retry_who: str = ""

    def is_candidate(self, who: str) -> bool:
        return self.group_answers or not self.candidate_id or who == self.candidate_id

    def said(self, speaker: Speaker, who: str, text: str, at: float) -> None:
        self.transcript.append(PracticeTurn(speaker=speaker, who=who, text=text, at=at))
