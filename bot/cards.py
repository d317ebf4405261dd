"""The problem bank: interviewer cards read from `prompts/problems.toml`.

Each card is what a real interviewer keeps on the desk: the numbers to answer
clarifying questions with, what is in and out of scope, follow-ups and a
curveball to throw, and what a strong answer covers.  The file is data, so the
group can add or edit problems without touching code; `load_bank` checks every
card and names the one that is wrong.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from .config import PROJECT_ROOT

DEFAULT_BANK = PROJECT_ROOT / "prompts" / "problems.toml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DIGIT_RE = re.compile(r"\d")


class Difficulty(str, Enum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Category(str, Enum):
    WEB = "web"                   # request/response services over a store (shorteners, paste sites)
    SOCIAL = "social"             # feeds, posts, follows, matching
    MESSAGING = "messaging"       # chat, notifications, queues
    MEDIA = "media"               # video, music, photos, files
    REALTIME = "realtime"         # live location, collaboration, live comments
    DATA = "data"                 # aggregation, analytics, metrics, crawling, search
    INFRASTRUCTURE = "infrastructure"  # caches, stores, schedulers, ids, locks
    MARKETPLACE = "marketplace"   # booking, tickets, delivery, shopping
    FINANCE = "finance"           # payments, wallets, exchanges
    GEO = "geo"                   # maps, nearby search, location


def _has_number(value: str) -> str:
    if not DIGIT_RE.search(value):
        raise ValueError("must contain a number the group can quote")
    return value


NumberText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                       AfterValidator(_has_number)]


class Reference(BaseModel):
    """The numbers the group answers the candidate's clarifying questions with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: NumberText
    read_qps: NumberText
    write_qps: NumberText
    data: NumberText
    latency: NumberText
    availability: NumberText
    notes: list[Text] = Field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the order an interviewer is asked about them."""
        return [
            ("Users", self.users),
            ("Reads", self.read_qps),
            ("Writes", self.write_qps),
            ("Data", self.data),
            ("Latency", self.latency),
            ("Availability", self.availability),
        ]


class ProblemCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Text
    title: Text                       # the interview prompt, e.g. "Design a URL shortener like bit.ly"
    subject: Text                     # a short noun phrase, e.g. "A URL shortener" (diagram mode, thread names)
    aliases: list[Text] = Field(min_length=1)
    keywords: list[Text] = Field(default_factory=list)
    difficulty: Difficulty
    category: Category
    diagram_ok: bool
    reference: Reference
    in_scope: list[Text] = Field(min_length=2)
    out_of_scope: list[Text] = Field(min_length=1)
    follow_ups: list[Text] = Field(min_length=3, max_length=5)
    curveball: Text
    strong_answer: list[Text] = Field(min_length=3)
    pitfalls: list[Text] = Field(min_length=2)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_RE.match(value):
            raise ValueError("use lower_snake_case, starting with a letter")
        return value

    @field_validator("aliases", "keywords")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        lowered = [v.lower() for v in values]
        repeated = sorted({v for v in lowered if lowered.count(v) > 1})
        if repeated:
            raise ValueError(f"repeated: {', '.join(repeated)}")
        return values

    def names(self) -> list[str]:
        """Every lower-cased name this card answers to: id words, subject, aliases."""
        return [self.id.replace("_", " "), _bare_subject(self.subject).lower(), *(a.lower() for a in self.aliases)]

    def throwables(self) -> list[str]:
        """Everything the group may throw at the candidate: the follow-ups, then the curveball."""
        return [*self.follow_ups, self.curveball]


def _bare_subject(subject: str) -> str:
    """'A URL shortener' -> 'URL shortener'."""
    return re.sub(r"^(an?|the)\s+", "", subject.strip(), flags=re.IGNORECASE)


class BankError(ValueError):
    """The bank file is unreadable or a card in it is wrong; the message names the card."""


class ProblemBank:
    """Validated cards in file order, with lookups by id."""

    def __init__(self, cards: list[ProblemCard]):
        if not cards:
            raise BankError("the problem bank is empty")
        self.cards = tuple(cards)
        self._by_id = {c.id: c for c in cards}
        _check_unique(self.cards)

    def __len__(self) -> int:
        return len(self.cards)

    def __iter__(self) -> Iterator[ProblemCard]:
        return iter(self.cards)

    def get(self, card_id: str) -> ProblemCard | None:
        return self._by_id.get(card_id)

    def by_difficulty(self, difficulty: Difficulty | None = None, *, diagram: bool = False) -> list[ProblemCard]:
        return [c for c in self.cards
                if (difficulty is None or c.difficulty is difficulty) and (c.diagram_ok or not diagram)]


def _check_unique(cards: tuple[ProblemCard, ...]) -> None:
    """Ids, titles and every name a card answers to must be unique across the bank."""
    ids = [c.id for c in cards]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise BankError(f"problem id '{repeated[0]}' is used by {ids.count(repeated[0])} problems")
    owner: dict[str, str] = {}
    for card in cards:
        for kind, value in [("title", card.title.lower())] + [("name", n) for n in dict.fromkeys(card.names())]:
            key = f"{kind}:{value}"
            if key in owner:
                raise BankError(f"problem '{card.id}': {kind} '{value}' is already used by problem '{owner[key]}'")
            owner[key] = card.id


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "card"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_bank(text: str, *, source: str = "problems.toml") -> ProblemBank:
    """Parse and validate the TOML text of a bank. Raises BankError naming the bad card."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BankError(f"{source} is not valid TOML: {exc}") from None
    entries = raw.get("problem")
    if not isinstance(entries, list):
        raise BankError(f"{source} must hold [[problem]] tables")
    cards = []
    for index, entry in enumerate(entries, start=1):
        name = entry.get("id") if isinstance(entry, dict) else None
        label = f"#{index} '{name}'" if isinstance(name, str) and name else f"#{index}"
        try:
            cards.append(ProblemCard.model_validate(entry))
        except ValidationError as exc:
            raise BankError(f"{source}: problem {label} is invalid: {_describe(exc)}") from None
    return ProblemBank(cards)


def load_bank(path: Path | str = DEFAULT_BANK) -> ProblemBank:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BankError(f"cannot read the problem bank {path}: {exc.strerror or exc}") from None
    return parse_bank(text, source=path.name)


@lru_cache(maxsize=4)
def default_bank(path: str = str(DEFAULT_BANK)) -> ProblemBank:
    """The bank the bot uses, read once per process."""
    return load_bank(path)
