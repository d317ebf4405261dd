"""The problem bank file and its schema: every card complete, nothing duplicated, clear errors."""
from __future__ import annotations

import re

import pytest

from bot.cards import (
    DEFAULT_BANK,
    BankError,
    Category,
    Difficulty,
    ProblemCard,
    default_bank,
    load_bank,
    parse_bank,
)

# The 20 problems the bank held as bare titles before it became data: they must all survive.
OLD_TITLES = [
    "Design a URL shortener like bit.ly",
    "Design a rate limiter for a public API",
    "Design a chat app like WhatsApp",
    "Design a news feed like Twitter's home timeline",
    "Design a ride-sharing service like Uber",
    "Design a web crawler",
    "Design a notification service (push, email, SMS)",
    "Design a video streaming service like YouTube",
    "Design a file storage and sync service like Dropbox",
    "Design a distributed key-value store",
    "Design a search autocomplete (typeahead) service",
    "Design a hotel booking system",
    "Design a payment system for an online shop",
    "Design a leaderboard for a multiplayer game",
    "Design a distributed job scheduler",
    "Design an online collaborative editor like Google Docs",
    "Design a metrics and alerting system",
    "Design a ticketing system for concerts (flash sales)",
    "Design a proximity service like Yelp",
    "Design a distributed message queue",
]
OLD_DIAGRAM_SUBJECTS = [
    "A URL shortener", "A ride-sharing app", "A chat app", "A news feed", "A video streaming platform",
    "A payment system", "A web crawler", "A food delivery app", "An e-commerce checkout", "A notification service",
]


def card_toml(**overrides: object) -> str:
    """One valid card as TOML, with fields replaced by `overrides` (None drops the field)."""
    fields: dict[str, object] = {
        "id": "demo", "title": "Design a demo", "subject": "A demo", "aliases": ["demo service"],
        "difficulty": "easy", "category": "web", "diagram_ok": True,
        "in_scope": ["one", "two"], "out_of_scope": ["three"],
        "follow_ups": ["f1?", "f2?", "f3?"], "curveball": "a twist", "strong_answer": ["a", "b", "c"],
        "pitfalls": ["p1", "p2"],
    }
    fields.update(overrides)
    reference = {"users": "10 users", "read_qps": "5 reads/s", "write_qps": "1 write/s", "data": "1 GB",
                 "latency": "100 ms", "availability": "99.9%"}
    reference.update(fields.pop("reference", {}) or {})  # type: ignore[arg-type]
    lines = ["[[problem]]"]
    for key, value in fields.items():
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    lines.append("[problem.reference]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in reference.items() if v is not None]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def bank():
    return load_bank(DEFAULT_BANK)


def test_the_bank_holds_at_least_forty_problems_across_difficulties(bank):
    assert len(bank) >= 40
    for level in Difficulty:
        assert len(bank.by_difficulty(level)) >= 5, level
    assert {c.category for c in bank} >= {Category.WEB, Category.FINANCE, Category.INFRASTRUCTURE, Category.GEO}


def test_every_old_title_and_diagram_subject_survives(bank):
    titles = [c.title for c in bank]
    for title in OLD_TITLES:
        assert title in titles
    diagram_subjects = [c.subject for c in bank.by_difficulty(diagram=True)]
    for subject in OLD_DIAGRAM_SUBJECTS:
        assert subject in diagram_subjects


def test_every_card_is_complete(bank):
    for card in bank:
        assert isinstance(card, ProblemCard)
        assert 3 <= len(card.follow_ups) <= 5, card.id
        assert len(card.in_scope) >= 2 and card.out_of_scope and card.aliases, card.id
        assert len(card.strong_answer) >= 3 and len(card.pitfalls) >= 2, card.id
        assert card.curveball and card.curveball not in card.follow_ups, card.id
        for label, value in card.reference.rows():
            assert re.search(r"\d", value), (card.id, label)
        assert card.title.startswith("Design "), card.id
        assert card.subject[0].isupper() and not card.subject.endswith("."), card.id
        assert len(card.throwables()) >= 4, card.id


def test_ids_titles_and_names_are_unique_across_the_bank(bank):
    ids = [c.id for c in bank]
    assert len(ids) == len(set(ids))
    titles = [c.title.lower() for c in bank]
    assert len(titles) == len(set(titles))
    seen: dict[str, str] = {}
    for card in bank:
        for name in set(card.names()):
            assert seen.setdefault(name, card.id) == card.id, f"{name!r} used by {seen[name]} and {card.id}"


def test_diagram_subjects_never_contain_one_another(bank):
    """The usage help counts which subjects it shows, so no subject may be part of another."""
    subjects = [c.subject for c in bank.by_difficulty(diagram=True)]
    for a in subjects:
        for b in subjects:
            assert a == b or a not in b, (a, b)


def test_no_dollar_signs_in_the_bank_so_cards_can_go_through_string_templates():
    assert "$" not in DEFAULT_BANK.read_text(encoding="utf-8")


def test_default_bank_is_read_once():
    assert default_bank() is default_bank()


def test_a_valid_card_parses():
    bank = parse_bank(card_toml())
    card = bank.get("demo")
    assert card is not None and card.difficulty is Difficulty.EASY and card.category is Category.WEB
    assert bank.get("nope") is None
    assert card.names() == ["demo", "demo", "demo service"]


@pytest.mark.parametrize("overrides, fragment", [
    ({"difficulty": "brutal"}, "difficulty"),
    ({"category": "misc"}, "category"),
    ({"aliases": []}, "aliases"),
    ({"follow_ups": ["only one?"]}, "follow_ups"),
    ({"follow_ups": ["a", "b", "c", "d", "e", "f"]}, "follow_ups"),
    ({"strong_answer": []}, "strong_answer"),
    ({"curveball": "   "}, "curveball"),
    ({"pitfalls": None}, "pitfalls"),
    ({"id": "Has Spaces"}, "id"),
    ({"aliases": ["Same", "same"]}, "repeated: same"),
    ({"reference": {"users": "lots of people"}}, "reference.users"),
    ({"reference": {"latency": None}}, "reference.latency"),
    ({"surprise": "extra field"}, "surprise"),
])
def test_a_bad_card_is_named_with_the_field_at_fault(overrides, fragment):
    with pytest.raises(BankError) as caught:
        second = {"id": "broken", "aliases": ["other"], "title": "Design b", "subject": "B", **overrides}
        parse_bank(card_toml() + card_toml(**second), source="bank.toml")
    message = str(caught.value)
    assert "bank.toml" in message and fragment in message
    assert "problem #2" in message
    assert overrides.get("id", "broken") in message


def test_a_card_without_a_usable_id_is_named_by_its_position():
    with pytest.raises(BankError, match=r"problem #2 is invalid: id"):
        parse_bank(card_toml() + card_toml(id=None, aliases=["other"], title="Design b"))


@pytest.mark.parametrize("second, fragment", [
    ({"aliases": ["other"], "title": "Design b"}, "problem id 'demo' is used by 2 problems"),
    ({"id": "copy", "aliases": ["other"]}, "title 'design a demo' is already used by problem 'demo'"),
    ({"id": "copy", "title": "Design b", "subject": "B", "aliases": ["Demo Service"]},
     "problem 'copy': name 'demo service' is already used by problem 'demo'"),
    ({"id": "copy", "title": "Design b", "aliases": ["b"]}, "problem 'copy': name 'demo' is already used"),
])
def test_duplicates_across_cards_name_both_cards(second, fragment):
    with pytest.raises(BankError, match=re.escape(fragment)):
        parse_bank(card_toml() + card_toml(**second))


def test_unreadable_or_malformed_banks_fail_clearly(tmp_path):
    with pytest.raises(BankError, match="cannot read the problem bank"):
        load_bank(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[problem]\nid = ", encoding="utf-8")
    with pytest.raises(BankError, match="bad.toml is not valid TOML"):
        load_bank(bad)
    with pytest.raises(BankError, match=r"must hold \[\[problem\]\] tables"):
        parse_bank("title = 'no tables'")
    with pytest.raises(BankError, match="empty"):
        parse_bank("problem = []")
