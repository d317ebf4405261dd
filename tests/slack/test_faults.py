"""Slack faults: malformed requests never get a 5xx; Slack 5xx and hangs on each kind of post."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from bot.messages import Action
from bot.sections import DESIGN_SECTIONS

TITLES = list(DESIGN_SECTIONS.values())


def _event(event: dict) -> str:
    return json.dumps({"team_id": "T0TEAM", "api_app_id": "A1", "type": "event_callback", "event_id": "EvX1",
                       "event": event})


MALFORMED = [
    # (name, body, content type, signed?, extra headers, expected status)
    ("unsigned", "{}", "application/json", False, {}, 401),
    ("timestamp not a number", "{}", "application/json", "bad-ts", {}, 401),
    ("bad JSON", "{not json", "application/json", True, {}, 400),
    ("JSON array", "[1, 2]", "application/json", True, {}, 400),
    ("payload not JSON", urllib.parse.urlencode({"payload": "{nope"}), "application/x-www-form-urlencoded", True,
     {}, 400),
    ("message without channel", _event({"type": "message", "user": "U1", "text": "hi", "ts": "1.2",
                                        "thread_ts": "1.1"}), "application/json", True, {}, 200),
    ("unknown event type", _event({"type": "app_home_opened", "user": "U1"}), "application/json", True, {}, 200),
    ("unknown envelope type", json.dumps({"type": "something_new"}), "application/json", True, {}, 200),
    ("empty body", "", "application/json", True, {}, 400),
]


@pytest.mark.parametrize("name, body, ctype, signed, headers, expected", MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_requests_never_get_a_5xx(slack, name, body, ctype, signed, headers, expected):
    if signed == "bad-ts":
        sign = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    elif signed:
        sign = slack.sign(body)
    else:
        sign = {}
    status, text = await slack.send(body, ctype, headers, sign=sign)
    assert status == expected, (name, status, text)
    assert "Traceback" not in text
    await slack.settle()
    assert slack.fake.api_calls("chat.postMessage") == []


async def test_500_on_the_first_post_tells_the_caller(slack):
    slack.fake.fail("chat.postMessage", status=500, times=3)   # the first try and both retries
    status, _ = await slack.command("Design a URL shortener")
    assert status == 200
    await slack.settle()
    assert slack.fake.responses and "couldn't start a thread" in slack.fake.responses[0]["text"]
    assert slack.fake.responses[0]["response_type"] == "ephemeral"


def fail_posts(fake, first: int, last: int) -> None:
    """chat.postMessage calls number `first`..`last` (counted from now) answer `internal_error`."""
    original = fake._m_chat_postMessage
    seen = 0

    def flaky(args):
        nonlocal seen
        seen += 1
        if first <= seen <= last:
            return {"ok": False, "error": "internal_error"}
        return original(args)

    fake._m_chat_postMessage = flaky


async def test_a_failed_questions_post_keeps_the_step_for_retry(fake_slack, fake_llm, redis_store):
    from tests.slack.conftest import make_harness
    h = await make_harness(fake_slack, fake_llm, redis_store, preview_interval=None)
    try:
        fail_posts(fake_slack, 2, 2)            # the parent goes through, the questions do not
        await h.command("Design a URL shortener")
        await h.settle()
        thread = h.parent()["ts"]
        texts = h.thread_texts(thread)
        assert len(texts) == 1 and "couldn't post" in texts[0] and "retry" in texts[0]
        failed = fake_slack.thread("C1", thread)[-1]
        assert [e["action_id"] for b in failed["blocks"] if b["type"] == "actions" for e in b["elements"]] == \
            [Action.RETRY.value]
        await h.reply(thread, "100M links")     # an answer before the questions: the way on is retry
        await h.settle()
        assert "retry" in h.thread_texts(thread)[-1]
        await h.click(Action.RETRY.value, failed["ts"], thread)
        await h.settle()
        assert "quick questions" in h.thread_texts(thread)[-1]
        await h.reply(thread, "skip")
        await h.settle()
        assert "That's my design" in h.thread_texts(thread)[-1]
    finally:
        await h.close()


async def test_5xx_mid_design_never_claims_a_lost_section_and_retry_posts_the_rest(slack, fake_llm):
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    posts_before = len(slack.fake.api_calls("chat.postMessage"))
    original = slack.fake._m_chat_postMessage
    fail_posts(slack.fake, 3, 3)       # a section post in the middle of the design fails
    await slack.reply(thread, "100M links a month")
    await slack.settle()
    slack.fake._m_chat_postMessage = original
    texts = slack.thread_texts(thread)
    assert "couldn't post all of my answer" in "\n".join(texts)
    await slack.reply(thread, "retry")
    await slack.settle()
    texts = [t for t in slack.thread_texts(thread) if not t.rstrip().endswith("…")]
    counts = {t: sum(1 for x in texts if x.startswith(f"*{t}*")) for t in TITLES}
    assert counts == {t: 1 for t in TITLES}, counts
    assert len(slack.fake.api_calls("chat.postMessage")) > posts_before


async def test_a_hanging_slack_call_is_retried_not_fatal(slack):
    slack.bot.api.client.timeout = 0.5
    slack.fake.fail("chat.postMessage", status=503, delay=1.0)   # hangs past the timeout, then fails
    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    assert any("quick questions" in t for t in slack.thread_texts(thread))
    first = slack.fake.thread("C1", thread)[-1]
    assert any(e["action_id"] == Action.SKIP.value for b in first["blocks"] if b["type"] == "actions"
               for e in b["elements"])


async def test_a_markdown_file_in_a_reply_is_read_as_the_answer(slack, fake_llm):
    from tests.fakes.llm_script import last_user_text

    await slack.command("Design a URL shortener")
    await slack.settle()
    thread = slack.parent()["ts"]
    files = [slack.fake.host_file("answers.md", b"100M links a month, p99 50 ms", "text/markdown"),
             slack.fake.host_file("board.png", b"\x89PNG", "image/png")]
    status, _ = await slack.reply(thread, "", subtype="file_share", files=files)
    assert status == 200
    await slack.settle()
    texts = slack.thread_texts(thread)
    assert any("board.png" in t for t in texts) and "That's my design" in texts[-1]
    design = [r for r in fake_llm.requests if "Task: present the design." in last_user_text(r)]
    assert "100M links a month" in last_user_text(design[0])
