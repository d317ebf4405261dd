"""Pure-function tests: Markdown -> mrkdwn, mention escaping, splitting."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.mrkdwn import ZWSP, escape_mentions, from_slack, render, render_preview, to_mrkdwn, utf16_len

# Channel links (`<#C1>`) ping nobody and are allowed; user, group and special mentions are not.
PING = re.compile(r"<[!@]|(?<![\w\u200b])@(channel|here|everyone)\b", re.I)


def fences_balanced(chunk: str) -> bool:
    return sum(1 for line in chunk.split("\n") if line.startswith("```")) % 2 == 0


def test_emphasis_headings_lists_links():
    md = ("# Title with **bold**\n## Sub\nSome **bold**, *italic*, ***both***, ~~gone~~ and __under__.\n"
          "- one\n  - nested\n* star item\n+ plus item\n1. first\n> quoted *it*\n---\n"
          "See [the docs](https://example.com/a?b=1&c=2) or <https://x.test/p>.")
    out = to_mrkdwn(md).split("\n")
    assert out[0] == "*Title with bold*"
    assert out[1] == "*Sub*"
    assert out[2] == "Some *bold*, _italic_, *_both_*, ~gone~ and *under*."
    assert out[3] == "• one" and out[4] == "    ◦ nested" and out[5] == "• star item" and out[6] == "• plus item"
    assert out[7] == "1. first"
    assert out[8] == "> quoted _it_"
    assert out[9].startswith("───")
    assert out[10] == "See <https://example.com/a?b=1&amp;c=2|the docs> or <https://x.test/p>."


def test_escaping_outside_and_inside_code():
    md = "a < b && c > d `x<y>&z` and **not <b>bold</b>**\n```html\n<div>&amp;</div>\n```"
    out = to_mrkdwn(md)
    assert out.split("\n")[0] == "a &lt; b &amp;&amp; c &gt; d `x&lt;y&gt;&amp;z` and *not &lt;b&gt;bold&lt;/b&gt;*"
    assert out.split("\n")[1:] == ["```", "&lt;div&gt;&amp;amp;&lt;/div&gt;", "```"]  # language tag dropped


def test_code_blocks_kept_verbatim():
    md = "```python\ndef f(x):\n    return x * 2  # **not bold** [not](link)\n  - not a list\n```"
    assert to_mrkdwn(md) == "```\ndef f(x):\n    return x * 2  # **not bold** [not](link)\n  - not a list\n```"


def test_nested_fences_stay_inside_one_block():
    md = "````markdown\n```python\nprint(1)\n```\n````\nafter **x**"
    out = to_mrkdwn(md).split("\n")
    assert out[0] == "```" and out[-2] == "```" and out[-1] == "after *x*"
    inner = out[1:-2]
    assert not any(line.startswith("```") for line in inner)
    assert inner[0] == "`" + ZWSP + "``python"


def test_unclosed_fence_is_closed():
    assert to_mrkdwn("text\n```\ncode").endswith("```\ncode\n```")


def test_italics_do_not_nest_and_words_are_left_alone():
    assert to_mrkdwn("_say *skip* now_") == "_say skip now_"
    assert to_mrkdwn("snake_case_name and 2 * 3 * 4 and a*b") == "snake_case_name and 2 * 3 * 4 and a*b"


def test_unsafe_links_are_not_links():
    out = to_mrkdwn("[click](!channel) [x](javascript:alert(1)) [y](<@U123>) [ok](https://a.b|<!here>)")
    assert "<!" not in out and "<@" not in out and "<javascript" not in out
    assert not PING.search(escape_mentions(out))


def test_mentions_escaped():
    text = "hi <!channel> <!here> <!everyone> <@U123> <@W9|bob> <!subteam^S1|@devs> @channel @here @everyone ＠here"
    out = escape_mentions(text)
    assert not PING.search(out)
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out and "&lt;!subteam^S1|@devs&gt;" in out
    assert escape_mentions(out) == out  # idempotent
    assert escape_mentions("mail me@here.com") == "mail me@here.com"


def test_render_never_leaks_mentions():
    md = "**<!channel>** `<@U1>` [a](https://x.y) @everyone\n```\n<!here> @here\n```\n# <!subteam^S1>"
    for chunk in render(md):
        assert not PING.search(chunk), chunk


def test_long_code_block_split_keeps_fences():
    code = "\n".join(f"line {i:04d} " + "x" * 60 for i in range(200))
    md = "Intro paragraph.\n\n```python\n" + code + "\n```\n\nOutro."
    chunks = render(md, 3000)
    assert len(chunks) >= 5
    for c in chunks:
        assert utf16_len(c) <= 3000
        assert fences_balanced(c), c[:80]
    body = "\n".join(c for c in chunks)
    assert all(f"line {i:04d}" in body for i in range(200))
    assert chunks[-1].endswith("Outro.")


def test_split_prefers_paragraphs():
    paras = [f"Paragraph {i}. " + "word " * 100 for i in range(12)]
    chunks = render("\n\n".join(paras), 1500)
    assert all(len(c) <= 1500 for c in chunks)
    for c in chunks:
        assert c.startswith("Paragraph") and c.rstrip().endswith("word")


def test_line_over_the_limit_is_cut():
    chunks = render("a" * 7000, 3000)
    assert len(chunks) >= 3 and all(len(c) <= 3000 for c in chunks)
    assert "".join(chunks) == "a" * 7000


def test_emoji_count_as_slack_counts_them():
    md = "🙂" * 2000 + "\n\n" + "🚀 fast " * 400
    chunks = render(md, 3000)
    assert all(utf16_len(c) <= 3000 for c in chunks)
    assert "".join(chunks).count("🙂") == 2000


def test_preview_is_one_bounded_chunk():
    md = "```\n" + "\n".join("x" * 50 for _ in range(200))
    text = render_preview(md, 1000)
    assert len(text) <= 1000 and fences_balanced(text)


def test_from_slack_wire_format():
    assert from_slack("a &lt;b&gt; &amp;amp; <@U1|bob> <#C1|gen> <!here> <https://a.b|site> <https://c.d>") == \
        "a <b> &amp; @bob #gen @here site (https://a.b) https://c.d"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "plain words here", "**bold**", "*it*", "`code`", "```", "```py", "````", "- item", "# head",
    "<!channel>", "<@U12>", "@here", "[l](https://a.b)", "[m](!here)", "&", "<", ">", "🙂🙂", "x" * 700, "",
    "> quote", "<!subteam^S1>", "1. one",
]), max_size=60))
def test_render_properties(parts):
    md = "\n".join(parts)
    for chunk in render(md, 1000):
        assert utf16_len(chunk) <= 1000
        assert fences_balanced(chunk)
        assert not PING.search(chunk), chunk
