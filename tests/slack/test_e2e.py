"""End to end: signed requests into the real Bolt app, real AsyncWebClient out to the fake Slack."""
from __future__ import annotations

import re

from bot.messages import Action

MENTION = re.compile(r"<[!@]|(?<![\w\u200b])@(channel|here|everyone)\b", re.I)


def no_mentions(fake) -> None:
    for s in fake.sent_strings():
        assert not MENTION.search(s), f"mention leaked: {s[:200]!r}"


async def test_whole_interview_in_a_thread(slack):
    fake = slack.fake
    status, body = await slack.command("Design a URL shortener")
    assert status == 200 and body == ""
    await slack.settle()

    parent = slack.parent()
    assert "Mock interview" in parent["text"] and "URL shortener" in parent["text"] and "alice" in parent["text"]
    thread = parent["ts"]
    texts = slack.thread_texts(thread)
    assert texts and "quick questions" in texts[-1]
    # the questions message carries the Skip button
    q = fake.thread("C1", thread)[-1]
    assert any(e["action_id"] == Action.SKIP.value for b in q["blocks"] if b["type"] == "actions" for e in b["elements"])
    # paused: nothing more until someone answers
    n_calls = len(fake.calls)
    await slack.settle()
    assert len(fake.calls) == n_calls

    status, _ = await slack.reply(thread, "About 100M links a month, 10k redirects per second at peak.")
    assert status == 200
    await slack.settle()
    texts = slack.thread_texts(thread)
    joined = "\n".join(texts)
    for title in ("Functional requirements", "High-level design", "Scaling"):
        assert title.lower() in joined.lower(), title
    assert fake.files and fake.files[0]["thread_ts"] == thread  # PNG diagram uploaded into the thread
    assert "```" in joined  # diagram text kept in a code block
    last = fake.thread("C1", thread)[-1]
    assert any(e["action_id"] == Action.END.value for b in last["blocks"] if b["type"] == "actions" for e in b["elements"])

    await slack.reply(thread, "How does a redirect flow through the system?")
    await slack.settle()
    assert "load balancer" in slack.thread_texts(thread)[-1].lower()

    await slack.reply(thread, "end")
    await slack.settle()
    assert "That's a wrap" in slack.thread_texts(thread)[-1]

    # every message after the parent went to the thread
    for call in fake.api_calls("chat.postMessage"):
        if call.args.get("ts") == thread or "Mock interview" in call.text:
            continue
        assert call.thread_ts == thread, call.args
    for call in fake.api_calls("files.completeUploadExternal"):
        assert call.thread_ts == thread
    no_mentions(fake)


async def test_pause_after_questions_until_someone_answers(slack, fake_llm):
    await slack.command("Design a chat app")
    await slack.settle()
    thread = slack.parent()["ts"]
    questions = slack.thread_texts(thread)[-1]
    numbered = [line for line in questions.split("\n") if re.match(r"^\d\. ", line)]
    assert 2 <= len(numbered) <= 3
    calls, llm_calls = len(slack.fake.calls), len(fake_llm.requests)
    import asyncio
    await asyncio.sleep(0.3)
    await slack.settle()
    assert len(slack.fake.calls) == calls and len(fake_llm.requests) == llm_calls


async def test_several_people_reply_in_order(slack, fake_llm):
    import asyncio
    slack.fake.users.update({"UALICE": "alice", "UBOB": "bob"})
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    r1, r2 = await asyncio.gather(slack.reply(thread, "10k redirects per second", user="UALICE"),
                                  slack.reply(thread, "No custom aliases needed", user="UBOB"))
    assert r1[0] == r2[0] == 200
    await slack.settle()
    texts = slack.thread_texts(thread)
    assert sum("Functional requirements" in t for t in texts) == 1  # the design was presented once
    prompts = [m["content"] if isinstance(m["content"], str) else " ".join(b.get("text", "") for b in m["content"])
               for r in fake_llm.requests for m in r["messages"] if m["role"] == "user"]
    joined = "\n".join(prompts)
    assert "alice" in joined and "bob" in joined
    # the second person's message was handled after the design, as a discussion turn
    assert texts[-1] and "Over to you" not in texts[-1]
    no_mentions(slack.fake)


async def test_duplicate_event_delivery_is_processed_once(slack, fake_llm):
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    await slack.reply(thread, "skip")
    await slack.settle()
    before_llm, before_posts = len(fake_llm.requests), len(slack.fake.api_calls("chat.postMessage"))
    body_event = dict(type="message", channel="C1", user="UALICE", text="How do redirects work?",
                      ts="1800000000.000100", thread_ts=thread, team="T0TEAM")
    first = await slack.event(body_event, event_id="EvDUP1")
    retry = await slack.event(body_event, event_id="EvDUP1",
                              headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await slack.settle()
    again = await slack.event(body_event, event_id="EvDUP1", headers={"X-Slack-Retry-Num": "2"})
    await slack.settle()
    assert first[0] == retry[0] == again[0] == 200
    assert len(fake_llm.requests) == before_llm + 1
    new_posts = slack.fake.api_calls("chat.postMessage")[before_posts:]
    assert len(new_posts) == 1


async def test_bad_or_stale_signature_is_rejected_and_touches_nothing(slack, fake_llm):
    body = slack.event_body({"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.1",
                             "thread_ts": "1.0"})
    status, _ = await slack.send(body, "application/json", sign=slack.sign(body, secret="wrong"))
    assert status == 401
    import time
    stale = str(int(time.time()) - 600)
    status, _ = await slack.send(body, "application/json", sign=slack.sign(body, timestamp=stale))
    assert status == 401
    status, _ = await slack.send(body, "application/json", sign={})
    assert status == 401
    import urllib.parse
    form = urllib.parse.urlencode({"command": "/interview", "text": "Design X", "channel_id": "C1",
                                   "user_id": "U1", "team_id": "T0TEAM", "trigger_id": "t"})
    status, _ = await slack.send(form, "application/x-www-form-urlencoded", sign=slack.sign(form + "x"))
    assert status == 401
    await slack.settle()
    assert slack.fake.calls == [] and fake_llm.requests == []


async def test_noise_is_ignored(slack, fake_llm):
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    calls, llm = len(slack.fake.calls), len(fake_llm.requests)
    base = dict(type="message", channel="C1", ts="1800000001.000001", thread_ts=thread, team="T0TEAM")
    noise = [
        dict(base, user="UBOT", bot_id="BBOT", text="our own message"),
        dict(base, subtype="bot_message", bot_id="BOTHER", text="another bot"),
        dict(base, user="UX", bot_id="BOTHER", text="bot with a user"),
        dict(base, subtype="message_changed", message={"text": "edited", "bot_id": "BBOT", "thread_ts": thread},
             previous_message={"text": "x"}),
        dict(base, subtype="message_deleted", deleted_ts="1.2"),
        dict(base, subtype="channel_join", user="UNEW", text="joined"),
        dict(base, user="UALICE", text="top-level chatter", thread_ts=None),
        dict(base, user="UALICE", text="a reply in some other thread", thread_ts="1600000000.000001"),
    ]
    for event in noise:
        status, _ = await slack.event({k: v for k, v in event.items() if v is not None})
        assert status == 200
    await slack.settle()
    assert len(slack.fake.calls) == calls and len(fake_llm.requests) == llm


async def test_model_output_never_pings(slack, fake_llm):
    from tests.fakes.fake_anthropic import Reply
    await slack.command("Design a URL shortener <!here> for <@U777>")
    await slack.settle()
    thread = slack.parent()["ts"]
    await slack.reply(thread, "skip")
    await slack.settle()
    fake_llm.replies.append(Reply(text="Sure <!channel>, <!here> and <@U123> and <!subteam^S1|@oncall>: "
                                       "@everyone look [here](!everyone) `<!channel>`\n```\n<@U9> @here\n```"))
    await slack.reply(thread, "Who gets paged?")
    await slack.settle()
    assert "Sure" in slack.thread_texts(thread)[-1]
    no_mentions(slack.fake)


async def test_rate_limit_retry_after_is_obeyed(slack):
    slack.fake.fail("chat.postMessage", status=429, retry_after=1)
    await slack.command("Design a URL shortener")
    await slack.settle()
    posts = [c for c in slack.fake.calls if c.method == "chat.postMessage"]
    assert posts[0].status == 429 and posts[1].status == 200
    assert posts[1].at - posts[0].at >= 1.0
    assert slack.bot.rate_limits.count == 1
    assert "Mock interview" in slack.parent()["text"]


async def test_our_pacing_stays_inside_slack_limits(fake_llm, redis_store):
    # Slack-like limits scaled 20x so the test is quick; the bot's own pacing is scaled the same way.
    from tests.fakes.fake_slack import FakeSlack
    from tests.slack.conftest import make_harness
    async with FakeSlack(rate_limits={"chat.postMessage": (4, 20.0), "chat.update": (10, 50 / 3)}) as fake:
        h = await make_harness(fake, fake_llm, redis_store, post_burst=3, post_rate=18, update_burst=5,
                               update_rate=15, preview_interval=0.05)
        try:
            await h.command("Design a URL shortener")
            await h.settle()
            await h.reply(h.parent()["ts"], "skip")
            await h.settle()
            assert fake.rate_limited == 0 and h.bot.rate_limits.count == 0
            assert len(h.thread_texts(h.parent()["ts"])) >= 10
        finally:
            await h.close()


async def test_upload_failure_keeps_the_text(slack):
    slack.fake.fail("files.getUploadURLExternal", error="internal_error")
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    await slack.reply(thread, "skip")
    await slack.settle()
    joined = "\n".join(slack.thread_texts(thread))
    assert "Architecture diagram" in joined and "```" in joined
    assert slack.fake.files == []
    assert "That's my design" in joined


async def test_buttons_skip_and_end(slack):
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    questions = slack.fake.thread("C1", thread)[-1]
    status, _ = await slack.click(Action.SKIP.value, questions["ts"], thread)
    assert status == 200
    await slack.settle()
    texts = slack.thread_texts(thread)
    assert "assume sensible defaults" in "\n".join(texts) and "That's my design" in texts[-1]
    pressed = slack.fake.messages[questions["ts"]]
    assert "quick questions" in pressed["text"]
    assert not [b for b in pressed["blocks"] if b["type"] == "actions"]  # the pressed button is gone
    last = slack.fake.thread("C1", thread)[-1]
    status, _ = await slack.click(Action.END.value, last["ts"], thread)
    assert status == 200
    await slack.settle()
    assert "That's a wrap" in slack.thread_texts(thread)[-1]
    no_mentions(slack.fake)


async def test_diagram_command(slack):
    await slack.command("URL shortener", command="/diagram")
    await slack.settle()
    parent = slack.parent()
    assert parent["text"].startswith("*Diagram:*")
    joined = "\n".join(slack.thread_texts(parent["ts"]))
    assert "```" in joined and "As you can see in the diagram" in joined
    assert slack.fake.files and slack.fake.files[0]["thread_ts"] == parent["ts"]


async def test_help_and_refusals_are_ephemeral(slack):
    import json as _json
    for text in ("help", "--version"):
        status, body = await slack.command(text)
        assert status == 200 and "How to use me" in _json.loads(body)["text"]
    status, body = await slack.command("")   # no problem: the bank's problems to pick from (tests/slack/test_suggest.py)
    assert status == 200 and "Pick a problem from the bank" in _json.loads(body)["text"]
    status, body = await slack.command("help desk ticketing system")
    assert status == 200 and body == ""  # a problem that starts with "help" is still a problem
    status, body = await slack.command("end")
    assert "reply `end` in its thread" in _json.loads(body)["text"]
    status, body = await slack.command("x" * 2500)
    assert "limit is 2,000" in _json.loads(body)["text"]
    status, body = await slack.command("", command="/diagram")
    assert "/diagram" in _json.loads(body)["text"]
    await slack.settle()
    assert [c.text for c in slack.fake.api_calls("chat.postMessage")][0].startswith("*Mock interview:* help desk")
    assert len(slack.fake.channel_messages("C1")) == 1


async def test_not_in_channel_is_explained_to_the_caller(slack):
    slack.fake.not_in_channels.add("C9")
    status, _ = await slack.command("Design a URL shortener", channel="C9")
    assert status == 200
    await slack.settle()
    assert slack.fake.responses and "not_in_channel" in slack.fake.responses[0]["text"]
    assert slack.fake.responses[0]["response_type"] == "ephemeral"


async def test_allowed_channels(fake_slack, fake_llm, redis_store):
    import json as _json

    from tests.slack.conftest import make_harness
    h = await make_harness(fake_slack, fake_llm, redis_store, settings={"slack_allowed_channels": "C1, C2"})
    try:
        status, body = await h.command("Design a URL shortener", channel="C3")
        assert status == 200 and _json.loads(body)["text"] == "I'm not enabled here: I only run interviews in <#C1>, <#C2>."
        await h.settle()
        assert fake_slack.api_calls("chat.postMessage") == []
        await h.command("Design a URL shortener", channel="C2")
        await h.settle()
        assert fake_slack.channel_messages("C2")
    finally:
        await h.close()


async def test_url_verification(slack):
    import json as _json
    body = _json.dumps({"token": "x", "challenge": "abc123", "type": "url_verification"})
    status, text = await slack.send(body, "application/json")
    assert status == 200 and "abc123" in text


async def test_live_preview_then_final_edit(slack, fake_llm):
    from tests.fakes.fake_anthropic import Reply
    from tests.fakes.llm_script import questions_reply
    fake_llm.replies.append(Reply(text=questions_reply(3), first_token_delay=0.1, tokens_per_second=300))
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    msgs = slack.fake.thread("C1", thread)
    assert len(msgs) == 1 and msgs[0]["edits"] >= 2  # placeholder, throttled edits, final text in place
    assert "quick questions" in msgs[0]["text"]
    edits = [c.at for c in slack.fake.api_calls("chat.update")]
    gaps = [b - a for a, b in zip(edits, edits[1:-1])]  # preview edits; the last one is the final text
    # deltas arrive every ~10 ms; edits are throttled to preview_interval=0.05 (server-side jitter allowed)
    assert all(g >= 0.03 for g in gaps), gaps


async def test_model_failure_then_retry_button(slack, fake_llm):
    from tests.fakes.fake_anthropic import Reply
    for _ in range(3):  # the SDK retries twice; the third failure reaches the engine
        fake_llm.replies.append(Reply(fault="500"))
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    failed = slack.fake.thread("C1", thread)[-1]
    buttons = [e["action_id"] for b in failed["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [Action.RETRY.value]
    status, _ = await slack.click(Action.RETRY.value, failed["ts"], thread)
    assert status == 200
    await slack.settle()
    assert "quick questions" in slack.thread_texts(thread)[-1]


async def test_failed_final_edit_falls_back_to_a_new_message(slack, fake_llm):
    from tests.fakes.fake_anthropic import Reply
    from tests.fakes.llm_script import questions_reply
    fake_llm.replies.append(Reply(text=questions_reply(3), tokens_per_second=400))
    slack.fake.fail("chat.update", error="message_not_found", times=50)
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    texts = slack.thread_texts(thread)
    assert len(texts) == 2 and texts[0].endswith("…") and "quick questions" in texts[1]
    await slack.reply(thread, "skip")  # the interview carries on
    await slack.settle()
    assert "That's my design" in slack.thread_texts(thread)[-1]


async def test_store_down_is_explained_to_the_caller(fake_slack, fake_llm):
    import json as _json

    from bot.store import RedisStore
    from tests.slack.conftest import make_harness
    dead = RedisStore("redis://127.0.0.1:1/0", prefix="ibtest-dead", ttl_seconds=60, dedupe_ttl=60, retries=0)
    h = await make_harness(fake_slack, fake_llm, dead)
    try:
        status, body = await h.command("Design a URL shortener")
        assert status == 200 and "state store" in _json.loads(body)["text"]
        assert "kept your request" in _json.loads(body)["text"]
        assert fake_slack.api_calls("chat.postMessage") == []
    finally:
        await h.bot.engine.shutdown(grace=0)
        await h.close()
        await dead.close()


async def test_store_down_in_our_thread_is_said_in_the_thread(slack, monkeypatch):
    from bot.store import StoreUnavailable

    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    before = len(slack.thread_texts(thread))
    store = slack.bot.engine.store
    real_accept = store.accept
    down = True

    async def flaky(*a, **k):
        if down:
            raise StoreUnavailable("Redis is unreachable (ConnectionError)")
        return await real_accept(*a, **k)

    monkeypatch.setattr(store, "accept", flaky)
    status, _ = await slack.reply(thread, "About 100M links a month")
    assert status == 200
    texts = slack.thread_texts(thread)
    assert len(texts) == before + 1 and "state store" in texts[-1] and "kept your message" in texts[-1]
    # A thread someone else started stays quiet.
    n = len(slack.fake.calls)
    await slack.reply("1700000000.000100", "chatter", parent_user_id="UOTHER")
    assert len(slack.fake.calls) == n
    # Once the store answers again, the kept answer is handled without anyone writing again.
    down = False
    await slack.settle()
    assert "That's my design" in slack.thread_texts(thread)[-1]


async def test_random_problem_is_drawn_before_the_thread_opens(slack):
    from bot.problems import INTERVIEW_PROBLEMS

    status, _ = await slack.command("random")
    assert status == 200
    await slack.settle()
    parent = slack.parent()["text"]
    assert "random" not in parent.lower()
    assert any(p.split(" like ")[0] in parent for p in INTERVIEW_PROBLEMS)
