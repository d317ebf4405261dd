"""What the core says, in platform-free terms.

The engine never talks to Slack or Discord.  It hands `OutMessage`s (Markdown
plus optional buttons and attachments) to a `Sink` that each adapter
implements; the adapter decides how Markdown, buttons and files look there.
"""
from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # pragma: no cover
    from .state import ThreadRef


class Action(StrEnum):
    """Button actions. The values double as stable custom_ids/action_ids."""

    SKIP = "ib_skip_questions"
    END = "ib_end_interview"
    RETRY = "ib_retry"
    CONTINUE = "ib_continue"      # interactive pace: the scope is right (or: candidate, pick the deep dive)
    GO = "ib_go"                  # the answer window: start the design now
    CURVEBALL = "ib_curveball"    # a follow-up for the group to throw at the candidate
    CHOOSE = "ib_choose"          # one of a message's `choices`; its index comes as the event's text


ACTION_LABELS: dict[Action, str] = {
    Action.SKIP: "Skip questions, assume sensible defaults",
    Action.END: "End interview",
    Action.RETRY: "Retry",
    Action.CONTINUE: "Continue",
    Action.GO: "Go: start the design",
    Action.CURVEBALL: "Curveball for the candidate",
    Action.CHOOSE: "Choose",
}

# Buttons with a fixed label and id; CHOOSE buttons are made per message from its `choices`.
BUTTON_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.CHOOSE)
MAX_CHOICES = 5
_CHOICE_SEP = ":"


class Choice(BaseModel):
    """A button with a label written for this message (a deep-dive candidate); pressed, it arrives as
    `Inbound(kind=BUTTON, action=Action.CHOOSE, text=str(index))`."""

    index: int = Field(ge=0, lt=MAX_CHOICES)
    label: str


def choice_id(index: int) -> str:
    """The platform id (Slack action_id, Discord custom_id) of a choice button."""
    return f"{Action.CHOOSE.value}{_CHOICE_SEP}{index}"


# Every choice button's id, for a platform that routes by pattern (Bolt's `app.action`).
CHOICE_ID_RE = re.compile("^" + re.escape(Action.CHOOSE.value + _CHOICE_SEP) + "[0-9]+$")


def read_button_id(raw: str) -> tuple[Action, str] | None:
    """(action, text) for a button id an adapter got back; text is the choice index for CHOOSE. None: not ours."""
    if raw.startswith(Action.CHOOSE.value + _CHOICE_SEP):
        index = raw[len(Action.CHOOSE.value) + 1:]
        return (Action.CHOOSE, index) if index.isdigit() and int(index) < MAX_CHOICES else None
    try:
        action = Action(raw)
    except ValueError:
        return None
    return (action, "") if action is not Action.CHOOSE else None


class Kind(StrEnum):
    QUESTIONS = "questions"   # the restatement plus clarifying questions; the bot then waits
    SECTION = "section"       # one design section
    ANSWER = "answer"         # a discussion reply
    NOTICE = "notice"         # short status line (answer cut, assumptions taken)
    CHECK_IN = "check_in"     # the candidate asks the group (scope, deep dive); the bot then waits
    CARD = "card"             # the problem bank's notes for whoever plays the interviewer
    WRAP_UP = "wrap_up"       # the interview has ended
    SCORECARD = "scorecard"   # practice mode: the candidate's scorecard, as its own message
    ERROR = "error"           # something failed; state is unchanged


class Attachment(BaseModel):
    filename: str
    data: bytes
    mime: str = "image/png"


class OutMessage(BaseModel):
    kind: Kind
    markdown: str
    section: str | None = None
    actions: list[Action] = Field(default_factory=list)
    choices: list[Choice] = Field(default_factory=list)   # shown before the actions
    attachments: list[Attachment] = Field(default_factory=list)
    # Ties this final message to the `partial` previews sent for it, so an
    # adapter that showed a live preview can replace it instead of posting twice.
    stream_id: str | None = None
    # The same for the same message of the same turn, also when a turn is continued after a crash:
    # a platform that can drop a repeated post by key (Discord's nonce) uses it.
    dedupe_key: str | None = None


class DeliveryError(Exception):
    """An adapter could not deliver a message, even after its own retries.

    Adapters raise it (and nothing else) from `Sink.post`; the engine then
    keeps the step for *retry* and never records the message as posted.
    """


@runtime_checkable
class Sink(Protocol):
    """Implemented by every adapter, one instance per thread and turn."""

    async def post(self, message: OutMessage) -> None:
        """Deliver a finished message (replace the preview of `stream_id` if one is shown).

        Raises `DeliveryError` when the platform would not take it."""

    async def partial(self, stream_id: str, markdown: str) -> None:
        """The text so far of a message still being written; adapters may throttle or ignore."""

    # Optional: `async def recover(self, turn: str) -> None`, called when a turn cut short by a crash is
    # continued. A sink that can read back what the thread shows skips messages whose `dedupe_key` starts
    # with `turn` and are already there, and clears live previews that were never finished. (Discord's
    # nonce does the first part on its own.)


@runtime_checkable
class Platform(Protocol):
    """What an adapter offers the core for delivery: one per platform, registered with the engine."""

    name: str
    # Slack has no slash commands inside threads; the core words its hints accordingly.
    commands_in_threads: bool
    # Optional `suggests_problems = True`: the platform has no autocomplete, so a command with no problem
    # (or only the start of one) gets a SUGGEST receipt with the bank's matches (bot/suggest.py).

    def sink(self, ref: "ThreadRef") -> Sink:
        """Where messages for this thread go."""

    async def open_thread(self, where: "ThreadRef", title: str, announce: str, event_id: str) -> "ThreadRef":
        """Open a thread in `where.channel`, showing `announce`; its ref. Raises DeliveryError."""

    # Optional: `async def find_thread(self, where, event_id) -> ThreadRef | None`, the thread `open_thread`
    # opened for this command earlier (a process that stopped before saving it); asked only then.

    async def display_name(self, author_id: str, fallback: str) -> str:
        """A person's display name (cached by the adapter); `fallback` when unknown."""
