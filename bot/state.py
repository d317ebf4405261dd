"""Typed interview state, stored as JSON (one document per thread).

The document carries a schema version so that a bot upgrade can tell an old
document from a corrupt one and offer a fresh start instead of crashing.
"""
from __future__ import annotations

import base64
import json
import time
import zlib
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer, field_validator

from .practice.model import PracticeState

SCHEMA_VERSION = 1


class Phase(StrEnum):
    NEW = "new"
    ASKING = "asking"                # the model is writing its clarifying questions
    WAITING_ANSWERS = "waiting_answers"
    COLLECTING = "collecting"        # answers are being gathered until the window closes (or Go)
    CHECK_IN = "check_in"            # interactive pace: waiting for the interviewer to confirm the scope
    CHOOSING = "choosing"            # interactive pace: waiting for the deep dive to be chosen
    PRESENTING = "presenting"        # the design is being posted, section by section
    DISCUSSING = "discussing"
    ENDED = "ended"


class Mode(StrEnum):
    INTERVIEW = "interview"
    DIAGRAM = "diagram"
    PRACTICE = "practice"       # reverse mode: the bot interviews the person who ran /practice


# Key layout (Redis and memory alike).  A thread's keys all start with
#     {prefix}:{platform}:{<bucket tag>}:{workspace}:{channel}:{thread}
# The part in braces is a Redis Cluster hash tag: one of BUCKETS short tags, picked by a hash of the
# whole thread id.  Every key a turn touches (state, inbox, lease, fence, event ids) and the bucket's
# index of threads with unhandled events (`{prefix}:active:{<bucket tag>}`) share that tag, so each
# store script runs in one cluster slot, and recovery reads BUCKETS small sets instead of scanning.
# BUCKETS is part of the key layout: changing it moves every thread to another key.
BUCKETS = 256


def bucket_tag(thread_id: str) -> str:
    """The hash tag (without braces) of a thread id: `t00` .. `tff`."""
    return f"t{zlib.crc32(thread_id.encode()) % BUCKETS:02x}"


def all_bucket_tags() -> list[str]:
    return [f"t{n:02x}" for n in range(BUCKETS)]


def platform_of_key(key: str, prefix: str) -> str:
    """The platform part of a thread key (the one parser of the layout above)."""
    return key[len(prefix) + 1:].split(":", 1)[0]


class ThreadRef(BaseModel):
    """Where a conversation lives; the only platform detail the core sees."""

    platform: str
    workspace: str = "-"
    channel: str
    thread: str

    def key(self, prefix: str = "ib") -> str:
        ident = f"{self.platform}:{self.workspace}:{self.channel}:{self.thread}"
        return f"{prefix}:{self.platform}:{{{bucket_tag(ident)}}}:{self.workspace}:{self.channel}:{self.thread}"

    def legacy_key(self, prefix: str = "ib") -> str:
        """The key this thread had before keys were hash-tagged (read once, by the migration)."""
        return f"{prefix}:{self.platform}:{self.workspace}:{self.channel}:{self.thread}"


class ImagePart(BaseModel):
    """An image sent to the model with one turn (its vision input); never stored with the history."""

    media_type: str
    data: bytes


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str
    images: list[ImagePart] = Field(default_factory=list, exclude=True)   # for this call only


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    calls: int = 0

    def minus(self, other: "Usage") -> "Usage":
        """What was used since `other` (an earlier copy of this usage)."""
        return Usage(input_tokens=self.input_tokens - other.input_tokens,
                     output_tokens=self.output_tokens - other.output_tokens,
                     cache_read_tokens=self.cache_read_tokens - other.cache_read_tokens,
                     cache_write_tokens=self.cache_write_tokens - other.cache_write_tokens,
                     calls=self.calls - other.calls)

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.calls += other.calls


class Answer(BaseModel):
    user: str
    text: str


class DeepDive(BaseModel):
    """A deep-dive candidate the candidate offered (interactive pace)."""

    name: str
    why: str = ""


class Pending(BaseModel):
    """A step that failed (model or network) and can be re-run with "retry"."""

    step: Step
    text: str = ""
    user: str = ""
    partial: str = ""   # design text already posted before the failure, so retry only adds what is missing


Step = Literal["questions", "design", "diagram", "discuss"]


class InFlight(BaseModel):
    """A turn that posted part of its answer and saved a checkpoint.

    If the process dies, the same inbox event is handled again; the engine
    sees `event_id` here and continues after what was posted instead of
    starting over.
    """

    event_id: str
    step: Step
    partial: str = ""   # the model's text so far (sections already posted are in `sections`)
    text: str = ""      # discuss: the message being answered, and who wrote it
    user: str = ""


class InterviewState(BaseModel):
    schema_version: int = SCHEMA_VERSION
    ref: ThreadRef
    mode: Mode = Mode.INTERVIEW
    phase: Phase = Phase.NEW
    problem: str
    started_by: str = ""
    level: str = "senior"       # the bar the candidate answers at (junior, mid, senior, staff)
    card_id: str | None = None  # the problem bank's interviewer card, when the problem is a known one
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    intro: str = ""
    questions: list[str] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    assumed_defaults: bool = False
    history: list[Turn] = Field(default_factory=list)
    sections: dict[str, str] = Field(default_factory=dict)
    graph: dict[str, Any] | None = None
    revisions: int = 0
    thrown: list[str] = Field(default_factory=list)   # curveballs already given to the group
    summary: str = ""   # running summary of discussion turns folded out of `history`
    ended_notice_sent: bool = False
    pending: Pending | None = None
    inflight: InFlight | None = None
    usage: Usage = Field(default_factory=Usage)
    # Pace and the answer window (see bot/pace_flow.py and bot/design_routes.py).
    pace: str = "full"                  # full | interactive
    design_step: int = 0                # interactive: the design step being (or next to be) written
    scope_notes: list[Answer] = Field(default_factory=list)   # replies to the scope check-in
    stop_at: float = 0.0                # interactive: when the current check-in or deep-dive offer was posted
    options: list[DeepDive] = Field(default_factory=list)     # deep-dive candidates offered
    deep_dive: str = ""                 # the deep dive chosen, as the prompt gives it
    collect_until: int = 0              # epoch second the answer window closes (its timer's name)
    practice: PracticeState | None = None   # practice mode only

    @field_serializer("history")
    def _pack_history(self, history: list[Turn]) -> dict[str, str]:
        """Stored compressed: the conversation is most of the document and compresses about fourfold."""
        raw = json.dumps([t.model_dump() for t in history], separators=(",", ":")).encode()
        return {"zlib": base64.b64encode(zlib.compress(raw, 1)).decode()}

    @field_validator("history", mode="before")
    @classmethod
    def _unpack_history(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("zlib"), str):
            try:
                return json.loads(zlib.decompress(base64.b64decode(value["zlib"])))
            except (ValueError, zlib.error) as exc:
                raise ValueError(f"history does not unpack ({exc.__class__.__name__})") from None
        return value   # a plain list (documents written before compression)

    def touch(self) -> None:
        self.updated_at = time.time()
