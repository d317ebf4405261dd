"""Levels: reading the user's words, pulling a level out of a command, and the prompt guidance."""
from __future__ import annotations

import pytest

from bot.levels import (
    DEFAULT_LEVEL,
    LEVELS_FILE,
    Level,
    LevelsFileError,
    level_guide,
    level_opening_note,
    level_prompt,
    parse_level,
    parse_levels,
    split_level,
)


@pytest.mark.parametrize("text, level", [
    ("junior", Level.JUNIOR), ("Jr", Level.JUNIOR), ("new grad", Level.JUNIOR), ("L3", Level.JUNIOR),
    ("SDE I", Level.JUNIOR), ("entry-level", Level.JUNIOR),
    ("mid", Level.MID), ("Mid-level", Level.MID), ("L4", Level.MID), ("SDE II", Level.MID), ("E4", Level.MID),
    ("senior", Level.SENIOR), ("Sr.", Level.SENIOR), ("L5", Level.SENIOR), ("senior engineer", Level.SENIOR),
    ("at senior level", Level.SENIOR),
    ("staff", Level.STAFF), ("staff+", Level.STAFF), ("Staff+ engineer", Level.STAFF), ("L6", Level.STAFF),
    ("E7", Level.STAFF), ("principal", Level.STAFF), ("senior staff", Level.STAFF),
    ("banana", None), ("", None), (None, None), ("level", None), ("L9000", None), ("design a cache", None),
])
def test_parse_level(text, level):
    assert parse_level(text) is level


@pytest.mark.parametrize("text, level, rest", [
    ("level: staff Design a cache", Level.STAFF, "Design a cache"),
    ("Design X, level: mid", Level.MID, "Design X"),
    ("random hard level=L6", Level.STAFF, "random hard"),
    ("--level junior tinyurl", Level.JUNIOR, "tinyurl"),
    ("Design a URL shortener (staff+)", Level.STAFF, "Design a URL shortener"),
    ("design tinyurl [senior]", Level.SENIOR, "design tinyurl"),
    ("random hard staff", Level.STAFF, "random hard"),
    ("surprise me senior engineer", Level.SENIOR, "surprise me"),
    ("random", None, "random"),
    ("Design a staff rota", None, "Design a staff rota"),
    ("Design a level design tool", None, "Design a level design tool"),
    ("Design a scheduler (cron jobs)", None, "Design a scheduler (cron jobs)"),
    ("", None, ""),
])
def test_split_level(text, level, rest):
    assert split_level(text) == (level, rest)


def test_levels_are_ordered_and_default_to_senior():
    assert [lv.rank for lv in Level] == [0, 1, 2, 3]
    assert DEFAULT_LEVEL is Level.SENIOR and level_guide().level is Level.SENIOR


def test_every_level_has_an_opening_and_guidance_that_grow_in_breadth():
    for level in Level:
        guide = level_guide(level)
        assert level.value in guide.opening and len(guide.guidance.splitlines()) >= 4
    staff = level_guide(Level.STAFF).guidance.lower()
    for topic in ("multi-region", "cost", "operability", "migration"):
        assert topic in staff
    junior = level_guide(Level.JUNIOR).guidance.lower()
    assert "multi-region" not in junior and "migration" not in junior
    assert "partition key" in level_guide(Level.SENIOR).guidance.lower()


def test_level_prompt_names_the_level_and_announces_it_only_when_asked():
    text = level_prompt(Level.STAFF)
    assert text.startswith("Level: answer as a strong staff-level candidate would.\n")
    assert level_guide(Level.STAFF).opening not in text and text.endswith(level_guide(Level.STAFF).guidance)
    announced = level_prompt(Level.STAFF, announce=True)
    assert level_guide(Level.STAFF).opening in announced and "in your opening" in announced
    note = level_opening_note(Level.JUNIOR)
    assert note.startswith("You are answering at junior level.") and level_guide(Level.JUNIOR).opening in note
    assert "senior level" in level_opening_note()
    assert "$" not in LEVELS_FILE.read_text(encoding="utf-8")


def test_a_broken_levels_file_is_named():
    good = LEVELS_FILE.read_text(encoding="utf-8")
    with pytest.raises(LevelsFileError, match=r"\[staff\] needs a section"):
        parse_levels(good.replace("[staff]", "[staffs]"))
    with pytest.raises(LevelsFileError, match=r"\[mid\] needs a section starting with an 'Opening:' line"):
        parse_levels(good.replace("Opening: I'll pitch this at mid", "I'll pitch this at mid"))
    with pytest.raises(LevelsFileError, match="unknown level section"):
        parse_levels(good + "\n[wizard]\nOpening: hi\nmagic\n")
    lines = good.split("[junior]")
    broken = lines[0] + "[junior]\nOpening: only an opening\n\n[mid]" + good.split("[mid]")[1]
    with pytest.raises(LevelsFileError, match=r"\[junior\] has no guidance"):
        parse_levels(broken)
