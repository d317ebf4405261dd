"""The real discord.py client against the fake Discord, the fake model and (where it matters) real Redis."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.messages import Action
from bot.state import Phase, ThreadRef
from tests.discord.helpers import (
    CHANNEL_ID,
    assert_no_pings,
    callback,
    message_with_button,
    new_thread,
    settle,
    wait_text,
)
from tests.fakes.fake_discord import GUILD_ID, INTENT_MESSAGE_CONTENT
from tests.fakes.llm_script import last_user_text

QUESTIONS = "A few quick questions"
WRAP = "That's a wrap"


def ref_of(thread: dict) -> ThreadRef:
    return ThreadRef(platform="discord", workspace=str(GUILD_ID), channel=thread["parent_id"], thread=thread["id"])


async def test_whole_interview_in_a_public_thread(runner, discord_fake, fake_llm, redis_store):
    fake = discord_fake
    bot = await runner.start(store=redis_store)
    # Login: zlib-stream compression was asked for and honoured; the Message Content intent was requested.
    assert fake.gateway_queries[0].get("compress") == "zlib-stream"
    assert int(fake.identifies[0]["intents"]) & INTENT_MESSAGE_CONTENT
    assert {c["name"] for c in fake.commands[str(GUILD_ID)]} == {"interview", "diagram", "practice", "history", "end"}

    iid = await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    info = fake.interactions[iid]
    # The interaction was answered well inside the 3 s deadline, with a visible message.
    assert info["acked_at"] - info["sent_at"] < 1.0
    assert callback(fake, iid)["type"] == 4
    assert "Design a URL shortener" in callback(fake, iid)["data"]["content"]
    # A PUBLIC thread, named after the problem, in the channel the command was used in.
    create = fake.calls_to("POST", rf"/channels/{CHANNEL_ID}/threads")
    assert len(create) == 1 and create[0].json["type"] == 11
    assert thread["type"] == 11 and thread["name"] == "Interview: Design a URL shortener"

    # The questions arrive in the thread, with the Skip button; then the bot pauses.
    tid = int(thread["id"])
    text = await wait_text(fake, tid, QUESTIONS)
    assert "1. " in text and "2. " in text
    assert message_with_button(fake, tid, Action.SKIP.value) is not None
    await settle(0.5)
    assert "###" not in fake.thread_text(tid), "the design must wait for the answers"
    await settle(0.2)  # the state is saved right after the turn\'s last post
    state = await redis_store.load(ref_of(thread).key(redis_store.prefix))
    assert state.phase is Phase.WAITING_ANSWERS and 2 <= len(state.questions) <= 3
    design_requests = [r for r in fake_llm.requests if "Task: present the design." in last_user_text(r)]
    assert not design_requests

    # An answer in the thread starts the design, section by section; the last one carries End.
    await fake.say(tid, "About 100M links a month, 10k redirects per second at peak. No custom aliases.")
    await wait_text(fake, tid, "That's my design", timeout=20)
    text = fake.thread_text(tid)
    for heading in ("### Problem and scope", "### Functional requirements", "### API contracts",
                    "### Architecture diagram", "### Scaling, failures and security"):
        assert heading in text
    assert text.index("### Problem and scope") < text.index("### Architecture diagram")
    assert message_with_button(fake, tid, Action.END.value) is not None
    assert fake.typing and all(cid == tid for cid, _ in fake.typing)
    # The diagram's picture was attached to a message in the thread.
    assert any(f.endswith(".png") for c in fake.calls if c.path.startswith(f"/channels/{tid}/messages") for f in c.files)

    # /end inside the thread wraps up.
    end_id = await fake.slash("end", channel_id=tid)
    await wait_text(fake, tid, WRAP)
    assert callback(fake, end_id)["data"]["flags"] & 64   # ephemeral acknowledgement
    await settle(0.2)  # the state is saved right after the turn\'s last post
    state = await redis_store.load(ref_of(thread).key(redis_store.prefix))
    assert state.phase is Phase.ENDED

    # The interview went through the thread channel, never through interaction follow-ups.
    assert not [c for c in fake.calls if c.method == "POST" and c.path.startswith("/webhooks/")]
    assert all(c.path.endswith("/messages/@original") for c in fake.calls if c.path.startswith("/webhooks/"))
    assert len([c for c in fake.calls if c.path == f"/channels/{tid}/messages" and c.method == "POST"]) >= 8
    assert assert_no_pings(fake) > 10
    assert not fake.ratelimited
    assert bot.response_latencies and max(bot.response_latencies) < 1.0


async def test_several_members_answer_in_order(runner, discord_fake, fake_llm, redis_store):
    fake = discord_fake
    await runner.start(store=redis_store)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    alice, bob = 500000000000000001, 500000000000000002
    fake.add_member(alice, "alice")
    fake.add_member(bob, "bob")
    await asyncio.gather(fake.say(tid, "Scale: 10k redirects per second.", user_id=alice),
                         fake.say(tid, "We also need to support rate limiting per user.", user_id=bob))
    await wait_text(fake, tid, "That's my design", timeout=20)
    await wait_text(fake, tid, "Rate Limiter", timeout=20)
    design = [r for r in fake_llm.requests if "Task: present the design." in last_user_text(r)]
    discussion = [r for r in fake_llm.requests if "Task: discussion." in last_user_text(r)]
    assert len(design) == 1 and len(discussion) == 1
    from bot.framing import read_blocks
    answers = [(b.sender, b.text) for b in read_blocks(last_user_text(design[0])) if b.kind == "answer"]
    assert answers[0] == ("alice", "Scale: 10k redirects per second.")
    assert "rate limiting per user" in last_user_text(discussion[0])
    text = fake.thread_text(tid)
    assert "still working" not in text
    assert text.index("That's my design") < text.index("Rate Limiter")


async def test_persistent_button_works_after_a_restart(runner, discord_fake, redis_store):
    fake = discord_fake
    first = await runner.start(store=redis_store)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    msg = message_with_button(fake, tid, Action.SKIP.value)
    assert msg is not None
    await runner.stop(first)

    # A brand-new process (new client, new engine, same Redis) gets the press.
    await runner.start(store=redis_store)
    iid = await fake.press(int(msg["id"]), Action.SKIP.value)
    await fake.wait_for(lambda: callback(fake, iid), 5, "button acknowledgement")
    info = fake.interactions[iid]
    assert info["callback"]["type"] == 7 and info["acked_at"] - info["sent_at"] < 1.0
    await wait_text(fake, tid, "sensible defaults", timeout=10)
    await wait_text(fake, tid, "That's my design", timeout=20)
    assert fake.messages[int(msg["id"])]["components"] == []   # the pressed button is retired


async def test_reply_in_a_thread_the_client_has_not_cached(runner, discord_fake, redis_store):
    """After a restart an old thread may be unknown to discord.py: the bot fetches it once and carries on."""
    fake = discord_fake
    first = await runner.start(store=redis_store)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    await runner.stop(first)
    fake.threads_in_guild_create = False
    await runner.start(store=redis_store)
    await fake.say(tid, "skip")
    await wait_text(fake, tid, "That's my design", timeout=20)
    assert fake.calls_to("GET", rf"/channels/{tid}")


async def test_rest_429_is_obeyed(runner, discord_fake):
    fake = discord_fake
    await runner.start()
    fake.rate_limit("POST", r"/channels/\d+/messages", times=1, retry_after=0.4)
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    assert len(fake.ratelimited) == 1
    limited = fake.ratelimited[0]
    retried = [c for c in fake.calls if c.method == "POST" and c.path == limited.path and c.status == 200]
    assert retried and retried[0].at - limited.at >= 0.39


async def test_ignores_itself_other_bots_and_other_threads(runner, discord_fake, fake_llm):
    fake = discord_fake
    await runner.start()
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    await settle(0.2)
    llm_calls, posts = len(fake_llm.requests), len(fake.thread_messages(tid))
    in_channel = len(fake.thread_messages(CHANNEL_ID))

    await fake.say(tid, "I am another bot, skip", user_id=600000000000000001, bot=True)
    # A thread that is not an interview (someone else's thread in the same channel).
    other = await fake._create_thread(CHANNEL_ID, {"name": "chit-chat", "type": 11})
    other_id = int(json.loads(other.body)["id"])
    await settle(0.1)
    await fake.say(other_id, "hello, anyone designing things?")
    await fake.say(CHANNEL_ID, "a plain channel message")
    await settle(0.5)
    assert len(fake_llm.requests) == llm_calls
    assert len(fake.thread_messages(tid)) == posts
    assert fake.thread_messages(other_id) == [] and len(fake.thread_messages(CHANNEL_ID)) == in_channel
    # /end in a thread that is not an interview gets a clear ephemeral answer.
    iid = await fake.slash("end", channel_id=other_id)
    await fake.wait_for(lambda: callback(fake, iid), 5, "ephemeral reply")
    data = callback(fake, iid)["data"]
    assert data["flags"] & 64 and "isn't a mock interview" in data["content"]


async def test_duplicate_deliveries_are_processed_once(runner, discord_fake, fake_llm, redis_store):
    fake = discord_fake
    await runner.start(store=redis_store)
    iid = await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    # The gateway delivers the same interaction again (as after a RESUME): no second thread.
    await fake.slash("interview", {"problem": "Design a URL shortener"}, interaction_id=iid)
    await fake.say(tid, "skip", message_id=777000000000000001)
    await fake.say(tid, "skip", message_id=777000000000000001)
    await wait_text(fake, tid, "That's my design", timeout=20)
    await settle(0.5)
    assert len(fake.threads()) == 1
    assert fake.thread_text(tid).count("sensible defaults, say what they are") == 1
    assert len([r for r in fake_llm.requests if "Task: present the design." in last_user_text(r)]) == 1


async def test_resume_after_a_dropped_gateway_connection(runner, discord_fake):
    fake = discord_fake
    bot = await runner.start()
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    await wait_text(fake, tid, QUESTIONS)
    resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=15))
    await fake.drop_connections()
    await resumed
    assert fake.resumes == 1
    assert len(fake.identifies) == 1            # resumed, not re-identified
    await fake.say(tid, "skip")
    await wait_text(fake, tid, "That's my design", timeout=20)


async def test_dm_wrong_channel_and_missing_permissions_get_clear_ephemeral_answers(runner, discord_fake):
    fake = discord_fake
    await runner.start()
    from tests.fakes.fake_discord import ADMINISTRATOR, ALL_PERMISSIONS, VOICE_CHANNEL_ID

    dm = await fake.slash("interview", {"problem": "Design a URL shortener"}, guild=False)
    no_threads = await fake.slash("interview", {"problem": "Design a URL shortener"},
                                  app_permissions=ALL_PERMISSIONS & ~ADMINISTRATOR & ~(1 << 35))
    no_send = await fake.slash("diagram", {"system": "A chat app"},
                               app_permissions=ALL_PERMISSIONS & ~ADMINISTRATOR & ~(1 << 38) & ~(1 << 15))
    voice = await fake.slash("interview", {"problem": "Design a URL shortener"}, channel_id=VOICE_CHANNEL_ID)
    empty = await fake.slash("interview", {"problem": "   "})
    too_long = await fake.slash("interview", {"problem": "x" * 2500})
    for iid in (dm, no_threads, no_send, voice, empty, too_long):
        await fake.wait_for(lambda iid=iid: callback(fake, iid), 5, "ephemeral reply")
    texts = {}
    for name, iid in dict(dm=dm, no_threads=no_threads, no_send=no_send, voice=voice, empty=empty,
                          too_long=too_long).items():
        cb = callback(fake, iid)
        assert cb["type"] == 4 and cb["data"]["flags"] & 64, name
        texts[name] = cb["data"]["content"]
    assert "DMs" in texts["dm"]
    assert "Create Public Threads" in texts["no_threads"]
    assert "Send Messages in Threads" in texts["no_send"] and "Attach Files" in texts["no_send"]
    assert "text channels" in texts["voice"]
    assert "/interview" in texts["empty"] and "How to use me" in texts["empty"]
    assert "2,500 characters" in texts["too_long"]
    assert fake.threads() == []
    assert_no_pings(fake)


async def test_command_inside_a_thread_and_allow_list(runner, discord_fake):
    fake = discord_fake
    await runner.start(discord_allowed_channels="123456789")
    iid = await fake.slash("interview", {"problem": "Design a URL shortener"})
    await fake.wait_for(lambda: callback(fake, iid), 5, "reply")
    assert callback(fake, iid)["data"]["content"] == "I'm not enabled here: I only run interviews in <#123456789>."
    other = await fake._create_thread(CHANNEL_ID, {"name": "t", "type": 11})
    tid = int(json.loads(other.body)["id"])
    await settle(0.1)
    iid = await fake.slash("interview", {"problem": "Design a URL shortener"}, channel_id=tid)
    await fake.wait_for(lambda: callback(fake, iid), 5, "reply")
    assert "not inside a thread" in callback(fake, iid)["data"]["content"]
    assert len(fake.threads()) == 1


async def test_private_thread_option_and_diagram_mode(runner, discord_fake):
    fake = discord_fake
    await runner.start(discord_private_threads=True)
    await fake.slash("diagram", {"system": "A URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    assert thread["type"] == 12 and thread["name"] == "Diagram: A URL shortener"
    await fake.wait_for(lambda: fake.calls_to("PUT", rf"/channels/{tid}/thread-members/\d+"), 5, "member added")
    await wait_text(fake, tid, "### Walkthrough", timeout=20)
    assert "### Flow diagram" in fake.thread_text(tid)


async def test_global_sync_without_guild_id(runner, discord_fake):
    await runner.start(discord_guild_id=None)
    assert {c["name"] for c in discord_fake.commands["global"]} == {"interview", "diagram", "practice", "history", "end"}
    assert str(GUILD_ID) not in discord_fake.commands


async def test_missing_message_content_intent_warns_and_still_runs(runner, caplog):
    runner.fake.app_flags = 0
    await runner.start()
    assert any("Message Content intent is NOT enabled" in r.getMessage() for r in caplog.records)
    assert not int(runner.fake.identifies[0]["intents"]) & INTENT_MESSAGE_CONTENT
    iid = await runner.fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(runner.fake)
    await wait_text(runner.fake, thread["id"], QUESTIONS)
    assert callback(runner.fake, iid)["type"] == 4


@pytest.mark.discord_pace
async def test_live_preview_edits_stay_within_discord_pace(runner, discord_fake, fake_llm):
    """A slow model: text appears within a second of the first token, edits keep to the per-channel pace."""
    from tests.fakes.fake_anthropic import Reply
    from tests.fakes.llm_script import questions_reply

    fake = discord_fake
    await runner.start(preview_interval=1.2)
    fake_llm.replies.append(Reply(text=questions_reply(3), first_token_delay=0.3, tokens_per_second=60))
    t0 = time.monotonic()
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    first = await fake.wait_for(lambda: [c for c in fake.calls if c.path == f"/channels/{tid}/messages"], 5, "preview")
    assert first[0].at - t0 < 0.3 + 1.0
    await wait_text(fake, tid, QUESTIONS, timeout=20)
    edits = [c.at for c in fake.calls if c.method == "PATCH" and c.path.startswith(f"/channels/{tid}/messages/")]
    assert edits, "the preview should have been edited into the final text"
    for a, b in zip(edits, edits[5:]):
        assert b - a >= 5.0, "more than 5 edits in 5 s"
    assert not fake.ratelimited


async def test_retry_and_end_buttons(runner, discord_fake, fake_llm):
    """A model failure posts a Retry button; pressing it carries on. The End button on the design ends it."""
    from tests.fakes.fake_anthropic import Reply

    fake = discord_fake
    await runner.start()
    fake_llm.replies.extend(Reply(fault="500") for _ in range(3))   # the SDK's 1 + 2 retries all fail
    await fake.slash("interview", {"problem": "Design a URL shortener"})
    thread = await new_thread(fake)
    tid = int(thread["id"])
    err = await fake.wait_for(lambda: message_with_button(fake, tid, Action.RETRY.value), 15, "Retry button")
    iid = await fake.press(int(err["id"]), Action.RETRY.value)
    await wait_text(fake, tid, QUESTIONS)
    assert callback(fake, iid)["type"] == 7
    await fake.say(tid, "skip")
    await wait_text(fake, tid, "That's my design", timeout=20)
    end = message_with_button(fake, tid, Action.END.value)
    assert end is not None
    await fake.press(int(end["id"]), Action.END.value)
    await wait_text(fake, tid, WRAP)
    assert message_with_button(fake, tid, Action.END.value) is None


async def test_random_problem_names_the_thread_after_the_drawn_problem(runner, discord_fake, fake_llm):
    from bot.problems import INTERVIEW_PROBLEMS

    await runner.start()
    await discord_fake.slash("interview", {"problem": "random"})
    thread = await new_thread(discord_fake)
    assert thread["name"].removeprefix("Interview: ") in INTERVIEW_PROBLEMS
