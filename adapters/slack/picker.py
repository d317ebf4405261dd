"""Slack's side of problem suggestions: the core's SUGGEST receipt as Block Kit (buttons for the best
matches and an external_select searching the whole bank), and the menu's options.

The search, the wording and the `context` (which command, which options) are the core's
(`bot/suggest.py`); the context rides in the actions block's block_id and comes back with every
search and pick.
"""
from __future__ import annotations

import re

from bot.inbound import Receipt

from .mrkdwn import render

PICK_BLOCK = "ib_pick:"          # + the core's context
PICK_MENU = "ib_pick_problem"     # the external_select (its options come from the block_suggestion handler)
PICK_BUTTON = "ib_pick_button:"   # + index
PICK_IDS = re.compile(r"^(ib_pick_problem|ib_pick_button:[0-9]+)$")
OPTION_TEXT, OPTION_VALUE, BLOCK_ID = 75, 150, 255   # Slack's limits


def suggestion_blocks(receipt: Receipt) -> list[dict]:
    buttons: list[dict] = [{"type": "button", "action_id": f"{PICK_BUTTON}{c.index}", "value": c.label[:OPTION_VALUE],
                            "text": {"type": "plain_text", "text": c.label[:OPTION_TEXT], "emoji": True}}
                           for c in receipt.choices]
    menu = {"type": "external_select", "action_id": PICK_MENU, "min_query_length": 0,
            "placeholder": {"type": "plain_text", "text": "Search the problem bank"}}
    return [{"type": "section", "text": {"type": "mrkdwn", "text": render(receipt.text or "")[0]}},
            {"type": "actions", "block_id": (PICK_BLOCK + receipt.context)[:BLOCK_ID], "elements": [*buttons, menu]}]


def menu_options(problems: list[str]) -> list[dict]:
    return [{"text": {"type": "plain_text", "text": p[:OPTION_TEXT]}, "value": p[:OPTION_VALUE]} for p in problems]


def context_of(block_id: str | None) -> str | None:
    """The core's context from a block_id, or None when the block is not a suggestion's."""
    return block_id[len(PICK_BLOCK):] if block_id and block_id.startswith(PICK_BLOCK) else None


def picked_value(action: dict) -> str:
    """The problem a button press or a menu selection carries."""
    if action.get("type") == "external_select":
        return str(((action.get("selected_option") or {}).get("value")) or "")
    return str(action.get("value") or "")
