"""Hidden control codes and invisible text."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text_checks import clean_text, is_visible

ESCAPES = ["\x1b[31m", "\x1b[0m", "\x1b[2J", "\x1b[1;31;40m", "\x1b]0;pwned\x07", "\x1b]8;;http://x\x1b\\",
           "\x1bc", "\x1b(B", "\x9b31m", "\x07", "\x08", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f", "\u061c", "\u202e", "\u2067",
             "\u00ad", "\u180e", "\u3164", "\u115f", "\u2800", " ", "\t", "\n", "\u00a0", "\u3000", "\x1b[31m",
             "\x00", "\u034f"]
PLAIN = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P", "S", "Zs"),
                                       blacklist_characters="\x1b\x9b"), max_size=60)


def test_escape_sequences_and_controls_are_removed():
    assert clean_text("\x1b[31mred\x1b[0m and \x1b]0;title\x07plain\x00\x08") == "red and plain"
    assert clean_text("a\r\nb\rc\td\n") == "a\nb\nc\td\n"
    assert clean_text("admin\u202e\u2066txt.exe") == "admintxt.exe"


def test_joiners_and_right_to_left_text_are_kept():
    family = "\U0001F469\u200d\U0001F467"
    assert clean_text(family) == family
    assert clean_text("שלום \u200fworld") == "שלום \u200fworld"


@pytest.mark.parametrize("text", ["\u200b\u200b", "\u200f\u200e", " \u2060 \ufeff ", "\u202e\u2066", "\x1b[31m",
                                  "\u3164\u115f", "\u2800", "", "\n\t "])
def test_invisible_text_is_not_visible(text):
    assert not is_visible(text)


@pytest.mark.parametrize("text", ["Design a URL shortener", "7", "?", "→", "设计", "\u200bx", "\U0001F600"])
def test_visible_text_is_visible(text):
    assert is_visible(text)


@given(st.lists(st.sampled_from(INVISIBLE), max_size=20).map("".join))
def test_only_invisible_characters_is_never_visible(text):
    assert not is_visible(text)


@given(PLAIN, st.lists(st.tuples(st.integers(0, 60), st.sampled_from(ESCAPES)), max_size=6))
def test_inserted_escapes_are_removed_exactly(text, inserts):
    dirty, last = "", 0
    for pos, esc in sorted((min(p, len(text)), e) for p, e in inserts):
        dirty += text[last:pos] + esc
        last = pos
    dirty += text[last:]
    assert clean_text(dirty) == text


@given(st.text(max_size=80))
def test_cleaning_leaves_no_control_and_is_idempotent(text):
    out = clean_text(text)
    assert all(ch in "\n\t" or unicodedata.category(ch) != "Cc" for ch in out)
    assert "\x1b" not in out and "\u202e" not in out
    assert clean_text(out) == out
    assert is_visible(out) == is_visible(text)


@given(PLAIN)
def test_plain_text_is_unchanged(text):
    assert clean_text(text) == text
    assert is_visible(text) == any(not ch.isspace() and unicodedata.category(ch)[0] in "LNPS"
                                   and ch not in "\u3164\u115f\u1160\uffa0\u2800" for ch in text)
