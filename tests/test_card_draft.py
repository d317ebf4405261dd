"""Model-written hidden cards for free-form problems, and generated curveballs."""
from __future__ import annotations

import json

import pytest

from bot.card_draft import (
    CUSTOM_ID,
    MAX_DESIGN_CHARS,
    DraftOutcome,
    card_write_prompt,
    curveball_prompt,
    parse_card_draft,
    parse_curveball,
)
from bot.card_render import render_interviewer_card
from bot.cards import Difficulty, ProblemCard
from bot.problems import find_card

PROBLEM = "Design a parking garage booking system"


def draft_json(**overrides: object) -> dict:
    """A card the model might write: an existing card's content without the bank-only fields."""
    card = find_card("Design a hotel booking system")
    assert card is not None
    data = card.model_dump(mode="json", exclude={"id", "title", "aliases", "keywords"})
    data.update(subject="A parking garage booking system", **overrides)
    return data


def test_the_card_prompt_names_the_problem_and_every_field():
    text = card_write_prompt(PROBLEM)
    assert f'The problem: "{PROBLEM}"' in text and "$" not in text
    example = json.loads(text[text.index("{"):text.rindex("}") + 1])
    expected = set(ProblemCard.model_fields) - {"id", "title", "aliases", "keywords"}
    assert set(example) == expected
    assert set(example["reference"]) == {"users", "read_qps", "write_qps", "data", "latency", "availability", "notes"}


@pytest.mark.parametrize("wrap", [lambda b: b, lambda b: f"Here it is:\n```json\n{b}\n```"])
def test_a_good_draft_becomes_a_custom_card(wrap):
    result = parse_card_draft(wrap(json.dumps(draft_json())), f"  {PROBLEM}  ")
    assert result.outcome is DraftOutcome.OK and result.card is not None
    card = result.card
    assert card.id == CUSTOM_ID and card.title == PROBLEM and card.aliases == [PROBLEM]
    assert card.difficulty is Difficulty.MEDIUM
    assert ProblemCard.model_validate_json(card.model_dump_json()) == card     # survives the thread's state
    assert card.curveball in render_interviewer_card(card)


@pytest.mark.parametrize("reply, outcome, detail", [
    ("Sure, here are some numbers: 10k users.", DraftOutcome.NO_JSON, "no JSON object"),
    ('{"subject": "A thing",}', DraftOutcome.BAD_JSON, "does not parse"),
    (json.dumps(draft_json(difficulty="easy | medium | hard")), DraftOutcome.WRONG_SHAPE, "difficulty"),
    (json.dumps(draft_json(follow_ups=["only one"])), DraftOutcome.WRONG_SHAPE, "follow_ups"),
    (json.dumps({**draft_json(), "reference": {"users": "many"}}), DraftOutcome.WRONG_SHAPE, "reference.users"),
])
def test_unusable_drafts_are_named_outcomes(reply, outcome, detail):
    result = parse_card_draft(reply, PROBLEM)
    assert result.outcome is outcome and result.card is None and detail in result.detail


def test_curveball_prompt_holds_the_design_and_what_was_asked():
    text = curveball_prompt("Design a URL shortener", "Codes come from a counter in Redis.",
                            ["What if Redis restarts?"])
    assert "$" not in text and "Codes come from a counter in Redis." in text
    assert "- What if Redis restarts?" in text and '"Design a URL shortener"' in text
    empty = curveball_prompt("Design X", "")
    assert "(nothing yet)" in empty and "- nothing yet" in empty


def test_a_long_design_keeps_its_latest_part():
    design = "START " + "x" * (MAX_DESIGN_CHARS + 500) + " END"
    text = curveball_prompt("Design X", design)
    assert "START" not in text and "END" in text and "[...]" in text


@pytest.mark.parametrize("reply, question", [
    ("What happens when the Redis node holding the counter restarts?",
     "What happens when the Redis node holding the counter restarts?"),
    ('**Curveball:** "Suppose links must now expire after 24 hours. What changes?"',
     "Suppose links must now expire after 24 hours. What changes?"),
    ("Follow-up: How do you shard\nthe click counts?\n\nThis tests their sharding.",
     "How do you shard the click counts?"),
    ("", None),
    ("   \n\n  ", None),
    ("x" * 500, None),
])
def test_parse_curveball(reply, question):
    assert parse_curveball(reply) == question
