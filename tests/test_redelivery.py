"""A turn that a stopped (or dead) process had started is run again: the platform is asked what it shows."""
from __future__ import annotations

from bot.inbound import EventKind, Inbound
from bot.messages import Kind
from bot.state import InterviewState, ThreadRef
from bot.store import Forward
from tests.fakes.platform import platform_of
from tests.fakes.sinks import RecordingSink

REF = ThreadRef(platform="test", workspace="W", channel="C", thread="T-redelivered")


async def test_a_turn_a_stopped_process_had_started_asks_the_platform_what_it_already_shows(engine):
    """The questions were being written when the process died: the re-run turn lets the sink skip what the
    thread already shows (Slack reads the thread back; see tests/slack/test_continue.py)."""
    class RecoveringSink(RecordingSink):
        def __init__(self):
            super().__init__()
            self.recovered: list[str] = []

        async def recover(self, turn: str) -> None:
            self.recovered.append(turn)

    sink = RecoveringSink()
    platform_of(engine).current = sink
    store = engine.store
    ref = REF
    begin = Inbound(kind=EventKind.BEGIN, ref=ref, event_id="cmd-9:begin", author="ana")
    start_key = ref.model_copy(update={"thread": "start.cmd-9"}).key(store.prefix)
    await store.accept(start_key, begin.model_dump_json(), "cmd-9", require_thread=False)
    lease, _ = await store.claim(start_key)
    await store.complete(lease, None, Forward(key=ref.key(store.prefix),
                                              state=InterviewState(ref=ref, problem="Design a URL shortener"),
                                              event_raw=begin.model_dump_json()))
    crashed, head = await store.claim(ref.key(store.prefix))   # a process takes the turn, then stops
    assert head is not None and not head.redelivered
    await store.release(crashed)
    engine.pipeline.kick(ref.key(store.prefix))
    await engine.pipeline.idle()
    assert sink.recovered == ["cmd-9:begin:"]
    assert sink.of(Kind.QUESTIONS), "and the turn went on"
