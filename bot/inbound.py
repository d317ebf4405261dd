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

from pydantic import BaseModel, ConfigDict, Field

from .messages import Action, Choice
from .state import ThreadRef


class EventKind(StrEnum):
    START = "start"          # `/interview <problem>` typed in a channel
    DIAGRAM = "diagram"      # `/diagram <system>` typed in a channel
    REPLY = "reply"          # a message in a thread
    BUTTON = "button"        # a button pressed (or a thread command such as Discord's `/end`)
    BEGIN = "begin"          # internal: the first event of a freshly opened thread
    TIMER = "timer"          # internal: a timer set by a step came due (`text` is its name)
    PRACTICE = "practice"    # `/practice <problem>` typed in a channel: the bot interviews the person
    HISTORY = "history"      # `/history [@someone]`: answered at once (the receipt's text), no thread; `text` holds
                             # the platform id of the person asked about, empty for oneself


TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")


class InboundAttachment(BaseModel):
    # Image bytes travel through the durable inbox as JSON: base64 there, bytes in Python.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    filename: str
    mime: str = ""
    size: int = 0              # bytes, as the platform reports them
    text: str | None = None    # the content, when the adapter read it (text files within the size limit)
    data: bytes | None = None  # the bytes, when the adapter fetched an image (see `fetch_as`)

    @property
    def is_text(self) -> bool:
        """A text or Markdown file: the only kind the bot reads."""
        return self.mime.split(";")[0].strip().startswith("text/") or self.filename.lower().endswith(TEXT_SUFFIXES)

    @property
    def is_image(self) -> bool:
        """An image by its type or name (what it really is is checked on its bytes, in the core)."""
        return self.mime.split(";")[0].strip().startswith("image/") or self.filename.lower().endswith(IMAGE_SUFFIXES)


class FetchAs(StrEnum):
    """What an adapter should download of an attachment: the core decides, the adapter only fetches."""

    TEXT = "text"     # read it as UTF-8 into `text`
    IMAGE = "image"   # put its bytes into `data`
    NONE = "none"     # leave it; the core tells the person why


def fetch_as(attachment: InboundAttachment, settings) -> FetchAs:
    """Text files within MAX_ATTACHMENT_CHARS (4 bytes a character), images within PRACTICE_MAX_IMAGE_BYTES."""
    if readable(attachment, settings.max_attachment_chars):
        return FetchAs.TEXT
    if attachment.is_image and 0 < attachment.size <= settings.practice_max_image_bytes:
        return FetchAs.IMAGE
    return FetchAs.NONE


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
        return self.kind in (EventKind.START, EventKind.DIAGRAM, EventKind.PRACTICE)


class ReceiptKind(StrEnum):
    QUEUED = "queued"            # accepted; the thread will hear from the bot
    DUPLICATE = "duplicate"      # a repeated delivery, already handled or queued
    NOT_OURS = "not_ours"        # not an interview thread (or not an allowed channel): stay quiet
    REFUSED = "refused"          # bad input or wrong place; `text` says why
    HELP = "help"                # the person asked how to use the bot; `text` tells them
    HELD = "held"                # the store is down: kept in memory, handled when it is back
    SUGGEST = "suggest"          # no problem (or only part of one): `text` and `choices` offer bank problems
    INFO = "info"                # answered at once, privately (`/history`); `text` holds the answer


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
