"""Prompts for practice mode (the bot interviews a person): pure functions over the text files in `prompts/`.

- `interviewer_system`: the system prompt for the bot as interviewer, holding the hidden card;
- `turn_note`: the bracketed note the engine puts before each candidate message (phase, time, hint);
- `scoring_transcript` / `candidate_words`: the thread as the scorecard prompt and the evidence check see it;
- `scorecard_prompt` / `scorecard_fix_prompt`: asking for the scorecard JSON, and once more if it was unusable.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from functools import lru_cache
from pathlib import Path
from string import Template

from .config import PROJECT_ROOT
from .levels import DEFAULT_LEVEL, Level, level_guide
from .practice_clock import PRACTICE_PHASES as PRACTICE_PHASES  # re-exported: the prompts name the phases
from .rubric import Rubric, load_rubric
from .scorecard import ScorecardResult

PROMPTS_DIR = PROJECT_ROOT / "prompts"



@lru_cache(maxsize=16)
def _template(directory: str, name: str) -> Template:
    return Template((Path(directory) / f"{name}.txt").read_text(encoding="utf-8"))


def _render(name: str, directory: Path | str, **values: object) -> str:
    return _template(str(directory), name).substitute({k: str(v) for k, v in values.items()}).strip()


def interviewer_system(problem: str, card_text: str, level: Level | None = None, *,
                       directory: Path | str = PROMPTS_DIR) -> str:
    """The interviewer's system prompt. `card_text` is `card_render.render_interviewer_card(card)`
    for a bank problem, or the hidden card written for a free-form problem."""
    level = level or DEFAULT_LEVEL
    guide = level_guide(level, path=str(Path(directory) / "levels.txt"))
    return _render("interviewer", directory, problem=problem.strip(), card=card_text.strip(), level=level.value,
                   level_bar=guide.guidance)


def turn_note(phase: str, minutes_left: float | None = None, *, overrun: bool = False, hint: bool = False,
              phase_changed: bool = False, curveball: bool = False) -> str:
    """'[phase: deep dive, 7 min left]', '[phase: estimates, overrun: move on]', '[hint requested]'...

    The interviewer prompt explains these notes, so they must come from here and nowhere else.
    """
    parts = [f"phase: {phase}"]
    if phase_changed:
        parts.append("new phase")
    if overrun:
        parts.append("overrun: nudge toward the next phase")
    elif minutes_left is not None:
        left = max(0, round(minutes_left))
        parts.append(f"{left} min left" if left >= 1 else "under a minute left")
    note = "[" + ", ".join(parts) + "]"
    return note + (" [hint requested]" if hint else "") + (" [curveball now]" if curveball else "")


class Speaker(str, Enum):
    CANDIDATE = "Candidate"
    INTERVIEWER = "Interviewer"


def scoring_transcript(turns: Iterable[tuple[Speaker, str]]) -> str:
    """'Candidate: ...' / 'Interviewer: ...' paragraphs, the form the scorecard prompt quotes from."""
    return "\n\n".join(f"{who.value}: {text.strip()}" for who, text in turns if text.strip())


def candidate_words(turns: Iterable[tuple[Speaker, str]]) -> str:
    """Only the candidate's turns: what `scorecard.unquoted_evidence` checks quotes against."""
    return "\n\n".join(text.strip() for who, text in turns if who is Speaker.CANDIDATE)


def scorecard_prompt(problem: str, transcript: str, *, level: Level | None = None, hints_used: int = 0,
                     rubric: Rubric | None = None, directory: Path | str = PROMPTS_DIR) -> str:
    """A self-contained request (send it as its own call, not inside the interviewer's conversation)."""
    rubric = rubric or load_rubric(str(Path(directory) / "rubric.txt"))
    return _render("scorecard", directory, problem=problem.strip(), transcript=transcript.strip() or "(empty)",
                   level=(level or DEFAULT_LEVEL).value, hints_used=hints_used, rubric=rubric.as_prompt(),
                   first_signal=rubric.ids[0], signal_ids=", ".join(rubric.ids))


def scorecard_fix_prompt(result: ScorecardResult, *, rubric: Rubric | None = None,
                         directory: Path | str = PROMPTS_DIR) -> str:
    rubric = rubric or load_rubric(str(Path(directory) / "rubric.txt"))
    return _render("scorecard_fix", directory, detail=result.detail or result.outcome.value,
                   signal_ids=", ".join(rubric.ids))


def scorecard_quotes_prompt(quotes: str, *, directory: Path | str = PROMPTS_DIR) -> str:
    """Asked once when evidence in the scorecard is not found in the candidate's messages."""
    return _render("scorecard_quotes", directory, quotes=quotes)


# What the bot asks the interviewer model for, besides answering a message (the notes above come first).
OPENING_ASK = "The candidate has just joined the thread. Open the interview now."
HINT_ASK = "The candidate asks for a hint."
NEXT_ASK = "The candidate asks to move on to the next phase. Close the previous one in a sentence and open this one."
IMAGE_NOTE = ("[the candidate attached {count} image(s) of their diagram: first describe back in two or three "
              "sentences what you understood, then probe it]")
DRAWING_NOTE = "[the candidate's graph block, as the bot drew it:]"
