"""Problem suggestions for a command with no problem (or only the start of one), for platforms
without autocomplete (Slack slash commands have none).

`/interview` or `/interview chat level: staff` answers privately with the bank's matching problems to
pick from, and a search over the whole bank; a pick starts the command as if it had been typed in full,
keeping the options typed with it (level, pace).  The core owns the search, the wording and the
`context` string that carries the command and its options through the platform and back.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import texts
from .command_options import parse_options
from .inbound import EventKind
from .messages import MAX_CHOICES, Choice
from .problems import MatchKind, autocomplete, match_card, parse_random

MAX_WORDS = 3          # more typed words than this are a problem as written, never a partial one
SEARCH_LIMIT = 100     # Slack shows at most 100 options in a menu
_SEP = "|"
_KINDS = {"interview": EventKind.START, "diagram": EventKind.DIAGRAM}


@dataclass(frozen=True)
class Suggestion:
    text: str                 # what to say (Markdown)
    choices: list[Choice]     # the best matches, as buttons (label: the problem)
    context: str              # hand back with `search` and `picked`


def _carry(text: str) -> str:
    """The options typed with the command, in a form `parse_options` reads back: '(staff, interactive)'."""
    options = parse_options(text)
    words = [o.value for o in (options.level, options.pace) if o is not None]
    return f"({', '.join(words)})" if words else ""


def command_suggestion(text: str, *, diagram: bool = False) -> Suggestion | None:
    """Problems to offer instead of starting, or None when the text is a problem (or a random ask)."""
    typed = parse_options(text).text.strip()
    if parse_random(typed) is not None or len(typed.split()) > MAX_WORDS:
        return None
    if typed and match_card(typed).kind is MatchKind.EXACT:
        return None
    matches = autocomplete(typed, diagram=diagram)
    if typed and not matches:
        return None
    command = "diagram" if diagram else "interview"
    choices = [Choice(index=i, label=p) for i, p in enumerate(matches[:MAX_CHOICES])]
    return Suggestion(texts.pick_a_problem(f"/{command}", typed), choices, f"{command}{_SEP}{_carry(text)}")


def search(typed: str, context: str) -> list[str]:
    """The bank's problems matching what was typed into the suggestion menu, best first."""
    command = context.split(_SEP, 1)[0]
    return autocomplete(typed, diagram=command == "diagram")[:SEARCH_LIMIT]


def picked(context: str, problem: str) -> tuple[EventKind, str] | None:
    """The command a pick starts: its kind and its text (the problem, then the options typed before)."""
    command, _, carry = context.partition(_SEP)
    kind = _KINDS.get(command)
    if kind is None or not problem.strip():
        return None
    return kind, f"{problem.strip()} {carry}".strip()
