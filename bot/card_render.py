"""Pure renderings of a problem card.

Two audiences, never mixed:
- the group (Markdown): the numbers to answer the candidate's clarifying questions with and the
  follow-ups to throw; the bot playing the candidate must never be given these as its own answers;
- the model playing the interviewer in practice mode (plain text for the prompt): the whole card,
  which stays hidden from the human candidate.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from .cards import ProblemCard


def _bullets(items: Sequence[str]) -> list[str]:
    return [f"- {item}" for item in items]


def _numbered(items: Sequence[str]) -> list[str]:
    return [f"{n}. {item}" for n, item in enumerate(items, start=1)]


def reference_lines(card: ProblemCard) -> list[str]:
    """'**Users:** 100M monthly users' lines, then the card's extra notes."""
    ref = card.reference
    return [f"- **{label}:** {value}" for label, value in ref.rows()] + _bullets(ref.notes)


def render_group_numbers(card: ProblemCard) -> str:
    """For the start of the interview: the numbers and the scope to answer the candidate with."""
    return "\n".join([
        f"**Interviewer card: {card.title}** ({card.difficulty.value}, {card.category.value})",
        "Answer the candidate's clarifying questions with these numbers:",
        *reference_lines(card),
        "",
        "**In scope:**",
        *_bullets(card.in_scope),
        "**Out of scope:**",
        *_bullets(card.out_of_scope),
    ])


def render_group_follow_ups(card: ProblemCard) -> str:
    """For after the design: the follow-ups and the curveball to throw at the candidate."""
    return "\n".join([
        "**Follow-ups to ask after the design:**",
        *_numbered(card.follow_ups),
        f"**Curveball for the deep dive:** {card.curveball}",
    ])


def render_group_card(card: ProblemCard, *, with_checklist: bool = False) -> str:
    """The interviewer's crib sheet for the group, in Markdown (bold labels, no headings).

    `with_checklist` adds what a strong answer covers and the usual pitfalls: useful to post
    after the design, so the group can compare the bot's answer with the card.
    """
    parts = [render_group_numbers(card), render_group_follow_ups(card)]
    if with_checklist:
        parts.append(render_checklist(card))
    return "\n\n".join(parts)


def checklist_lines(card: ProblemCard) -> list[str]:
    return [
        "**What a strong answer covers:**",
        *_bullets(card.strong_answer),
        "**Common pitfalls:**",
        *_bullets(card.pitfalls),
    ]


def render_checklist(card: ProblemCard) -> str:
    """Only what a strong answer covers and the pitfalls, for after the design or the scorecard."""
    return "\n".join(checklist_lines(card))


def render_interviewer_card(card: ProblemCard) -> str:
    """The whole card as plain text for the interviewer prompt (practice mode; hidden from the candidate)."""
    ref = card.reference
    lines = [
        f"Problem: {card.title}",
        f"Difficulty: {card.difficulty.value}",
        "",
        "Reference answers to clarifying questions (use these, and only these, every time):",
        *[f"- {label}: {value}" for label, value in ref.rows()],
        *_bullets(ref.notes),
        "",
        "Features in scope:",
        *_bullets(card.in_scope),
        "Features out of scope (say so if the candidate asks):",
        *_bullets(card.out_of_scope),
        "",
        "Follow-up questions you may ask:",
        *_numbered(card.follow_ups),
        f"Curveball for the deep dive (use once): {card.curveball}",
        "",
        "What a strong answer covers:",
        *_bullets(card.strong_answer),
        "Common pitfalls to probe:",
        *_bullets(card.pitfalls),
    ]
    return "\n".join(lines)


def next_throwable(card: ProblemCard, used: Sequence[str] = (), *, rng: random.Random | None = None) -> str | None:
    """One follow-up or the curveball the group has not thrown yet; None when the card is used up.

    Follow-ups come first in random order, the curveball last (it changes the requirements, so it
    lands best once the design is on the table).
    """
    fresh = [f for f in card.follow_ups if f not in used]
    if fresh:
        return (rng or random).choice(fresh)
    return card.curveball if card.curveball not in used else None


def render_throwable(question: str) -> str:
    """The message the group gets for the `curveball` button: a question they can send as is."""
    return f"**Try asking the candidate:** {question}"
