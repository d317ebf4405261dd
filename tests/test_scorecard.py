"""Practice mode pieces: the rubric file, the scorecard JSON (good and off-format), its Markdown, the prompts."""
from __future__ import annotations

import json
import re

import pytest

from bot.card_render import render_interviewer_card
from bot.levels import Level, level_guide
from bot.practice_prompts import (
    PRACTICE_PHASES,
    PROMPTS_DIR,
    Speaker,
    candidate_words,
    interviewer_system,
    scorecard_fix_prompt,
    scorecard_prompt,
    scoring_transcript,
    turn_note,
)
from bot.problems import find_card
from bot.rubric import RUBRIC_FILE, RubricError, load_rubric, parse_rubric
from bot.scorecard import (
    ScorecardOutcome,
    extract_json,
    parse_scorecard,
    render_scorecard,
    render_scorecard_failure,
    unquoted_evidence,
)

THREAD = """candidate: Before I start: how many daily users, and is it read heavy?
interviewer: 100M monthly users, and about 100 reads per write.
candidate: So 40k redirects a second on average. I'd put a cache in front of the store because reads dominate.
candidate: The code is base62 of a counter handed out in blocks of 1,000 to each server.
candidate: If the Redis node restarts we lose the counters, so I'd persist the block allocation in the database."""


def scorecard_json(**overrides: object) -> dict:
    data: dict = {
        "signals": [
            {"signal": "problem_navigation", "score": 3, "evidence": ["how many daily users, and is it read heavy?"],
             "comment": "Asked about scale and the read mix before designing."},
            {"signal": "solution_design", "score": 3,
             "evidence": ["I'd put a cache in front of the store because reads dominate"],
             "comment": "Choices follow from the read/write ratio."},
            {"signal": "technical_depth", "score": 2, "evidence": ["base62 of a counter ... blocks of 1,000"],
             "comment": "Code generation explained, failure handling only sketched."},
            {"signal": "communication", "score": 4, "evidence": ["So 40k redirects a second on average."],
             "comment": "Clear and numeric."},
        ],
        "improvements": ["Estimate storage too", "Walk the write path", "Name the partition key"],
        "level_estimate": "senior",
        "level_reason": "Numbers drive the choices, but depth is uneven.",
        "summary": "You led with numbers and let them shape the design. Go deeper on failures next time.",
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def rubric():
    return load_rubric()


# --- rubric -------------------------------------------------------------------------------------

def test_the_rubric_has_the_four_signals_each_on_four_levels(rubric):
    assert rubric.ids[:4] == ("problem_navigation", "solution_design", "technical_depth", "communication")
    for signal in rubric.signals:
        assert [lv.score for lv in signal.levels] == [1, 2, 3, 4]
        assert all(len(lv.description) > 40 for lv in signal.levels), signal.id
        assert signal.looks_at and signal.label(3) == "Solid"
    assert any("hint" in rule.lower() for rule in rubric.rules)
    assert rubric.signal("nope") is None
    assert "$" not in RUBRIC_FILE.read_text(encoding="utf-8")


def test_rubric_prompt_text_lists_every_level(rubric):
    text = rubric.as_prompt()
    for signal in rubric.signals:
        assert f"{signal.name} (id: {signal.id})" in text
        for lv in signal.levels:
            assert f"{lv.score} {lv.label}: {lv.description}" in text


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("4 Strong: Concise", "Concise"), "line .* not understood"),
    (lambda t: t.replace("\n3 Solid: Clear, organised", "\n5 Solid: Clear, organised"), "not understood"),
    (lambda t: t.replace("4 Strong: Concise and structured throughout; checks understanding and invites "
                         "challenge; turns feedback into a better design quickly; easy to imagine working with.\n",
                         ""), "signal 'communication' needs score lines 1, 2, 3, 4 in order \\(found 1, 2, 3\\)"),
    (lambda t: t.replace("Looks at: how easy", "Seen as: how easy"), "not understood"),
    (lambda t: t.split("[communication]")[0], "at least four signals \\(found 3\\)"),
    (lambda t: t.replace("[communication]", "[technical_depth]"), "used twice \\(technical_depth\\)"),
])
def test_a_broken_rubric_is_named(mutate, message):
    with pytest.raises(RubricError, match=message):
        parse_rubric(mutate(RUBRIC_FILE.read_text(encoding="utf-8")))


def test_a_signal_without_looks_at_is_named():
    text = RUBRIC_FILE.read_text(encoding="utf-8")
    start = text.index("Looks at: how easy")
    end = text.index("\n", start) + 1
    with pytest.raises(RubricError, match="'communication' needs a 'Looks at:' line"):
        parse_rubric(text[:start] + text[end:])


# --- parsing the model's reply ---------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [
    lambda body: body,
    lambda body: f"Here is the scorecard:\n```json\n{body}\n```\nGood luck!",
    lambda body: f"Sure! {body} Hope it helps.",
])
def test_a_good_scorecard_parses_however_it_is_wrapped(rubric, wrap):
    result = parse_scorecard(wrap(json.dumps(scorecard_json(), indent=2)), rubric)
    assert result.outcome is ScorecardOutcome.OK and result.detail == ""
    card = result.scorecard
    assert card is not None and card.level_estimate is Level.SENIOR
    item = card.score("technical_depth")
    assert item is not None and item.score == 2
    assert card.score("nope") is None


@pytest.mark.parametrize("word, level", [("Staff+", Level.STAFF), ("L4", Level.MID), ("junior", Level.JUNIOR)])
def test_level_estimate_accepts_level_words(rubric, word, level):
    result = parse_scorecard(json.dumps(scorecard_json(level_estimate=word)), rubric)
    assert result.scorecard is not None and result.scorecard.level_estimate is level


@pytest.mark.parametrize("reply, outcome, detail", [
    ("I think they did well overall, maybe a 3.", ScorecardOutcome.NO_JSON, "no JSON object"),
    ("", ScorecardOutcome.NO_JSON, "no JSON object"),
    ('{"signals": [ {"signal": "x", "score": 3,, } ]}', ScorecardOutcome.BAD_JSON, "does not parse"),
    (json.dumps(scorecard_json(improvements=["only one"])), ScorecardOutcome.WRONG_SHAPE, "improvements"),
    (json.dumps(scorecard_json(level_estimate="wizard")), ScorecardOutcome.WRONG_SHAPE, "level_estimate"),
    (json.dumps(scorecard_json(summary="  ")), ScorecardOutcome.WRONG_SHAPE, "summary"),
    (json.dumps({"score": 3}), ScorecardOutcome.WRONG_SHAPE, "signals"),
    (json.dumps([1, 2, 3]), ScorecardOutcome.NO_JSON, "no JSON object"),
])
def test_off_format_replies_are_named_outcomes(rubric, reply, outcome, detail):
    result = parse_scorecard(reply, rubric)
    assert result.outcome is outcome and detail in result.detail
    assert result.outcome is not ScorecardOutcome.OK


def test_a_score_out_of_range_or_missing_evidence_is_the_wrong_shape(rubric):
    data = scorecard_json()
    data["signals"][0]["score"] = 5
    data["signals"][1]["evidence"] = []
    result = parse_scorecard(json.dumps(data), rubric)
    assert result.outcome is ScorecardOutcome.WRONG_SHAPE
    assert "signals.0.score" in result.detail and "signals.1.evidence" in result.detail


def test_missing_unknown_and_repeated_signals_are_reported(rubric):
    data = scorecard_json()
    data["signals"][3] = dict(data["signals"][2])                       # communication missing, depth twice
    data["signals"].append({**data["signals"][0], "signal": "charisma"})
    result = parse_scorecard(json.dumps(data), rubric)
    assert result.outcome is ScorecardOutcome.WRONG_SIGNALS and result.scorecard is not None
    assert result.detail == "signals missing: communication; not in the rubric: charisma; repeated: technical_depth"


def test_extract_json_prefers_a_fenced_object():
    reply = 'Scores {draft} below\n```json\n{"a": 1}\n```'
    assert extract_json(reply) == '{"a": 1}'
    assert extract_json("no braces") is None


# --- evidence ---------------------------------------------------------------------------------------

def test_evidence_must_be_quoted_from_the_thread(rubric):
    card = parse_scorecard(json.dumps(scorecard_json()), rubric).scorecard
    assert card is not None
    assert unquoted_evidence(card, THREAD) == []
    invented = scorecard_json()
    invented["signals"][2]["evidence"] = ["I would use consistent hashing", "base62 of a counter"]
    card = parse_scorecard(json.dumps(invented), rubric).scorecard
    assert card is not None
    missing = unquoted_evidence(card, THREAD)
    assert [(m.signal, m.quote) for m in missing] == [("technical_depth", "I would use consistent hashing")]
    assert unquoted_evidence(card, "") != []


# --- rendering --------------------------------------------------------------------------------------

def test_the_rendered_scorecard_shows_every_signal_with_its_quotes(rubric):
    card = parse_scorecard(json.dumps(scorecard_json()), rubric).scorecard
    assert card is not None
    text = render_scorecard(card, rubric, problem="Design a URL shortener", hints_used=2, target=Level.STAFF)
    assert text.startswith("**Scorecard: Design a URL shortener**")
    for signal in rubric.signals:
        item = card.score(signal.id)
        assert item is not None
        assert f"**{signal.name}: {item.score}/4 ({signal.label(item.score)})** {item.comment}\n" in text
        for quote in item.evidence:
            assert f"\n> {quote}\n" in text
    assert "**Total:** 12/16 · **Hints used:** 2" in text
    assert "**Level estimate:** senior (you aimed for staff)." in text
    assert re.search(r"1\. Estimate storage too\n2\. Walk the write path\n3\. Name the partition key$", text)
    assert "@" not in text and "\n#" not in text
    plain = render_scorecard(card, rubric, target=Level.SENIOR)
    assert plain.startswith("**Scorecard**") and "no hints used" in plain and "aimed for" not in plain


def test_an_unscored_signal_is_shown_as_such(rubric):
    data = scorecard_json()
    del data["signals"][3]
    result = parse_scorecard(json.dumps(data), rubric)
    assert result.outcome is ScorecardOutcome.WRONG_SIGNALS and result.scorecard is not None
    assert "**Communication: not scored**" in render_scorecard(result.scorecard, rubric)


def test_failure_message_names_the_problem(rubric):
    result = parse_scorecard("no idea", rubric)
    assert "holds no JSON object" in render_scorecard_failure(result)


# --- prompts ----------------------------------------------------------------------------------------

def test_interviewer_prompt_holds_the_hidden_card_and_the_rules():
    card = find_card("tinyurl")
    assert card is not None
    text = interviewer_system(card.title, render_interviewer_card(card), Level.STAFF)
    assert "$" not in text
    assert render_interviewer_card(card) in text and level_guide(Level.STAFF).guidance in text
    assert f'The problem: "{card.title}"' in text and "aiming for: staff" in text
    for phase in PRACTICE_PHASES:
        assert phase in text, phase
    lowered = text.lower()
    for rule in ("only from the card", "never invent a second answer", "curveball once", "[hint requested]",
                 "describe back", "quote their words back", "never paste it"):
        assert rule in lowered, rule
    assert "aiming for: senior" in interviewer_system("Design X", "Problem: Design X")


def test_turn_notes_match_what_the_interviewer_prompt_describes():
    prompt = (PROMPTS_DIR / "interviewer.txt").read_text(encoding="utf-8")
    assert turn_note("high-level design", 12) == "[phase: high-level design, 12 min left]"
    assert turn_note("high-level design", 12) in prompt
    assert turn_note("estimates", 0.4) == "[phase: estimates, under a minute left]"
    assert turn_note("estimates", -3) == "[phase: estimates, under a minute left]"
    assert turn_note("deep dive", 3, overrun=True) == "[phase: deep dive, overrun: nudge toward the next phase]"
    assert turn_note("deep dive", 9.6, hint=True) == "[phase: deep dive, 10 min left] [hint requested]"
    assert turn_note("wrap-up", phase_changed=True) == "[phase: wrap-up, new phase]"
    assert "overrun" in prompt and "[hint requested]" in prompt


TURNS = [
    (Speaker.INTERVIEWER, "Design a URL shortener. What would you like to know?"),
    (Speaker.CANDIDATE, "How many daily users, and is it read heavy?"),
    (Speaker.INTERVIEWER, "100M monthly users; about 100 reads per write."),
    (Speaker.CANDIDATE, "  So 40k redirects a second on average.  "),
    (Speaker.CANDIDATE, "   "),
]


def test_transcripts_for_scoring_label_every_turn_and_keep_only_the_candidate_for_evidence():
    text = scoring_transcript(TURNS)
    assert text.startswith("Interviewer: Design a URL shortener.")
    assert text.endswith("Candidate: So 40k redirects a second on average.")
    assert text.count("Candidate:") == 2
    words = candidate_words(TURNS)
    assert "100M monthly users" not in words and "40k redirects" in words


def test_evidence_quoting_the_interviewer_is_caught(rubric):
    data = scorecard_json()
    data["signals"][0]["evidence"] = ["about 100 reads per write"]
    card = parse_scorecard(json.dumps(data), rubric).scorecard
    assert card is not None
    missing = unquoted_evidence(card, candidate_words(TURNS))
    assert ("problem_navigation", "about 100 reads per write") in [(m.signal, m.quote) for m in missing]


def test_scorecard_prompt_asks_for_every_signal_as_json(rubric):
    text = scorecard_prompt("Design a URL shortener", scoring_transcript(TURNS), level=Level.MID, hints_used=1)
    assert "$" not in text
    assert "---\nInterviewer: Design a URL shortener." in text and "never quote the interviewer" in text
    assert "(empty)" in scorecard_prompt("Design X", "")
    assert '"Design a URL shortener"' in text and "aimed for: mid" in text and "asked for: 1" in text
    assert rubric.as_prompt() in text
    assert "in this order: problem_navigation, solution_design, technical_depth, communication." in text
    example = text[text.index("{"):text.rindex("}") + 1]
    assert json.loads(example)["signals"][0]["signal"] == "problem_navigation"
    for word in ("three improvements", "level estimate", "word for word"):
        assert word in text


def test_fix_prompt_quotes_what_was_wrong(rubric):
    result = parse_scorecard(json.dumps(scorecard_json(improvements=["one"])), rubric)
    text = scorecard_fix_prompt(result)
    assert text.startswith("Your scorecard could not be used: improvements")
    assert "problem_navigation, solution_design, technical_depth, communication" in text and "$" not in text
