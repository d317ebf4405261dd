"""Discord REST faults on posts: a 5xx is retried, a refusal or a hang is reported, never silent."""
from __future__ import annotations

import logging

from adapters.discord.views import ThreadSink
from bot.messages import Kind, OutMessage
from tests.discord.helpers import message_with_button, new_thread, wait_text
from tests.fakes.fake_discord import FakeDiscord

QUESTIONS = "A few quick questions"


def thread_posts(fake: FakeDiscord, tid: int) -> str:
    return rf"/channels/{tid}/messages"


async def test_a_500_on_a_post_is_retried_and_posted_once(runner, discord_fake, fake_llm):
    fake = discord_fake
    await runner.start()
    fake.fail("POST", r"/channels/\d+/messages", times=1, status=500)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS, timeout=20)
    assert fake.thread_text(tid).count(QUESTIONS) == 1
    assert [c.status for c in fake.calls if c.method == "POST" and c.path == f"/channels/{tid}/messages"][0] == 500


async def test_a_refused_post_is_reported_and_the_thread_goes_on(runner, discord_fake, fake_llm, caplog):
    from bot.messages import Action

    fake = discord_fake
    await runner.start(preview_interval=None)
    caplog.set_level(logging.ERROR)
    fake.fail("POST", r"/channels/\d+/messages", times=1, status=403)   # the questions are refused once
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    err = await fake.wait_for(lambda: message_with_button(fake, tid, Action.RETRY.value), 20, "the retry notice")
    assert "couldn't post" in err["content"]
    assert any(str(tid) in r.getMessage() for r in caplog.records), "the failure is logged with the thread key"
    await fake.press(int(err["id"]), Action.RETRY.value)
    await wait_text(fake, tid, QUESTIONS, timeout=20)


async def test_a_hung_post_times_out_into_a_retry_notice(runner, discord_fake, fake_llm):
    from bot.messages import Action

    fake = discord_fake
    await runner.start(preview_interval=None, discord_timeout=0.5)
    fake.fail("POST", r"/channels/\d+/messages", times=1, status=503, delay=1.5)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    err = await fake.wait_for(lambda: message_with_button(fake, tid, Action.RETRY.value), 20, "the retry notice")
    assert "couldn't post" in err["content"]


async def test_a_markdown_file_is_read_as_the_answer(runner, discord_fake, fake_llm):
    from tests.fakes.llm_script import last_user_text

    fake = discord_fake
    await runner.start()
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS, timeout=20)
    answers = fake.attachment("answers.md", b"# Answers\n100M links a month, p99 50 ms", "text/markdown")
    picture = fake.attachment("board.png", b"\x89PNG\r\n", "image/png")
    await fake.say(tid, "", attachments=[answers, picture])
    await wait_text(fake, tid, "That's my design", timeout=20)
    assert "board.png" in fake.thread_text(tid) and "text or Markdown" in fake.thread_text(tid)
    design = [r for r in fake_llm.requests if "Task: present the design." in last_user_text(r)]
    assert "100M links a month" in last_user_text(design[0])


async def test_problem_autocomplete_comes_from_the_bank(runner, discord_fake):
    fake = discord_fake
    await runner.start()
    iid = await fake.autocomplete("interview", "problem", "tiny")
    cb = await fake.wait_for(lambda: fake.interactions[iid]["callback"], 5, "the choices")
    assert cb["type"] == 8
    names = [c["name"] for c in cb["data"]["choices"]]
    assert names and "URL shortener" in names[0]


async def interview_thread(runner, fake):
    """A running bot, an interview thread's channel, and how many messages it held before the test posts."""
    bot = await runner.start()
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    channel = bot.get_channel(int(thread["id"])) or await bot.fetch_channel(int(thread["id"]))
    return channel, len(fake.thread_messages(channel.id))


async def test_a_section_posted_again_after_a_crash_is_dropped_by_its_nonce(runner, discord_fake):
    """A turn continued after a crash may post a message it had posted just before dying: Discord drops it."""
    fake = discord_fake
    channel, before = await interview_thread(runner, fake)
    section = OutMessage(kind=Kind.SECTION, markdown="### Deep dive\nThe code generator...", section="deep_dive",
                         stream_id="design:deep_dive", dedupe_key="discord:message:1:design:deep_dive")
    await ThreadSink(channel, min_interval=None).post(section)
    await ThreadSink(channel, min_interval=None).post(section)     # the continued turn posts it again
    texts = [m["content"] for m in fake.thread_messages(channel.id)[before:]]
    assert texts.count("### Deep dive\nThe code generator...") == 1


async def test_a_preview_left_by_a_stopped_process_becomes_the_final_message(runner, discord_fake):
    """The stopped process showed a live preview of a section; the continued turn finishes that message."""
    fake = discord_fake
    channel, before = await interview_thread(runner, fake)
    key = "discord:message:7:design:deep_dive"
    await ThreadSink(channel, min_interval=0).partial(key, "### Deep dive\nThe code gen")   # then the crash
    final = "### Deep dive\nThe code generator hands out ranges."
    await ThreadSink(channel, min_interval=None).post(OutMessage(kind=Kind.SECTION, markdown=final,
                                                                 stream_id=key, dedupe_key=key))
    texts = [m["content"] for m in fake.thread_messages(channel.id)[before:]]
    assert [t for t in texts if t.startswith("### Deep dive")] == [final], texts
