"""Pure text helpers: splitting never breaks a code fence; mass mentions are defused."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.formatting import ZWSP, neutralize_mentions, split_markdown


def fences_balanced(chunk: str) -> bool:
    return sum(1 for line in chunk.splitlines() if line.strip().startswith("```")) % 2 == 0


def test_short_text_is_one_chunk():
    assert split_markdown("hello", 100) == ["hello"]
    assert split_markdown("   \n", 100) == []


def test_splits_at_paragraphs_first():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(6))
    chunks = split_markdown(text, 400)
    assert all(len(c) <= 400 for c in chunks)
    assert all(c.startswith("Paragraph") for c in chunks)


def test_long_code_block_is_closed_and_reopened_with_its_language():
    code = "\n".join(f"line {i:03d} " + "x" * 40 for i in range(80))
    text = f"Intro paragraph.\n\n```python\n{code}\n```\n\nOutro."
    chunks = split_markdown(text, 500)
    assert len(chunks) > 3
    for c in chunks:
        assert len(c) <= 500
        assert fences_balanced(c), c
    inner = [c for c in chunks if "line 040" in c][0]
    assert inner.startswith("```python\n")
    # Every code line survives exactly once.
    joined = "\n".join(chunks)
    for i in range(80):
        assert joined.count(f"line {i:03d} ") == 1


def test_line_longer_than_limit_is_hard_cut():
    text = "a" * 1000
    chunks = split_markdown(text, 300)
    assert all(len(c) <= 300 for c in chunks)
    assert "".join(chunks) == text


def test_overlong_line_inside_fence_keeps_fences():
    text = "```\n" + "b" * 900 + "\n```"
    chunks = split_markdown(text, 200)
    assert all(len(c) <= 200 and fences_balanced(c) for c in chunks)
    assert "".join(c.replace("```", "").replace("\n", "") for c in chunks) == "b" * 900


def test_nested_fence_with_longer_marker():
    text = "````md\nouter\n```python\nprint(1)\n```\n" + "more\n" * 200 + "````\nafter"
    chunks = split_markdown(text, 300)
    assert all(len(c) <= 300 for c in chunks)
    for c in chunks[1:-1]:
        assert c.startswith("````md")


def test_emoji_and_unicode_survive():
    text = ("🚀 Scaling 🔥 — naïve café " * 40).strip()
    chunks = split_markdown(text, 200)
    assert all(len(c) <= 200 for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="`"), max_size=120),
    st.builds(lambda lang, body: f"```{lang}\n{body}\n```", st.sampled_from(["", "python", "text"]),
              st.text(alphabet="abc xyz\n|+-", max_size=400)),
), max_size=12), st.integers(min_value=60, max_value=600))
def test_property_chunks_fit_and_fences_balance(parts, limit):
    text = "\n\n".join(parts)
    chunks = split_markdown(text, limit)
    for c in chunks:
        assert len(c) <= limit
        assert fences_balanced(c)
    # No visible character is lost (fence markers may be added).
    strip = lambda s: "".join(ch for ch in s if not ch.isspace() and ch != "`")
    src = strip("\n".join(p.replace("```python", "").replace("```text", "") for p in parts))
    out = strip("\n".join(c.replace("```python", "").replace("```text", "") for c in chunks))
    assert out == src


def test_neutralize_mentions():
    out = neutralize_mentions("Hey @everyone and @here, @Channel! email me@here.com")
    assert "@everyone" not in out and "@here," not in out and "@Channel" not in out
    assert f"@{ZWSP}everyone" in out


def test_overlong_line_fills_the_current_chunk_first():
    chunks = split_markdown("### Scope\n" + "x" * 2550, 2000)
    assert [len(c) for c in chunks] == [2000, 561]
    assert chunks[0].startswith("### Scope\nxxx")


def test_preview_chunk_closes_an_open_fence():
    from bot.formatting import open_fence, preview_chunk

    text = "### Diagram\n```text\n┌──┐\n│ A"
    assert open_fence(text) == ("```", "text")
    out = preview_chunk(text, 100)
    assert out.endswith("\n```") and open_fence(out) is None
    long = "intro\n```python\n" + "x = 1\n" * 100
    out = preview_chunk(long, 200)
    assert len(out) <= 200 and open_fence(out) is None
    assert preview_chunk("plain text", 100) == "plain text"
