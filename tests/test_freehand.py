"""Fitting a model-drawn text diagram to the diagram width."""
from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.freehand import CONTINUED, display_width, wrap_fenced_diagrams, wrap_text_diagram

WIDE = """\
+--------+      +-------------+      +-----------+      +----------+      +---------+
| Client | ---> | Load Balancer| ---> | URL Service| ---> |  Cache   | ---> |   DB    |
+--------+      +-------------+      +-----------+      +----------+      +---------+
"""


def ink(text: str) -> Counter[str]:
    return Counter(ch for ch in text.replace(CONTINUED, "") if not ch.isspace())


def test_a_diagram_that_fits_is_unchanged():
    art = "+---+\n| A | --> B\n+---+"
    assert wrap_text_diagram(art + "\n", 40) == art


def test_a_wide_diagram_is_cut_between_boxes():
    out = wrap_text_diagram(WIDE, 42)
    lines = out.split("\n")
    assert max(display_width(x) for x in lines) <= 42
    assert CONTINUED in lines
    assert ink(out) == ink(WIDE)
    # The first band ends at a gutter between boxes: no box is cut in half.
    first = lines[: lines.index(CONTINUED) - 1]
    assert all(x.rstrip().endswith(("+", "|", ">")) for x in first if x.strip())


def test_wide_characters_count_twice():
    art = "服务器 --> 数据库 --> 缓存 --> 队列 --> 工人"
    out = wrap_text_diagram(art, 20)
    assert all(display_width(x) <= 20 for x in out.split("\n"))
    assert ink(out) == ink(art)


def test_only_fenced_blocks_are_fitted():
    md = "Here it is:\n```\n" + WIDE.rstrip("\n") + "\n```\n" + "A prose line " * 10
    out = wrap_fenced_diagrams(md, 42)
    assert out.startswith("Here it is:\n```\n")
    assert out.endswith("A prose line " * 10)
    fenced = out.split("```")[1]
    assert all(display_width(x) <= 42 for x in fenced.split("\n"))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.text(alphabet=st.sampled_from(list("+-|>v <A1 \t") + ["数", "é", "\u0301"]), max_size=90),
                      max_size=8),
       width=st.integers(30, 80))
def test_every_line_fits_and_no_ink_is_lost(lines, width):
    art = "\n".join(lines)
    out = wrap_text_diagram(art, width)
    assert all(display_width(x) <= width for x in out.split("\n"))
    assert ink(out) == ink(art.expandtabs(4))
