"""Discord's 2,000-character messages: the core splitter, checked with Discord's limit (pure functions)."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.views import MESSAGE_LIMIT, PREVIEW_LIMIT, preview_text
from bot.formatting import FENCE_RE, split_markdown

LIMIT = MESSAGE_LIMIT


def open_fence_at_end(chunk: str) -> str | None:
    """The fence still open after the chunk (CommonMark rule: same char, at least as long, no info string)."""
    fence = None
    for line in chunk.split("\n"):
        m = FENCE_RE.match(line)
        if not m:
            continue
        marker, info = m.group(2), m.group(3).strip()
        if fence is None:
            fence = marker
        elif marker[0] == fence[0] and len(marker) >= len(fence) and not info:
            fence = None
    return fence


def payload(text: str) -> str:
    """The text without fence lines and whitespace: what must survive splitting."""
    return re.sub(r"\s+", "", "\n".join(line for line in text.split("\n") if not FENCE_RE.match(line)))


def check(text: str) -> list[str]:
    chunks = split_markdown(text, LIMIT)
    assert chunks
    for i, chunk in enumerate(chunks):
        assert len(chunk) <= LIMIT, f"chunk {i} has {len(chunk)} characters"
        assert open_fence_at_end(chunk) is None, f"chunk {i} leaves a code fence open:\n{chunk[-200:]}"
    assert payload("\n".join(chunks)) == payload(text)
    return chunks


def test_short_message_is_untouched():
    assert split_markdown("### Scope\nA URL shortener.", LIMIT) == ["### Scope\nA URL shortener."]


def test_paragraphs_are_kept_whole():
    text = "\n\n".join(f"Paragraph {i}. " + "Some words here. " * 25 for i in range(12))
    chunks = check(text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith("Paragraph") and chunk.rstrip().endswith(".")


def test_lists_split_at_line_boundaries():
    text = "### Functional requirements\n" + "\n".join(f"- requirement {i}: " + "detail " * 12 for i in range(60))
    chunks = check(text)
    for chunk in chunks:
        for line in chunk.split("\n"):
            assert line.startswith(("- requirement", "### Functional"))


def test_very_long_code_block_is_closed_and_reopened_with_its_language():
    code = "\n".join(f"    def handler_{i}(request):  return lookup(request.code)  # {i:04d}" for i in range(200))
    text = "Here is the service:\n\n```python\n" + code + "\n```\n\nThat's it."
    chunks = check(text)
    assert len(chunks) >= 6
    for chunk in chunks[1:-1]:
        assert chunk.startswith("```python\n"), chunk[:40]
        assert chunk.endswith("\n```")
    assert chunks[-1].rstrip().endswith("That's it.")


def test_diagram_block_with_box_drawing_stays_in_code_blocks():
    row = "│ " + "┌──────┐ " * 7 + "│"
    diagram = "\n".join(row for _ in range(120))
    chunks = check("### Architecture diagram\n```text\n" + diagram + "\n```\n**Legend**\n```text\n~x~ cache\n```")
    for chunk in chunks:
        for line in chunk.split("\n"):
            if "┌" in line:
                # every diagram line is inside a fence in its own chunk
                before = chunk[:chunk.index(line)]
                assert open_fence_at_end(before) is not None


def test_nested_fences_longer_outer_fence():
    inner = "```python\nprint('hello')\n```\n"
    body = "\n".join(f"Step {i}: explain the thing in a sentence or two." for i in range(30))
    text = "Example README:\n\n````markdown\n# Title\n" + (inner + body + "\n") * 6 + "````\n\nDone."
    chunks = check(text)
    assert len(chunks) > 2
    for chunk in chunks[1:-1]:
        assert chunk.startswith("````markdown\n"), chunk[:30]
        assert chunk.endswith("\n````")


def test_tilde_fences():
    text = "~~~sql\n" + "\n".join(f"SELECT * FROM t{i} WHERE id = {i} AND status = 'active';" for i in range(120)) + "\n~~~"
    chunks = check(text)
    for chunk in chunks:
        assert chunk.startswith("~~~sql\n") and chunk.endswith("\n~~~")


def test_single_line_over_the_limit():
    text = "intro\n\n" + "x" * 5000 + "\n\noutro"
    chunks = check(text)
    assert "".join(chunks).count("x") == 5000


def test_single_line_over_the_limit_inside_a_code_block():
    text = "```json\n" + '{"k": "' + "v" * 4500 + '"}\n```'
    chunks = check(text)
    assert all(c.startswith("```json") for c in chunks)


def test_exactly_the_limit_is_one_message():
    text = "a" * LIMIT
    assert split_markdown(text, LIMIT) == [text]


blocks = st.one_of(
    st.text(alphabet="abc def.,-*#\n", min_size=1, max_size=600),
    st.builds(lambda lang, body: f"```{lang}\n{body}\n```", st.sampled_from(["", "python", "text", "json"]),
              st.text(alphabet="xyz ()=\n│┌─", min_size=0, max_size=3000)),
    st.builds(lambda n: "y" * n, st.integers(min_value=1900, max_value=4500)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=8))
def test_property_every_chunk_fits_and_renders_alone(parts):
    text = "\n\n".join(parts)
    if not text.strip():
        return
    check(text)


def test_preview_closes_an_open_fence_and_fits():
    assert preview_text("### Code\n```python\nprint(1)") == "### Code\n```python\nprint(1)\n```"
    assert preview_text("done\n```\nx\n```") == "done\n```\nx\n```"
    long = "```text\n" + "\n".join("z" * 50 for _ in range(100))
    out = preview_text(long)
    assert len(out) <= PREVIEW_LIMIT and open_fence_at_end(out) is None
