"""Pace (full or interactive), the interactive prompt fragments and options, and reading command options."""
from __future__ import annotations

from string import Template

import pytest

from bot.command_options import CommandOptions, parse_options
from bot.levels import Level, parse_level
from bot.option_words import take_keyword
from bot.pace import (
    DEFAULT_PACE,
    INTERACTIVE_STEPS,
    PROMPTS_DIR,
    DeepDiveOption,
    Pace,
    check_in_text,
    deep_dive_chosen_text,
    deep_dive_offer_text,
    match_option,
    parse_pace,
    split_options,
)
from bot.sections import DESIGN_SECTIONS


@pytest.mark.parametrize("text, pace", [
    ("full", Pace.FULL), ("Interactive", Pace.INTERACTIVE), ("step-by-step", Pace.INTERACTIVE),
    ("interactive pace", Pace.INTERACTIVE), ("check-ins", Pace.INTERACTIVE), ("fast", None), ("", None), (None, None),
])
def test_parse_pace(text, pace):
    assert parse_pace(text) is pace


def test_interactive_steps_cover_every_design_section_once_in_order():
    flat = [s for step in INTERACTIVE_STEPS for s in step]
    assert flat == list(DESIGN_SECTIONS)
    assert DEFAULT_PACE is Pace.FULL


def test_prompt_fragments():
    check = check_in_text()
    assert "does this scope match what you had in mind" in check.lower() and "Do not start" in check
    offer = deep_dive_offer_text()
    assert "<<<options>>>" in offer and "two or three" in offer
    assert deep_dive_chosen_text("  the code generator ") .startswith(
        "The interviewer wants the deep dive on: the code generator.")
    for name in ("check_in", "deep_dive_offer"):
        assert "$" not in (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    assert Template((PROMPTS_DIR / "deep_dive_chosen.txt").read_text(encoding="utf-8")).get_identifiers() == ["choice"]


OFFER = """As you can see in the diagram, requests flow from the API to the store.

<<<options>>>
1. **Code generator**: where uniqueness and guessability are decided.
2. Redirect cache - the hot path at 200k reads a second.
3. Click counting: the write amplification hides here.
4. Abuse filter: extra option beyond three.
Which one shall we dig into? Or name another part."""


def test_split_options_cuts_the_offer_off_the_section():
    before, options, invite = split_options(OFFER)
    assert before == "As you can see in the diagram, requests flow from the API to the store."
    assert [o.name for o in options] == ["Code generator", "Redirect cache", "Click counting"]
    assert options[1].why == "the hot path at 200k reads a second."
    assert invite.startswith("4. Abuse filter") and invite.endswith("name another part.")
    assert split_options("no marker here") == ("no marker here", [], "")


@pytest.mark.parametrize("reply, name", [
    ("2", "Redirect cache"), ("option 1", "Code generator"), ("#3", "Click counting"),
    ("let's do the code generator", "Code generator"), ("the cache please", "Redirect cache"),
    ("counting", "Click counting"), ("9", None), ("the database", None), ("", None),
])
def test_match_option(reply, name):
    options = split_options(OFFER)[1]
    picked = match_option(reply, options)
    assert (picked.name if picked else None) == name


def test_match_option_refuses_a_tie():
    options = [DeepDiveOption("Write cache", "a"), DeepDiveOption("Read cache", "b")]
    assert match_option("the cache", options) is None
    assert match_option("read cache", options) == options[1]


@pytest.mark.parametrize("text, expected", [
    ("random hard staff interactive", CommandOptions("random hard", Level.STAFF, Pace.INTERACTIVE)),
    ("random interactive", CommandOptions("random", None, Pace.INTERACTIVE)),
    ("random hard", CommandOptions("random hard")),
    ("surprise me senior engineer", CommandOptions("surprise me", Level.SENIOR)),
    ("Design a cache level: L6 pace: interactive", CommandOptions("Design a cache", Level.STAFF, Pace.INTERACTIVE)),
    ("pace: interactive level: staff random hard", CommandOptions("random hard", Level.STAFF, Pace.INTERACTIVE)),
    ("--pace interactive --level mid tinyurl", CommandOptions("tinyurl", Level.MID, Pace.INTERACTIVE)),
    ("pace: step by step tinyurl", CommandOptions("tinyurl", None, Pace.INTERACTIVE)),
    ("tinyurl (staff, interactive)", CommandOptions("tinyurl", Level.STAFF, Pace.INTERACTIVE)),
    ("tinyurl (junior)", CommandOptions("tinyurl", Level.JUNIOR)),
    ("Design a scheduler (cron jobs)", CommandOptions("Design a scheduler (cron jobs)")),
    ("Design a pace car pace: full", CommandOptions("Design a pace car", None, Pace.FULL)),
    ("Design a staff rota", CommandOptions("Design a staff rota")),
    ("random stuff staff", CommandOptions("random stuff staff")),
    ("", CommandOptions("")),
    (None, CommandOptions("")),
])
def test_parse_options(text, expected):
    assert parse_options(text) == expected


def test_take_keyword_prefers_the_longest_value_and_keeps_the_rest():
    assert take_keyword("level: staff+ engineer, design x", "level", parse_level) == (Level.STAFF, "design x")
    assert take_keyword("Design a level design tool", "level", parse_level) == (None, "Design a level design tool")
    assert take_keyword("relevel: staff", "level", parse_level) == (None, "relevel: staff")
