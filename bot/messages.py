"""What the core says, in platform-free terms.

The engine never talks to Slack or Discord.  It hands `OutMessage`s (Markdown
plus optional buttons and attachments) to a `Sink` that each adapter
implements; the adapter decides how Markdown, buttons and files look there.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field


class Action(StrEnum):
    """Button actions. The values double as stable custom_ids/action_ids."""

    SKIP = "ib_skip_questions"
    END = "ib_end_interview"
    RETRY = "ib_retry"


ACTION_LABELS: dict[Action, str] = {
    Action.SKIP: "Skip questions, assume sensible defaults",
    Action.END: "End interview",
    Action.RETRY: "Retry",
}


class Kind(StrEnum):
    QUESTIONS = "questions"   # the restatement plus clarifying questions; the bot then waits
    SECTION = "section"       # one design section
    ANSWER = "answer"         # a discussion reply
    NOTICE = "notice"         # short status line (answer cut, assumptions taken, ended)
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
    attachments: list[Attachment] = Field(default_factory=list)
    # Ties this final message to the `partial` previews sent for it, so an
    # adapter that showed a live preview can replace it instead of posting twice.
    stream_id: str | None = None


@runtime_checkable
class Sink(Protocol):
    """Implemented by every adapter, one instance per thread and turn."""

    async def post(self, message: OutMessage) -> None:
        """Deliver a finished message (replace the preview of `stream_id` if one is shown)."""

    async def partial(self, stream_id: str, markdown: str) -> None:
        """The text so far of a message still being written; adapters may throttle or ignore."""
