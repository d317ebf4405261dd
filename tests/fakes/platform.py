"""A platform for core tests: opens threads where it is told and records what is said."""
from __future__ import annotations

import uuid

from bot.inbound import EventKind, Inbound, Receipt, ReceiptKind
from bot.messages import Action, Kind, OutMessage
from bot.state import Mode, ThreadRef
from tests.fakes.sinks import RecordingSink


class RecordingPlatform:
    """The engine's `Platform` for tests: every thread's messages go to the current sink."""

    name = "test"
    commands_in_threads = True

    def __init__(self) -> None:
        self.current = RecordingSink()
        self.opened: list[ThreadRef] = []
        self.announced: list[str] = []

    def sink(self, ref: ThreadRef) -> RecordingSink:
        return self.current

    async def open_thread(self, where: ThreadRef, title: str, announce: str, event_id: str) -> ThreadRef:
        ref = where.model_copy(update={"thread": where.thread or f"T-{event_id}"})
        self.opened.append(ref)
        self.announced.append(announce)
        return ref

    async def display_name(self, author_id: str, fallback: str) -> str:
        return fallback


def platform_of(engine) -> RecordingPlatform:
    platform = engine.platforms.get("test")
    if platform is None:
        platform = RecordingPlatform()
        engine.register(platform)
    return platform


async def submit(engine, event: Inbound, sink: RecordingSink | None, *, wait: bool = True) -> Receipt:
    """Submit like an adapter would (showing a private reply as a notice), then wait for the turn."""
    platform = platform_of(engine)
    if sink is not None:
        platform.current = sink
    receipt = await engine.submit(event)
    if receipt.text and receipt.kind in (ReceiptKind.REFUSED, ReceiptKind.HELP, ReceiptKind.NOT_OURS):
        platform.current.messages.append(OutMessage(kind=Kind.NOTICE, markdown=receipt.text))
    if wait:
        await engine.pipeline.idle()
    return receipt


async def start(engine, ref: ThreadRef, problem: str, *, user: str = "", sink: RecordingSink | None = None,
                event_id: str | None = None, mode: Mode = Mode.INTERVIEW, wait: bool = True) -> Receipt:
    kind = EventKind.DIAGRAM if mode is Mode.DIAGRAM else EventKind.START
    return await submit(engine, Inbound(kind=kind, ref=ref, event_id=event_id or uuid.uuid4().hex, author=user,
                                        text=problem), sink, wait=wait)


async def reply(engine, ref: ThreadRef, text: str, *, user: str = "", sink: RecordingSink | None = None,
                event_id: str | None = None, wait: bool = True) -> Receipt:
    return await submit(engine, Inbound(kind=EventKind.REPLY, ref=ref, event_id=event_id or uuid.uuid4().hex,
                                        author=user, text=text), sink, wait=wait)


async def press(engine, ref: ThreadRef, action: Action, *, user: str = "", sink: RecordingSink | None = None,
                event_id: str | None = None, wait: bool = True) -> Receipt:
    return await submit(engine, Inbound(kind=EventKind.BUTTON, ref=ref, event_id=event_id or uuid.uuid4().hex,
                                        author=user, action=action), sink, wait=wait)
