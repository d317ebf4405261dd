"""The depth and level instructions appended to the design prompt."""
from __future__ import annotations

import re
from string import Template

from bot.design_extras import PROMPTS_DIR, depth_text, design_extras
from bot.levels import Level, level_guide
from bot.sections import DESIGN_SECTIONS


def test_depth_asks_for_everything_issue_10_lists():
    text = depth_text().lower()
    for wanted in ("back of the envelope", "arithmetic", "traffic", "storage", "bandwidth", "decision",
                   "core entities", "data model", "primary key", "partition", "indexes",
                   "write path", "read path", "consistency", "strongly consistent", "eventually consistent",
                   "what we built", "biggest risk", "what i'd do next"):
        assert wanted in text, wanted


def test_depth_only_places_text_in_sections_that_exist_and_keeps_them_all():
    text = depth_text()
    named = set(re.findall(r"^- ([a-z_]+):", text, re.MULTILINE))
    assert named and named <= set(DESIGN_SECTIONS), named - set(DESIGN_SECTIONS)
    assert "every section stays" in text


def test_depth_survives_the_design_template():
    """The main developer may append it to design.txt before substitution: no stray placeholders."""
    text = (PROMPTS_DIR / "design_depth.txt").read_text(encoding="utf-8")
    assert "$" not in text
    assert Template(text).substitute({}) == text


def test_design_extras_appends_depth_then_level():
    full = design_extras(Level.STAFF)
    assert full.startswith(depth_text()) and full.endswith(level_guide(Level.STAFF).guidance)
    assert "staff-level candidate" in full
    assert level_guide(Level.STAFF).opening not in full
    diagram = design_extras(Level.JUNIOR, depth=False, announce_level=True)
    assert depth_text() not in diagram and diagram.startswith("Level: answer as a strong junior-level")
    assert level_guide(Level.JUNIOR).opening in diagram
    assert "senior-level candidate" in design_extras()
