"""Slack has no autocomplete for slash commands: `/interview` with no problem, or only the start of one,
answers privately with the bank's matches as buttons and a menu searching the whole bank
(block_suggestion -> external_select); a pick starts the interview with the options typed before."""
from __future__ import annotations

import json
import time
import urllib.parse

from bot.state import ThreadRef
from tests.slack.conftest import TEAM


def actions_block(body: str) -> dict:
    blocks = json.loads(body)["blocks"]
    return next(b for b in blocks if b["type"] == "actions")


async def interactive(slack, payload: dict) -> tuple[int, str]:
    base = {"team": {"id": TEAM, "domain": "fake"}, "api_app_id": "A1", "token": "x",
            "user": {"id": "UBEN", "username": "ben", "name": "ben", "team_id": TEAM}}
    body = urllib.parse.urlencode({"payload": json.dumps({**base, **payload})})
    return await slack.send(body, "application/x-www-form-urlencoded")


async def pick(slack, block_id: str, action: dict) -> tuple[int, str]:
    return await interactive(slack, {
        "type": "block_actions", "trigger_id": f"ptrig-{time.time_ns()}",
        "container": {"type": "message", "message_ts": "0", "channel_id": "C1", "is_ephemeral": True},
        "channel": {"id": "C1", "name": "general"}, "response_url": slack.fake.response_url("pick"),
        "actions": [{"block_id": block_id, "action_ts": f"{time.time():.6f}", **action}]})


async def test_empty_command_offers_the_bank_and_a_search(slack):
    status, body = await slack.command("")
    assert status == 200 and json.loads(body)["response_type"] == "ephemeral"
    block = actions_block(body)
    buttons = [e for e in block["elements"] if e["type"] == "button"]
    menu = [e for e in block["elements"] if e["type"] == "external_select"]
    assert 1 <= len(buttons) <= 5 and len(menu) == 1
    assert all(b["value"].startswith("Design") for b in buttons)
    status, body = await interactive(slack, {"type": "block_suggestion", "action_id": menu[0]["action_id"],
                                             "block_id": block["block_id"], "value": "url",
                                             "container": {"type": "message", "message_ts": "0"}})
    options = json.loads(body)["options"]
    assert status == 200 and options and "URL shortener" in options[0]["text"]["text"]
    assert slack.fake.api_calls("chat.postMessage") == [], "nothing is started by a suggestion"


async def test_partial_text_offers_matches_and_a_pick_keeps_the_options(slack):
    status, body = await slack.command("chat (staff, interactive)")
    assert "matching _chat_" in json.loads(body)["text"]
    block = actions_block(body)
    first = next(e for e in block["elements"] if e["type"] == "button")
    assert "chat" in first["value"].lower()
    status, _ = await pick(slack, block["block_id"], {"type": "button", "action_id": first["action_id"],
                                                      "value": first["value"]})
    assert status == 200
    await slack.settle()
    parent = slack.parent()
    assert first["value"] in parent["text"] and "staff level, interactive pace" in parent["text"]
    store = slack.bot.engine.store
    ref = ThreadRef(platform="slack", workspace=TEAM, channel="C1", thread=parent["ts"])
    state = await store.load(ref.key(store.prefix))
    assert state.problem == first["value"] and state.level == "staff" and state.pace == "interactive"
    assert any("Starting a mock interview" in r.get("text", "") and r.get("replace_original") for r in
               slack.fake.responses)


async def test_a_pick_from_the_search_menu_starts_a_diagram(slack):
    status, body = await slack.command("", command="/diagram")
    block = actions_block(body)
    status, body = await interactive(slack, {"type": "block_suggestion", "action_id": "ib_pick_problem",
                                             "block_id": block["block_id"], "value": "",
                                             "container": {"type": "message", "message_ts": "0"}})
    value = json.loads(body)["options"][0]["value"]
    await pick(slack, block["block_id"], {"type": "external_select", "action_id": "ib_pick_problem",
                                          "selected_option": {"text": {"type": "plain_text", "text": value},
                                                              "value": value}})
    await slack.settle()
    assert slack.parent()["text"].startswith("*Diagram:*") and value in slack.parent()["text"]


async def test_a_whole_problem_or_a_bank_name_starts_at_once(slack):
    for text in ("tinyurl", "Design a parking garage payment system"):
        status, body = await slack.command(text)
        assert status == 200 and body == ""
