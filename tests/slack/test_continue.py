"""A turn continued after a crash: Slack shows each message once and no preview stays unfinished.

Slack has no idempotency key for chat.postMessage, so our messages carry message metadata (the core's
dedupe key, or "preview"); a continued turn reads the thread back once and skips what is already there.
"""
from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.api import SlackApi
from adapters.slack.sink import SlackSink
from bot.messages import Kind, OutMessage


def section(key: str, text: str) -> OutMessage:
    return OutMessage(kind=Kind.SECTION, markdown=f"### {text}\nbody of {text}", stream_id=key.split(":", 1)[1],
                      dedupe_key=key)


def api_for(fake) -> SlackApi:
    return SlackApi(AsyncWebClient(token=fake.token, base_url=fake.base_url), post_burst=1000, post_rate=1000,
                    update_burst=1000, update_rate=1000)


async def test_a_continued_turn_skips_what_the_thread_shows_and_clears_stale_previews(fake_slack):
    fake = fake_slack
    parent = (await api_for(fake).client.chat_postMessage(channel="C1", text="Interview: URL shortener"))["ts"]
    # The process that crashed: two sections posted (the second finished from its live preview), a third
    # one still a preview, and a message of an earlier turn with the same stream name.
    first = SlackSink(api_for(fake), "C1", parent, preview_interval=0.0, preview_delay=0.0)
    await first.post(section("ev0:design:scope", "Old scope"))
    await first.post(section("ev1:design:scope", "Scope"))
    await first.partial("design:functional", "### Functional\nhalf of it")
    await first.post(section("ev1:design:functional", "Functional"))
    await first.partial("design:api", "### API\nhalf of it")
    assert len(fake.thread("C1", parent)) == 4

    # The process that continues the turn.
    second = SlackSink(api_for(fake), "C1", parent, preview_interval=0.0, preview_delay=0.0)
    await second.recover("ev1:")
    assert [m["text"] for m in fake.deleted] == ["*API*\nhalf of it …"], "the unfinished preview is removed"
    for key, title in [("ev1:design:scope", "Scope"), ("ev1:design:functional", "Functional"),
                       ("ev1:design:api", "API")]:
        await second.partial(key.split(":", 1)[1], f"### {title}\nagain")
        await second.post(section(key, title))
    texts = [m["text"] for m in fake.thread("C1", parent)]
    assert [t.splitlines()[0] for t in texts] == ["*Old scope*", "*Scope*", "*Functional*", "*API*"], texts
    assert not any(t.rstrip().endswith("…") for t in texts), "no preview is left behind"
    # A new turn (another event) posts under its own keys as usual.
    await second.post(section("ev2:design:scope", "Scope"))
    assert len(fake.thread("C1", parent)) == 5


async def test_reading_the_thread_back_failing_only_costs_the_skip(fake_slack, caplog):
    fake = fake_slack
    parent = (await api_for(fake).client.chat_postMessage(channel="C1", text="Interview"))["ts"]
    sink = SlackSink(api_for(fake), "C1", parent, preview_interval=None)
    fake.fail("conversations.replies", error="missing_scope")
    await sink.recover("ev1:")
    assert "could not read C1/" in caplog.text
    await sink.post(section("ev1:design:scope", "Scope"))
    assert len(fake.thread("C1", parent)) == 1


async def test_a_command_run_again_after_a_crash_reuses_the_thread_it_had_opened(slack):
    """The process opened the thread and died before saving it: the command's re-run finds that thread."""
    from bot.inbound import EventKind, Inbound
    from bot.state import ThreadRef

    fake, engine, store = slack.fake, slack.bot.engine, slack.bot.engine.store
    command = Inbound(kind=EventKind.START, ref=ThreadRef(platform="slack", workspace=fake.team_id, channel="C1",
                                                          thread=""), event_id="cmd-crash", text="Design a URL shortener")
    key = engine.inbox_key(command)
    await store.accept(key, command.model_dump_json(), command.event_id, require_thread=False)
    lease, head = await store.claim(key)                       # the process that dies takes the command...
    await slack.bot.open_thread(command.ref, "Interview: URL shortener", "**Mock interview:** URL shortener",
                                command.event_id)             # ...opens its thread, and dies before saving
    await store.release(lease)
    assert len(fake.channel_messages("C1")) == 1
    engine.pipeline.kick(key)
    await slack.settle()
    parents = fake.channel_messages("C1")
    assert len(parents) == 1, [p["text"] for p in parents]
    assert any("quick questions" in m["text"] for m in fake.thread("C1", parents[0]["ts"]))
