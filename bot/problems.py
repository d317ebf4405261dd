"""Choosing the problem: random draws from the bank, and finding the card behind what the user typed.

`/interview random [easy|medium|hard]` (or `surprise me`) draws a card; a typed problem such as
"Design a URL shortener" or just "tinyurl" is matched to its card so the group gets the card's
reference numbers.  Free-form problems with no card still run: they simply have no card.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import Enum

from .cards import Difficulty, ProblemBank, ProblemCard, default_bank

RANDOM_WORDS = {"random", "surprise me", "surprise", "any", "pick one", "you pick", "roll"}
DIFFICULTY_WORDS = {d.value: d for d in Difficulty}
_NON_WORD = re.compile(r"[^a-z0-9]+")
_FILLER = re.compile(r"^(?:(?:let s|lets|please|can you|could you|how would you|how do you|design|build|"
                     r"create|make|implement|architect|a|an|the|system|for|me|us)\s+)+")


def _bank(bank: ProblemBank | None) -> ProblemBank:
    return bank if bank is not None else default_bank()


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces: 'Bit.ly!' -> 'bit ly'."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


# --- random draws -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RandomAsk:
    """The user asked for a random problem, maybe of one difficulty."""

    difficulty: Difficulty | None = None


def parse_random(text: str | None) -> RandomAsk | None:
    """'random' -> RandomAsk(); 'random hard' / 'surprise me (easy)' -> RandomAsk(HARD/EASY); else None."""
    words = normalise(text or "")
    for phrase in sorted(RANDOM_WORDS, key=len, reverse=True):
        if words == phrase or words.startswith(phrase + " "):
            rest = words[len(phrase):].split()
            if not rest:
                return RandomAsk()
            if len(rest) == 1 and rest[0] in DIFFICULTY_WORDS:
                return RandomAsk(DIFFICULTY_WORDS[rest[0]])
            return None
    return None


def draw(difficulty: Difficulty | str | None = None, *, diagram: bool = False,
         rng: random.Random | None = None, bank: ProblemBank | None = None) -> ProblemCard:
    """A random card of that difficulty (and fit for a diagram when `diagram`).

    A difficulty with no card fit for a diagram falls back to every diagram card, so a draw never fails.
    """
    level = Difficulty(difficulty) if isinstance(difficulty, str) else difficulty
    cards = _bank(bank)
    pool = cards.by_difficulty(level, diagram=diagram) or cards.by_difficulty(None, diagram=diagram)
    return (rng or random).choice(pool or list(cards))


def problem_text(card: ProblemCard, *, diagram: bool = False) -> str:
    """What the interview runs on: the title ('Design a chat app like WhatsApp') or, for diagrams, the subject."""
    return card.subject if diagram else card.title


def resolve_problem(text: str | None, *, diagram: bool = False, rng: random.Random | None = None) -> str:
    """The problem to run: the user's text, or a drawn one when they asked for a random problem."""
    text = (text or "").strip()
    ask = parse_random(text)
    if ask is None:
        return text
    return problem_text(draw(ask.difficulty, diagram=diagram, rng=rng), diagram=diagram)


def suggestions(k: int = 3, *, diagram: bool = False, rng: random.Random | None = None) -> list[str]:
    pool = DIAGRAM_SYSTEMS if diagram else INTERVIEW_PROBLEMS
    return (rng or random).sample(pool, min(k, len(pool)))


# --- finding the card behind typed text -------------------------------------------------------

class MatchKind(str, Enum):
    EXACT = "exact"          # the whole text is the card's title, subject, id or an alias
    NAME = "name"            # one of the card's names appears inside the text
    KEYWORD = "keyword"      # only the card's keywords appear
    AMBIGUOUS = "ambiguous"  # several cards fit equally well: no card is chosen
    NONE = "none"


@dataclass(frozen=True)
class CardMatch:
    kind: MatchKind
    card: ProblemCard | None = None
    candidates: tuple[ProblemCard, ...] = field(default_factory=tuple)


def _phrases(card: ProblemCard) -> set[str]:
    return {normalise(p) for p in (*card.names(), card.title, card.subject)} - {""}


def _contains(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def _best(scores: dict[str, int], cards: ProblemBank, kind: MatchKind) -> CardMatch:
    top = max(scores.values())
    winners = tuple(c for c in cards if scores.get(c.id) == top)
    if len(winners) == 1:
        return CardMatch(kind, winners[0], winners)
    return CardMatch(MatchKind.AMBIGUOUS, None, winners)


def match_card(text: str | None, *, bank: ProblemBank | None = None) -> CardMatch:
    """Which card the text names, and how sure we are."""
    cards = _bank(bank)
    words = normalise(text or "")
    if not words:
        return CardMatch(MatchKind.NONE)
    core = _FILLER.sub("", words + " ").strip()
    for card in cards:
        phrases = _phrases(card)
        if words in phrases or core in phrases:
            return CardMatch(MatchKind.EXACT, card, (card,))
    by_name = {c.id: max((len(p) for p in _phrases(c) if _contains(words, p)), default=0) for c in cards}
    if any(by_name.values()):
        return _best({k: v for k, v in by_name.items() if v}, cards, MatchKind.NAME)
    by_keyword = {c.id: sum(_contains(words, normalise(k)) for k in c.keywords) for c in cards}
    if any(by_keyword.values()):
        return _best({k: v for k, v in by_keyword.items() if v}, cards, MatchKind.KEYWORD)
    return CardMatch(MatchKind.NONE)


def find_card(text: str | None, *, bank: ProblemBank | None = None) -> ProblemCard | None:
    """The card for 'Design a URL shortener', 'tinyurl', 'url_shortener'...; None when unsure."""
    return match_card(text, bank=bank).card


def autocomplete(prefix: str | None, *, limit: int = 25, diagram: bool = False,
                 bank: ProblemBank | None = None) -> list[str]:
    """Problem texts for a Discord autocomplete or Slack suggestion list, best first.

    Titles (or diagram subjects) whose words start with what was typed come first, then cards
    whose aliases or keywords contain it.  An empty prefix lists the bank in file order.
    """
    cards = _bank(bank).by_difficulty(None, diagram=diagram)
    typed = normalise(prefix or "")
    if not typed:
        return [problem_text(c, diagram=diagram) for c in cards][:limit]
    ranked: list[tuple[int, int, str]] = []
    for index, card in enumerate(cards):
        shown = problem_text(card, diagram=diagram)
        title_words = normalise(shown)
        names = [normalise(n) for n in (*card.aliases, *card.keywords, card.id)]
        if title_words.startswith(typed) or _FILLER.sub("", title_words + " ").startswith(typed):
            rank = 0
        elif any(w.startswith(typed) for w in title_words.split()) or typed in title_words:
            rank = 1
        elif any(n.startswith(typed) for n in names):
            rank = 2
        elif any(typed in n for n in names):
            rank = 3
        else:
            continue
        ranked.append((rank, index, shown))
    return [shown for _, _, shown in sorted(ranked)][:limit]


# --- choosing the problem for a command -------------------------------------------------------

class PickSource(str, Enum):
    RANDOM = "random"        # drawn from the bank
    BANK = "bank"            # typed, and matched to a card
    FREE_FORM = "free_form"  # typed, no card: the problem runs as written


@dataclass(frozen=True)
class Pick:
    problem: str
    source: PickSource
    card: ProblemCard | None = None
    match: MatchKind = MatchKind.NONE   # how the typed text matched its card (EXACT for random draws)


def pick_problem(text: str | None, *, diagram: bool = False, rng: random.Random | None = None,
                 bank: ProblemBank | None = None) -> Pick:
    """The problem text to run and its card, if any: the engine's one call when a command arrives."""
    text = (text or "").strip()
    ask = parse_random(text)
    if ask is not None:
        card = draw(ask.difficulty, diagram=diagram, rng=rng, bank=bank)
        return Pick(problem_text(card, diagram=diagram), PickSource.RANDOM, card, MatchKind.EXACT)
    found = match_card(text, bank=bank)
    if found.card is None:
        return Pick(text, PickSource.FREE_FORM, None, found.kind)
    # Just a name ("tinyurl", "Design a URL shortener") runs as the card's full wording;
    # anything longer keeps the user's words, which may carry their own twist.
    problem = problem_text(found.card, diagram=diagram) if found.kind is MatchKind.EXACT else text
    return Pick(problem, PickSource.BANK, found.card, found.kind)


INTERVIEW_PROBLEMS: list[str] = [c.title for c in default_bank()]
DIAGRAM_SYSTEMS: list[str] = [c.subject for c in default_bank().by_difficulty(diagram=True)]
