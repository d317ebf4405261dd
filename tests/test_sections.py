"""The section parser: markers, Markdown drift, duplicates, and streaming at any split."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sections import DESIGN_SECTIONS, DIAGRAM_ONLY_SECTIONS, SectionParser, parse_questions
from bot.titles import Style, read_title, section_for
from tests.fakes.llm_script import SECTION_BODIES, sections_text

ORDER = list(DESIGN_SECTIONS)


def run(chunks: list[str], catalogue: dict[str, str] = DESIGN_SECTIONS) -> tuple[list[tuple[str, str]], str]:
    parser = SectionParser(catalogue)
    out: list[tuple[str, str]] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    out += parser.finish()
    return out, parser.intro


def whole(text: str, catalogue: dict[str, str] = DESIGN_SECTIONS) -> list[tuple[str, str]]:
    return run([text], catalogue)[0]


# ------------------------------------------------------------------ titles
@pytest.mark.parametrize("line, style, text", [
    ("## Functional requirements", Style.H2, "Functional requirements"),
    ("# API design #", Style.H1, "API design"),
    ("###### 4) Deep dive:", Style.H6, "Deep dive"),
    ("**High-level design**", Style.BOLD, "High-level design"),
    ("__Scaling__:", Style.BOLD, "Scaling"),
    ("**2. Non-functional requirements**", Style.BOLD, "Non-functional requirements"),
    ("3. Deep dive", Style.NUMBERED, "Deep dive"),
    ("3. Deep dive: the generator", Style.NUMBERED, "Deep dive: the generator"),
    ("7) Assumptions", Style.NUMBERED, "Assumptions"),
    ("## Step 5: High-level design", Style.H2, "High-level design"),
])
def test_title_lines_are_read(line, style, text):
    title = read_title(line)
    assert title is not None and title.style is style and title.text == text


@pytest.mark.parametrize("line", [
    "1. Shorten a long URL into a unique code (Code Generator).",
    "2. Availability: 99.99% for redirects",
    "**Scaling**: add replicas behind the load balancer",
    "3. Security: TLS 1.3 everywhere",
    "**Failures** and **Security** both matter",
    "Plain text with a # inside",
    "#hashtag without a space",
    "**This whole sentence is bold.**",
])
def test_ordinary_lines_are_not_titles(line):
    assert read_title(line) is None


@pytest.mark.parametrize("title, sid", [
    ("Problem and scope", "scope"), ("Understanding the problem", "scope"),
    ("Functional Requirements", "functional"), ("Core features", "functional"),
    ("Non-functional requirements", "non_functional"), ("Capacity estimation", "non_functional"),
    ("API design", "api"), ("API contracts", "api"), ("Endpoints", "api"),
    ("High-level design", "high_level"), ("High-Level Architecture", "high_level"),
    ("Architecture diagram", "diagram"), ("Flow description", "diagram"),
    ("Deep dive: the code generator", "deep_dive"), ("Detailed design", "deep_dive"),
    ("Scaling, failures and security", "scaling"), ("Failure scenarios", "scaling"), ("Security", "scaling"),
    ("Assumptions and simplifications", "assumptions"), ("Simplifications", "assumptions"),
    ("Over to you", "closing"), ("Wrapping up", "closing"),
])
def test_titles_map_to_sections_by_meaning(title, sid):
    assert section_for(title, DESIGN_SECTIONS) == sid


def test_the_first_phrase_wins_and_asides_count_last():
    assert section_for("Functional requirements (with core components)", DESIGN_SECTIONS) == "functional"
    assert section_for("Functional requirements and core components", DESIGN_SECTIONS) == "functional"
    assert section_for("Core components and functional requirements", DESIGN_SECTIONS) == "high_level"
    assert section_for("Step 4 (API design)", DESIGN_SECTIONS) == "api"


def test_the_catalogue_decides_between_meanings():
    assert section_for("Walkthrough", DESIGN_SECTIONS) == "diagram"
    assert section_for("Walkthrough", DIAGRAM_ONLY_SECTIONS) == "walkthrough"
    assert section_for("Data flow", DIAGRAM_ONLY_SECTIONS) == "walkthrough"
    assert section_for("Architecture", DIAGRAM_ONLY_SECTIONS) == "diagram"


@pytest.mark.parametrize("title", ["URL shortener", "Requirements", "Data model", "Caching strategy",
                                   "A very long line that happens to mention the api and scaling but is prose"])
def test_titles_naming_no_section_map_to_none(title):
    assert section_for(title, DESIGN_SECTIONS) is None


# ------------------------------------------------------------------ whole replies
def test_markers_contract_is_kept():
    out, intro = run(["Great, thanks!\n" + sections_text(SECTION_BODIES)])
    assert [s for s, _ in out] == ORDER
    assert dict(out) == {k: v.strip() for k, v in SECTION_BODIES.items()}
    assert intro == "Great, thanks!"


def test_markdown_headings_become_sections():
    text = "# URL shortener\nHere we go.\n\n" + "\n\n".join(
        f"## {i}. {DESIGN_SECTIONS[s]}\n{SECTION_BODIES[s]}" for i, s in enumerate(ORDER, 1))
    out, intro = run([text])
    assert [s for s, _ in out] == ORDER
    assert dict(out)["assumptions"].startswith("**Assumptions**")
    assert intro == "# URL shortener\nHere we go."


def test_sub_headings_stay_in_their_section():
    text = ("## High-level design\nStateless API.\n### Security\nTLS everywhere.\n**Scaling**\nMore pods.\n"
            "## Deep dive\nThe generator.\n1. Scaling\n2. Security\n")
    out = whole(text)
    assert [s for s, _ in out] == ["high_level", "deep_dive"]
    assert "### Security\nTLS everywhere." in out[0][1] and "**Scaling**" in out[0][1]
    assert out[1][1] == "The generator.\n1. Scaling\n2. Security"


def test_a_parent_title_that_names_no_section_lets_its_children_lead():
    text = ("## Requirements\n### Functional requirements\n- shorten\n### Non-functional requirements\n- fast\n"
            "## API design\n- POST /urls\n### Security\n- tokens\n")
    out = whole(text)
    assert [s for s, _ in out] == ["functional", "non_functional", "api"]
    assert out[2][1] == "- POST /urls\n### Security\n- tokens"


def test_a_document_title_that_names_a_section_does_not_hide_the_rest():
    text = ("# URL shortener: overview\nGreat questions!\n## Functional requirements\n- shorten\n"
            "## Non-functional requirements\n- fast\n### Security\n- TLS\n## Deep dive\nRanges.")
    out = whole(text)
    assert [s for s, _ in out] == ["scope", "functional", "non_functional", "deep_dive"]
    assert out[2][1] == "- fast\n### Security\n- TLS"


def test_a_deeper_first_title_is_a_real_sub_heading():
    out = whole("## High-level architecture\n### Components\n- gateway\n## Deep dive\nX")
    assert out[0] == ("high_level", "### Components\n- gateway")


def test_titles_inside_code_fences_do_not_count():
    text = "## High-level design\nBelow:\n```\n# Scaling\n## Security\n```\nDone.\n## Deep dive\nX"
    out = whole(text)
    assert [s for s, _ in out] == ["high_level", "deep_dive"]
    assert "# Scaling" in out[0][1]


def test_after_a_marker_titles_are_body_text():
    text = "<<<section:high_level>>>\nAPI.\n## Scaling\nLater.\n<<<section:scaling>>>\nNow."
    assert whole(text) == [("high_level", "API.\n## Scaling\nLater."), ("scaling", "Now.")]


def test_a_title_repeating_the_marker_is_dropped_but_labels_stay():
    text = ("<<<section:functional>>>\n## Functional requirements\n- shorten\n"
            "<<<section:assumptions>>>\n**Assumptions**\n- 1M users\n**Simplifications**\n- no auth")
    out = dict(whole(text))
    assert out["functional"] == "- shorten"
    assert out["assumptions"].startswith("**Assumptions**")


def test_repeated_titles_merge_and_repeated_sections_are_dropped():
    text = ("## Scope\nWe shorten links.\n## Scope\nmore scope\n## API\n- POST /urls creates a code\n"
            "## Scope\nWe shorten links.\n## Deep dive\nThe generator hands out ranges.\n"
            "## API design\n- POST /urls creates a code\n")
    out = whole(text)
    assert out == [("scope", "We shorten links.\n## Scope\nmore scope"), ("api", "- POST /urls creates a code"),
                   ("deep_dive", "The generator hands out ranges.")]


def test_new_text_under_an_emitted_title_stays_in_the_current_section():
    text = ("## Non-functional requirements\n- p99 50 ms\n## API design\n- POST /urls\n"
            "## Capacity estimates\n- 40 writes/s, 4,000 reads/s, 3 TB over five years\n## Deep dive\nRanges.")
    out = whole(text)
    assert [s for s, _ in out] == ["non_functional", "api", "deep_dive"]
    assert out[1][1] == "- POST /urls\n## Capacity estimates\n- 40 writes/s, 4,000 reads/s, 3 TB over five years"


def test_a_repeat_is_not_previewed():
    p = SectionParser(DESIGN_SECTIONS)
    p.feed("## Scope\nS.\n## API\nA.\n## Scope\nS.\n")
    assert p.current() == ("api", "A.")


def test_a_whole_design_written_twice_is_emitted_once():
    text = sections_text(SECTION_BODIES)
    out = whole(text + "\n" + text)
    assert [s for s, _ in out] == ORDER


def test_unknown_markers_join_the_current_section_and_marker_ids_are_tolerant():
    text = "<<<section:scope>>>\nA.\n<<<section:banana>>>\nB.\n<<<section:Non-Functional>>>\nC.\n<<<section:apis>>>\nD."
    assert whole(text) == [("scope", "A.\nB."), ("non_functional", "C."), ("api", "D.")]


def test_a_marker_glued_to_text_still_splits():
    text = "<<<section:scope>>>\nThe problem.<<<section:functional>>>- shorten\n**<<<section:api>>>**\n- POST"
    assert whole(text) == [("scope", "The problem."), ("functional", "- shorten"), ("api", "- POST")]


def test_numbered_titles_and_lists_inside_sections():
    text = ("1. Problem and scope\nWe shorten links.\n2. Non-functional requirements\n1. Availability\n"
            "2. Latency\n3. Scalability\n3. API design\n- POST /urls\n")
    out = whole(text)
    assert [s for s, _ in out] == ["scope", "non_functional", "api"]
    assert out[1][1] == "1. Availability\n2. Latency\n3. Scalability"
    labels = "1. Scope\nS\n2. Non-functional requirements\n1. Latency: 50 ms\n2. Security: TLS and tokens\n3. API\nA"
    assert [s for s, _ in whole(labels)] == ["scope", "non_functional", "api"]


def test_no_titles_keeps_everything_as_intro():
    out, intro = run(["Just a cache and a database.\nThat's it."])
    assert out == [] and intro == "Just a cache and a database.\nThat's it."


def test_empty_sections_are_not_emitted_and_can_come_later():
    assert whole("## API\n\n## Scope\nS\n## API\nA") == [("scope", "S"), ("api", "A")]


def test_sections_are_emitted_as_soon_as_the_next_one_starts():
    p = SectionParser(DESIGN_SECTIONS)
    assert p.feed("## Scope\nWe build it.\n## Functional") == []
    assert p.current() == ("scope", "We build it.")
    assert p.feed(" requirements\n- one") == [("scope", "We build it.")]
    assert p.current() == ("functional", "- one")
    assert p.finish() == [("functional", "- one")]
    assert p.finish() == []


def test_preview_hides_a_title_still_being_typed():
    p = SectionParser(DESIGN_SECTIONS)
    p.feed("<<<section:scope>>>\nHello\n<<<sec")
    assert p.current() == ("scope", "Hello")


def test_diagram_only_catalogue():
    text = "## Flow diagram\n```graph\n{}\n```\nOne board.\n## Walkthrough\nAs you can see..."
    out = whole(text, DIAGRAM_ONLY_SECTIONS)
    assert [s for s, _ in out] == ["diagram", "walkthrough"]


# ------------------------------------------------------------------ streaming properties
TITLES = {
    "scope": ["Problem and scope", "Understanding the problem"],
    "functional": ["Functional requirements", "Core features"],
    "non_functional": ["Non-functional requirements", "Non-Functional Requirements"],
    "api": ["API contracts", "API design"],
    "high_level": ["High-level design", "High-Level Architecture"],
    "diagram": ["Architecture diagram", "Flow diagram"],
    "deep_dive": ["Deep dive", "Deep dive: the ID generator"],
    "scaling": ["Scaling, failures and security", "Scalability"],
    "assumptions": ["Assumptions and simplifications", "Assumptions"],
    "closing": ["Over to you", "Wrapping up"],
}
BODY_LINES = [
    "We keep the hot path tiny.", "- Shorten a long URL into a code (Code Generator)",
    "1. Reads dominate writes 100:1.", "**Caching**: Redis in front of the store.", "| op | path |",
    "|----|------|", "```graph", '{"nodes": []}', "```", "### Data model", "", "A line with a # in it.",
    "   indented detail", "Ünïcödé → arrows ✓", "<not a marker>",
]
FORMATS = {
    "markers": lambda sid, title, n: f"<<<section:{sid}>>>",
    "headings": lambda sid, title, n: f"## {title}",
    "bold": lambda sid, title, n: f"**{title}**",
    "numbered": lambda sid, title, n: f"{n}. {title}",
    "bold_numbered": lambda sid, title, n: f"**{n}. {title}**",
}


@st.composite
def replies(draw, style: str):
    """(reply text, expected section ids in order)."""
    ids = draw(st.lists(st.sampled_from(ORDER), min_size=1, max_size=5, unique=True))
    ids = [s for s in ORDER if s in ids]
    if style == "duplicated":
        ids = ids + draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
    fmt = FORMATS["headings" if style in ("duplicated", "none") else style]
    intro = draw(st.sampled_from(["", "Great, thanks!", "# URL shortener\nLet's go."]))
    parts = [intro] if intro else []
    for n, sid in enumerate(ids, 1):
        body = draw(st.lists(st.sampled_from(BODY_LINES), min_size=1, max_size=3))
        body.append(f"Body of {sid} #{n}.")
        if style != "none":
            parts.append(fmt(sid, draw(st.sampled_from(TITLES[sid])), n))
        parts.extend(_balanced(body))
    expected = [] if style == "none" else list(dict.fromkeys(ids))
    return "\n".join(parts), expected


def _balanced(lines: list[str]) -> list[str]:
    """Close a code fence a body opened, so every section ends outside a fence."""
    opened = False
    for x in lines:
        if x.startswith("```"):
            opened = True if not opened else x.strip() != "```"   # a closing fence has no info string
    return lines + ["```"] * opened


def check_every_split(text: str) -> list[tuple[str, str]]:
    reference = whole(text)
    for i in range(len(text) + 1):
        assert run([text[:i], text[i:]])[0] == reference, f"split at {i} differs"
    ids = [s for s, _ in reference]
    assert len(ids) == len(set(ids)), "a section was emitted twice"
    return reference


STYLES = ["markers", "headings", "bold", "numbered", "bold_numbered", "none", "duplicated"]
FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("style", STYLES)
@FAST
@given(data=st.data())
def test_any_split_gives_the_same_sections(style, data):
    text, expected = data.draw(replies(style))
    out = check_every_split(text)
    assert [s for s, _ in out] == expected
    for sid, body in out:
        assert f"Body of {sid} #" in body


@pytest.mark.parametrize("style", STYLES)
@FAST
@given(data=st.data())
def test_a_reply_cut_anywhere_gives_a_prefix_of_the_sections(style, data):
    text, expected = data.draw(replies(style))
    cut = text[: data.draw(st.integers(0, len(text)))]
    out = check_every_split(cut)
    assert [s for s, _ in out] == expected[: len(out)]


@settings(max_examples=60, deadline=None)
@given(text=st.lists(st.sampled_from(list("#*_1.) \n`<>:abcsopeAPI-") + ["<<<section:api>>>", "## Scope", "\n```\n",
                                                                         "**Deep dive**", "3. Scaling", "\n2. "]),
                     max_size=60).map("".join),
       cuts=st.lists(st.integers(0, 120), max_size=6))
def test_arbitrary_text_in_arbitrary_chunks_matches_whole(text, cuts):
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0] + points, points + [len(text)])]
    out = run(chunks)
    assert out == run([text])
    ids = [s for s, _ in out[0]]
    assert len(ids) == len(set(ids))


def test_a_realistic_reply_split_at_every_position():
    text = "Great, thanks!\n" + "\n\n".join(f"## {DESIGN_SECTIONS[s]}\n{SECTION_BODIES[s]}" for s in ORDER)
    assert [s for s, _ in check_every_split(text)] == ORDER


# ------------------------------------------------------------------ questions
def test_questions_with_the_marker():
    intro, qs = parse_questions("So: a shortener.\n<<<questions>>>\n1. How many users?\n2. Custom aliases?")
    assert intro == "So: a shortener." and qs == ["How many users?", "Custom aliases?"]


def test_questions_under_a_heading_without_question_marks():
    text = "## The problem\nSo we build X.\n\n### Clarifying questions\n1. Scale: users and QPS.\n2) Features in scope"
    intro, qs = parse_questions(text)
    assert intro == "## The problem\nSo we build X."
    assert qs == ["Scale: users and QPS.", "Features in scope"]


def test_questions_under_a_bold_label_with_wrapped_lines():
    intro, qs = parse_questions("So we build X.\n\n**My questions:**\n1. How many\n   users?\n- **Latency?**\nThanks!")
    assert intro == "So we build X." and qs == ["How many users?", "**Latency?**"]


def test_questions_with_no_heading_at_all():
    intro, qs = parse_questions("We build X. Some facts:\n1. It is big.\n2. How big is big?\n3. Who uses it?")
    assert intro == "We build X. Some facts:\n1. It is big."
    assert qs == ["How big is big?", "Who uses it?"]


def test_no_questions_gives_the_text_back():
    assert parse_questions("No questions, sorry.") == ("No questions, sorry.", [])
