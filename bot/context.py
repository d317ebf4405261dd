"""Keeping a long thread within a token budget (pure helpers; the engine makes the calls).

A thread's history is `[questions exchange, design exchange, discussion turns...]`.
Once it passes the budget, the oldest discussion turns are folded into a running
summary (one model call with `prompts/summarize.txt`).  What the model then
reads is:

    system | questions + design (verbatim) | summary pair | last turns (verbatim) | new prompt

The prefix up to the design never changes, so its cache breakpoint stays valid
across a fold; only the part after it is written to the cache again, once per
fold.  Folding down to a low-water mark (not just under the budget) keeps folds
rare, so most turns read everything from the cache.
"""
from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from .state import Turn

TURN_OVERHEAD_TOKENS = 4
SUMMARY_OPENING = "Summary of our earlier discussion (the older turns were folded into it to save room):"
SUMMARY_ACK = "Got it. I'll stay consistent with everything in that summary."
DESIGN_TASKS = ("Task: present the design.", "Task: interview-ready flow diagram.", "Task: finish the design.",
                "Task: continue the design.")


def estimate_tokens(text: str) -> int:
    """Rough, cautious token count: 3.5 ASCII characters a token (prose runs nearer 4, JSON and
    code nearer 3), one token per other character."""
    if text.isascii():
        return math.ceil(len(text) / 3.5)
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / 3.5) + (len(text) - ascii_chars)


def turns_tokens(turns: list[Turn]) -> int:
    """Rough token count of a list of turns, with a small overhead per turn."""
    return sum(estimate_tokens(t.content) + TURN_OVERHEAD_TOKENS for t in turns)


def design_prefix_len(history: list[Turn]) -> int:
    """How many leading turns hold the questions and the design (kept verbatim, never folded):
    up to and including the last reply to a design task."""
    end = 0
    for i, turn in enumerate(history[:-1]):
        is_design_task = turn.role == "user" and turn.content.lstrip().startswith(DESIGN_TASKS)
        if is_design_task and history[i + 1].role == "assistant":
            end = i + 2
    return end


class FoldOutcome(StrEnum):
    NOT_NEEDED = "not_needed"   # within the budget
    FOLD = "fold"               # fold history[start:end] into the summary
    NOTHING_TO_FOLD = "nothing_to_fold"  # over the budget, but only kept turns are left


class FoldPlan(BaseModel):
    outcome: FoldOutcome
    start: int = 0              # history[start:end] are the turns to fold
    end: int = 0
    tokens_now: int             # the estimate for the next call as things are
    tokens_after: int           # the estimate after the fold (summary at its current size)

    @property
    def count(self) -> int:
        return self.end - self.start


def fold_plan(history: list[Turn], budget: int, *, keep_last: int = 6, keep_first: int | None = None,
              summary: str = "", fixed_tokens: int = 0, low_water: float = 0.6) -> FoldPlan:
    """Which oldest discussion turns to fold so the next call fits `budget` input tokens.

    `fixed_tokens` counts what every call carries besides the history (system
    prompt, the new prompt, the latest graph); `summary` is the running summary
    so far.  Turns before `keep_first` (default: the design exchange) and the
    last `keep_last` turns are never folded.  Folds go in user/assistant pairs,
    oldest first, until the estimate is under `low_water * budget`.
    """
    keep_first = design_prefix_len(history) if keep_first is None else keep_first
    keep_last += keep_last % 2
    base = fixed_tokens + (turns_tokens(summary_turns(summary)) if summary else 0)
    now = base + turns_tokens(history)
    if now <= budget:
        return FoldPlan(outcome=FoldOutcome.NOT_NEEDED, tokens_now=now, tokens_after=now)
    start = keep_first + (keep_first % 2)
    limit = max(start, len(history) - keep_last)
    target = budget * low_water
    # Summary pair the fold adds, if there was none yet.
    after = now + (0 if summary else 2 * TURN_OVERHEAD_TOKENS + estimate_tokens(SUMMARY_OPENING + SUMMARY_ACK))
    end = start
    while end + 2 <= limit and after > target:
        after -= turns_tokens(history[end:end + 2])
        end += 2
    if end == start:
        return FoldPlan(outcome=FoldOutcome.NOTHING_TO_FOLD, tokens_now=now, tokens_after=now)
    return FoldPlan(outcome=FoldOutcome.FOLD, start=start, end=end, tokens_now=now, tokens_after=after)


def summary_turns(summary: str, graph: dict[str, Any] | None = None) -> list[Turn]:
    """The user/assistant pair that stands for the folded turns (and carries the latest graph verbatim)."""
    text = f"{SUMMARY_OPENING}\n\n{summary.strip()}"
    if graph is not None:
        text += "\n\nThe current architecture diagram, as a graph:\n```graph\n" + json.dumps(graph) + "\n```"
    return [Turn(role="user", content=text), Turn(role="assistant", content=SUMMARY_ACK)]


def apply_fold(history: list[Turn], plan: FoldPlan) -> list[Turn]:
    """The history without the folded turns (the summary is kept apart, see `context_turns`)."""
    if plan.outcome is not FoldOutcome.FOLD:
        return list(history)
    return history[: plan.start] + history[plan.end:]


def context_turns(history: list[Turn], summary: str, *, keep_first: int | None = None,
                  graph: dict[str, Any] | None = None) -> list[Turn]:
    """The turns a call sends: the design prefix, the summary pair (if any), then the rest."""
    if not summary.strip():
        return list(history)
    keep_first = design_prefix_len(history) if keep_first is None else keep_first
    return history[:keep_first] + summary_turns(summary, graph) + history[keep_first:]


def conversation_text(turns: list[Turn]) -> str:
    """The folded turns as text for the summarize prompt (framed as interviewer input by `Prompts.render`)."""
    who = {"user": "Interviewer side (bot prompt with the interviewer's message)", "assistant": "You (candidate)"}
    return "\n\n".join(f"[{who[t.role]}]\n{t.content.strip()}" for t in turns)
