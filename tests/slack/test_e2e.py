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
