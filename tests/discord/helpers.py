"""Small helpers for reading what the bot did to the fake Discord."""
from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.fake_discord import CHANNEL_ID, FakeDiscord


def content_payloads(fake: FakeDiscord) -> list[tuple[Any, dict]]:
    """(call, payload) for every request that carried message content."""
    out = []
    for call in fake.calls:
        body = call.json
        if not isinstance(body, dict):
            continue
        if call.path.endswith("/callback"):
            body = body.get("data") or {}
        if "content" in body and body.get("content") is not None:
            out.append((call, body))
    return out


def assert_no_pings(fake: FakeDiscord) -> int:
    """Every message, edit and interaction response was sent with mentions disabled."""
    payloads = content_payloads(fake)
    assert payloads
    for call, body in payloads:
        am = body.get("allowed_mentions")
        assert am is not None, f"{call} sent without allowed_mentions"
        assert am.get("parse") == [], f"{call} allows mentions: {am}"
        assert not am.get("users") and not am.get("roles") and not am.get("replied_user"), (call, am)
        assert len(body["content"]) <= 2000, f"{call} content is {len(body['content'])} chars"
    return len(payloads)


async def new_thread(fake: FakeDiscord, before: int = 0, timeout: float = 10.0) -> dict:
    await fake.wait_for(lambda: len(fake.threads()) > before, timeout, "a thread to be created")
    return fake.threads()[-1]


async def wait_text(fake: FakeDiscord, thread_id: int | str, needle: str, timeout: float = 15.0) -> str:
    return await fake.wait_for(lambda: needle in fake.thread_text(int(thread_id)) and fake.thread_text(int(thread_id)),
                               timeout, f"{needle!r} in thread")


def message_with_button(fake: FakeDiscord, thread_id: int | str, custom_id: str) -> dict | None:
    for msg in fake.thread_messages(int(thread_id)):
        for row in msg.get("components") or []:
            for comp in row.get("components", []):
                if comp.get("custom_id") == custom_id:
                    return msg
    return None


def callback(fake: FakeDiscord, interaction_id: int) -> dict | None:
    return fake.interactions[interaction_id]["callback"]


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


__all__ = ["CHANNEL_ID", "assert_no_pings", "callback", "content_payloads", "message_with_button", "new_thread",
           "settle", "wait_text"]
