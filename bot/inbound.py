"""The one inbound contract: what an adapter hands the core, and what it gets back.

An adapter turns a platform event (a slash command, a thread reply, a button
press) into an `Inbound` and calls `Engine.submit` once; the core dedupes it,
decides whether it concerns an interview, validates it and queues it in the
thread's durable inbox.  The `Receipt` says what happened and, where the
person should hear something at once (a refusal, help), the text to show them
privately (an ephemeral reply).  Everything said in the thread comes later,
through the adapter's `Sink`.
"""
from __future__ import annotations

import time
from enum import StrEnum

from pydantic import BaseModel, Field

from .messages import Action, Choice
from .state import ThreadRef


class EventKind(StrEnum):
    START = "start"          # `/interview <problem>` typed in a channel
    DIAGRAM = "diagram"      # `/diagram <system>` typed in a channel
    REPLY = "reply"          # a message in a thread
    BUTTON = "button"        # a button pressed (or a thread command such as Discord's `/end`)
    BEGIN = "begin"          # internal: the first event of a freshly opened thread
    TIMER = "timer"          # internal: a timer set by a step came due (`text` is its name)


TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")


class InboundAttachment(BaseModel):
    filename: str
    mime: str = ""
    size: int = 0              # bytes, as the platform reports them
    text: str | None = None    # the content, when the adapter read it (text files within the size limit)

    @property
    def is_text(self) -> bool:
        """A text or Markdown file: the only kind the bot reads."""
        return self.mime.split(";")[0].strip().startswith("text/") or self.filename.lower().endswith(TEXT_SUFFIXES)


def readable(attachment: InboundAttachment, limit_chars: int) -> bool:
    """Should an adapter download this file? Text files no bigger than the limit allows (4 bytes a character)."""
    return attachment.is_text and attachment.size <= limit_chars * 4


class Inbound(BaseModel):
    kind: EventKind
    ref: ThreadRef               # the thread; for START/DIAGRAM the channel (thread = "")
    event_id: str                # the platform's id for this delivery (dedupe)
    author_id: str = ""
    author: str = ""             # display name, when the platform gave one
    text: str = ""
    action: Action | None = None
    attachments: list[InboundAttachment] = Field(default_factory=list)
    bot_thread: bool = False     # the platform says the thread was started by this bot
    level: str = ""              # set by the core from the command text ("level: staff", "(L6)")
    pace: str = ""               # set by the core from the command text ("pace: interactive")
    received_at: float = Field(default_factory=time.time)

    @property
    def opens_thread(self) -> bool:
        return self.kind in (EventKind.START, EventKind.DIAGRAM)


class ReceiptKind(StrEnum):
    QUEUED = "queued"            # accepted; the thread will hear from the bot
    DUPLICATE = "duplicate"      # a repeated delivery, already handled or queued
    NOT_OURS = "not_ours"        # not an interview thread (or not an allowed channel): stay quiet
    REFUSED = "refused"          # bad input or wrong place; `text` says why
    HELP = "help"                # the person asked how to use the bot; `text` tells them
    HELD = "held"                # the store is down: kept in memory, handled when it is back
    SUGGEST = "suggest"          # no problem (or only part of one): `text` and `choices` offer bank problems


class Receipt(BaseModel):
    kind: ReceiptKind
    text: str | None = None      # shown privately to the person, at once (Markdown)
    # SUGGEST: problems to pick from (Choice.label is the problem; `suggest.picked` turns a pick into a
    # command) and `context`, an opaque string the adapter hands back with a pick or a search.
    choices: list[Choice] = Field(default_factory=list)
    context: str = ""

    @property
    def accepted(self) -> bool:
        return self.kind in (ReceiptKind.QUEUED, ReceiptKind.HELD)
